"""Fixtures for whole-CLI tests: the real ``reef`` command in subprocesses, one REEF_HOME each.

Every test gets its own temporary ``REEF_HOME`` through the ``reef`` fixture. The only shared
state is ``benched``: one real benchmark (SingleStream and MultiStream of the built-in
classifier) in a home of its own, which tests only read from, so that the read-only checks
(listing, showing, logs) do not each pay for a benchmark.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import DIGITS_CLASSIFIER, SHORT, Benched, EarlyRun, Reef
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


# A test marked ``compliant_length(early=ARGS)`` gets ``reef ARGS`` started when the session's
# tests are collected (its ``early_run`` fixture), and runs after every other test: MLPerf's
# 600 s runs mostly wait, so the rest of the suite runs meanwhile instead of after them.
_EARLY = pytest.StashKey[EarlyRun]()
SUITE_NICENESS = 19
_EARLY_BASE = pytest.StashKey[Path]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("compliant_length") is not None)


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    for item in session.items:
        marker = item.get_closest_marker("compliant_length")
        if marker is None or "early" not in marker.kwargs:
            continue
        if _EARLY_BASE not in session.stash:
            session.stash[_EARLY_BASE] = Path(tempfile.mkdtemp(prefix="reef-early-"))
        base = session.stash[_EARLY_BASE] / str(len(list(session.stash[_EARLY_BASE].iterdir())))
        item.stash[_EARLY] = EarlyRun(base, tuple(marker.kwargs["early"]))
    if _EARLY_BASE in session.stash:
        # The rest of the suite yields the CPU to the early runs: a compliant Server run must
        # keep its p99 under the latency bound while every other test runs on the same two
        # cores, and at equal priority the suite's bursts pushed more than 1% of its queries
        # past it (LoadGen's early stopping then calls the run INVALID). The early runs take
        # little CPU (20 queries/s), so the suite hardly slows. Where Linux's autogroup is on,
        # an early run's own session (start_new_session) already gives it a share of its own
        # and this changes little; where it is off, this is what keeps the run ahead.
        os.nice(SUITE_NICENESS)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for item in session.items:
        if _EARLY in item.stash:
            item.stash[_EARLY].stop()  # a session cut short leaves no 600 s run behind
    if _EARLY_BASE in session.stash:
        shutil.rmtree(session.stash[_EARLY_BASE], ignore_errors=True)


@pytest.fixture
def early_run(request: pytest.FixtureRequest) -> Iterator[EarlyRun]:
    """The run the test's ``compliant_length(early=...)`` marker started at collection; started
    now when the test was not collected with the session (``pytest --lf`` of it alone)."""
    node = request.node
    if _EARLY not in node.stash:
        marker = node.get_closest_marker("compliant_length")
        assert marker is not None and "early" in marker.kwargs, "needs compliant_length(early=)"
        base = Path(tempfile.mkdtemp(prefix="reef-early-"))
        node.stash[_EARLY] = EarlyRun(base, tuple(marker.kwargs["early"]))
    yield node.stash[_EARLY]
    node.stash[_EARLY].stop()
