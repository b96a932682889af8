"""`reef bench` on a lock file: exactly the components it pins, checked by content hash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reef.bench.target import resolve as bench_target
from reef.components import repository
from reef.components.lockfile import LockMismatch, write_lock
from reef.components.repository import builtin_root
from reef.components.resolve import resolve
from reef.errors import ReefError


def lock_of(target: str, path: Path) -> Path:
    write_lock(resolve(target), path)
    return path


def test_lock_of_the_builtin_classifier(tmp_path: Path) -> None:
    path = lock_of("digits-classifier", tmp_path / "reef.lock")
    resolved = bench_target(str(path))
    assert resolved.target.kind == "lock"
    assert resolved.target.name == "digits-classifier"
    assert resolved.target.path == str(path.resolve())
    assert resolved.model_path == builtin_root() / "digits-classifier" / "model.onnx"
    assert resolved.dataset is not None and resolved.dataset.name == "digits"
    assert resolved.dataset_path == builtin_root() / "digits" / "digits.npz"
    lock = resolve("digits-classifier")
    assert [(c.name, c.sha256) for c in resolved.components] == [
        ("digits-classifier", lock.component("digits-classifier").sha256),
        ("digits", lock.component("digits").sha256),
    ]


def test_any_name_ending_in_lock(tmp_path: Path) -> None:
    path = lock_of("digits-classifier", tmp_path / "classifier.lock")
    assert bench_target(str(path)).target.kind == "lock"
    with pytest.raises(ReefError, match="file not found"):
        bench_target(str(tmp_path / "missing.lock"))


def test_changed_content_is_refused(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    for name in ("digits", "digits-classifier"):
        shutil.copytree(builtin_root() / name, lab / name)
    # Another version than the built-in one, so that only the copy can satisfy the lock.
    manifest = lab / "digits-classifier" / "reef.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.0.1"))
    repository.add(str(lab))
    path = lock_of("digits-classifier", tmp_path / "reef.lock")
    assert bench_target(str(path)).model_path == lab / "digits-classifier" / "model.onnx"
    (lab / "digits-classifier" / "notes.txt").write_text("a change after locking\n")
    with pytest.raises(LockMismatch, match=r"digits-classifier@1\.0\.1 has changed"):
        bench_target(str(path))


def test_changed_local_folder_is_refused(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    shutil.copytree(builtin_root() / "digits-classifier", mine)
    path = lock_of(str(mine), tmp_path / "reef.lock")
    resolved = bench_target(str(path))
    assert resolved.model_path == mine / "model.onnx"
    assert resolved.dataset_path == builtin_root() / "digits" / "digits.npz"
    (mine / "model.onnx").write_bytes(b"not the model that was locked")
    with pytest.raises(LockMismatch, match="has changed since it was locked"):
        bench_target(str(path))


def test_a_lock_of_a_dataset_is_refused(tmp_path: Path) -> None:
    path = lock_of("digits", tmp_path / "reef.lock")
    with pytest.raises(ReefError, match="the lock's root 'digits' is a dataset, not a model"):
        bench_target(str(path))
