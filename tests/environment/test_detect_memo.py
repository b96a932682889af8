"""The boot's memo of the costly built-in detectors (``BOOT_STABLE``): a later detection
answers from it with the same facts and hash, without importing numpy or onnxruntime or
running a compiler; anything it depends on changing, a partial answer, a plugin or a cache
folder that cannot be written makes the detectors run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reef import config
from reef.environment import detect
from reef.environment.detect import BOOT_STABLE, _BootMemo, boot_stamp, detect_all
from reef.environment.fingerprint import build

DETECT = (
    "import json, sys, time\n"
    "from reef.environment.detect import detect_all\n"
    "from reef.environment.fingerprint import build\n"
    "detection = detect_all()\n"
    "fp = build(detection)\n"
    "print(json.dumps({'hash': fp['hash'], 'software': fp['software'],\n"
    "    'heavy': [m for m in ('numpy', 'onnxruntime') if m in sys.modules],\n"
    "    'problems': fp['problems']}))\n"
)


def detect_in_a_process(**env: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", DETECT],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def memos() -> list[Path]:
    return sorted((config.cache_dir() / "detect").glob("*.json"))


def test_a_later_detection_answers_from_the_memo() -> None:
    first = detect_in_a_process()
    assert first["problems"] == [] and "numpy" in first["heavy"]
    [memo] = memos()
    assert set(json.loads(memo.read_text())) == set(BOOT_STABLE)
    again = detect_in_a_process()
    assert again["heavy"] == []  # neither imported: their facts came from the memo
    assert again["hash"] == first["hash"]
    assert again["software"] == first["software"]
    # And as this process detects, memo or not.
    assert build(detect_all(reuse=False))["hash"] == first["hash"]


def test_what_the_facts_depend_on_names_another_memo(tmp_path: Path) -> None:
    detect_in_a_process()
    [before] = memos()
    again = detect_in_a_process(OMP_NUM_THREADS="1")  # the BLAS thread pools may change
    assert "numpy" in again["heavy"]
    assert len(memos()) == 2 and before in memos()
    # Installing software changes a folder on PATH.
    folder = tmp_path / "bin"
    folder.mkdir()
    path = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"
    detect_in_a_process(PATH=path)
    stamp_before = boot_stamp()
    (folder / "gcc-new").write_text("")
    os.utime(folder, ns=(1, 1))
    assert detect_in_a_process(PATH=path)["heavy"]  # the folder's change time changed
    assert boot_stamp() == stamp_before  # this process's PATH was not the one changed


def test_partial_answers_and_plugins_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    memo = _BootMemo(config.cache_dir() / "detect" / "x.json", {})
    builtin = detect._Lazy("compilers", detect.BUILTINS["compilers"])
    plugin = detect._Lazy("blas", "someone_else:blas")
    partial = detect._Outcome("compilers", "software", "compilers", {"problems": ["timed out"]})
    whole = detect._Outcome("blas", "software", "blas", {"numpy": "2.0"})
    memo.keep([(builtin, partial), (plugin, whole)])
    assert memo.kept == {} and not memo.path.exists()
    memo.keep([(builtin, detect._Outcome("compilers", "software", "compilers", {"gcc": {}}))])
    assert memo.outcome(builtin) is not None and memo.outcome(plugin) is None
    assert json.loads(memo.path.read_text()) == memo.kept


def test_a_cache_folder_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    found = detect_in_a_process(REEF_CACHE=str(blocked / "cache"))
    assert found["problems"] == [] and "numpy" in found["heavy"]
    assert detect_in_a_process(REEF_CACHE=str(blocked / "cache"))["heavy"]


def test_a_detection_without_reuse_runs_everything() -> None:
    detect_all()
    detection = detect_all(reuse=False)
    assert all(detection.durations_s[name] > 0 for name in BOOT_STABLE)
