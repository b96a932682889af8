"""Fixtures for whole-CLI tests: the real ``reef`` command in subprocesses, one REEF_HOME each.

Every test gets its own temporary ``REEF_HOME`` through the ``reef`` fixture. The only shared
state is ``benched``: one real benchmark (SingleStream and MultiStream of the built-in
classifier) in a home of its own, which tests only read from, so that the read-only checks
(listing, showing, logs) do not each pay for a benchmark.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import DIGITS_CLASSIFIER, SHORT, Benched, Reef
from model_fixtures import digits_copy, tiny_onnx, tiny_onnx_source, write_manifest

__all__ = ["digits_copy", "tiny_onnx", "tiny_onnx_source", "write_manifest"]  # fixtures


@pytest.fixture
def reef(tmp_path: Path) -> Reef:
    home = tmp_path / "reef-home"
    work = tmp_path / "work"
    work.mkdir()
    return Reef(home, work)


@pytest.fixture(scope="session")
def benched(tmp_path_factory: pytest.TempPathFactory) -> Benched:
    """SingleStream and MultiStream of the built-in classifier, benchmarked once."""
    base = tmp_path_factory.mktemp("benched")
    work = base / "work"
    work.mkdir()
    cli = Reef(base / "reef-home", work)
    result = cli(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--scenario", "SingleStream",
        "--scenario", "MultiStream", "--raw-latencies", "--json",
    )  # fmt: skip
    assert result.rc == 0, str(result)
    records = result.json()
    assert isinstance(records, list), str(result)
    return Benched(cli, result, records)
