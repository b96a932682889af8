"""Issue 14, item 6: `reef bench` without --threads uses the user's default threads
(``REEF_THREADS``, else the config file's ``threads``), and the record says so."""

from __future__ import annotations

from pathlib import Path

from cli_support import InProcessReef
from e2e_support import SHORT, assert_usage_error


def test_bench_uses_the_default_threads(cli: InProcessReef, tiny_onnx: Path) -> None:
    args = ("bench", str(tiny_onnx), *SHORT, "--mode", "performance", "--json")
    result = cli(*args, env={"REEF_THREADS": "2"})
    assert result.rc == 0, str(result)
    [record] = result.json()
    assert record["settings"]["threads"] == 2
    (cli.home / "config.toml").write_text("threads = 1\n", encoding="utf-8")
    [record] = cli.ok(*args).json()
    assert record["settings"]["threads"] == 1
    [record] = cli.ok(*args, "--threads", "2").json()
    assert record["settings"]["threads"] == 2


def test_a_default_that_cannot_run_is_refused(cli: InProcessReef, tiny_onnx: Path) -> None:
    result = cli("bench", str(tiny_onnx), *SHORT, env={"REEF_THREADS": "0"})
    assert_usage_error(result, "threads (from environment REEF_THREADS)", "greater than or equal")
    cli.assert_nothing_written()
