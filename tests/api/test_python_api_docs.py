"""docs/python-api.md: its example runs as written (as pyperf's test_examples runs every
documented example), and it names every name ``reef.api`` exports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import reef.api

PAGE = Path(__file__).parents[2] / "docs" / "python-api.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def test_the_page_documents_every_exported_name() -> None:
    text = PAGE.read_text(encoding="utf-8")
    missing = [n for n in reef.api.__all__ if not re.search(rf"`{n}[`(\[]", text)]
    assert missing == []


def test_the_example_runs(reef_home: Path, tmp_path: Path) -> None:
    """In a process of its own, as a user would run it: it benchmarks, reads latencies as a
    numpy array, compares, and builds a DataFrame of the runs."""
    (script := tmp_path / "example.py").write_text("\n\n".join(examples()), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert [line.split()[1:3] for line in lines[:2]] == [
        ["SingleStream", "valid"],
        ["Offline", "valid"],
    ]
    assert re.match(r"\d+ queries, p99 \d", lines[2])
    assert re.search(r"(faster|slower|no significant difference)", lines[3])
    assert "throughput_qps" in out.stdout and "1.0.0" in lines[-1]
