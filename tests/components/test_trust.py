"""Trust: pickled datasets load only from trusted repositories; the user's own files are
trusted; the refusal names the component, the repository and the command that trusts it."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from reef.bench.target import resolve
from reef.components import repository
from reef.components.repository import builtin_root
from reef.components.trust import UntrustedComponent, trust_of


def _pickled_dataset(folder: Path) -> None:
    """The built-in digits with an object array of labels, which only unpickling can read."""
    folder.mkdir(parents=True)
    with np.load(builtin_root() / "digits" / "digits.npz") as data:
        features, labels = data["features"], data["labels"]
    as_objects = np.array([int(v) for v in labels], dtype=object)
    np.savez(folder / "data.npz", features=features, labels=as_objects)
    manifest = {
        "kind": "dataset",
        "name": "pickled-digits",
        "version": "1.0.0",
        "sources": [
            {
                "path": "data.npz",
                "sha256": hashlib.sha256((folder / "data.npz").read_bytes()).hexdigest(),
            }
        ],
        "features": "features",
        "labels": "labels",
        "samples": len(labels),
        "allow_pickle": True,
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(manifest))


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    root = tmp_path / "lab"
    _pickled_dataset(root / "pickled-digits")
    shutil.copytree(builtin_root() / "digits-classifier", root / "model")
    manifest = root / "model" / "reef.yaml"
    data = yaml.safe_load(manifest.read_text())
    data |= {"name": "lab-classifier", "dataset": "pickled-digits"}
    manifest.write_text(yaml.safe_dump(data))
    repository.add(str(root))
    return root


def test_an_untrusted_pickled_dataset_is_refused(lab: Path) -> None:
    with pytest.raises(UntrustedComponent) as info:
        resolve("lab-classifier")
    err = info.value
    assert "dataset 'pickled-digits'" in err.message
    assert "'lab'" in err.message and "load pickled arrays" in err.message
    assert err.hint == "if you trust its authors: reef repo trust lab"
    assert err.exit_code == 2


def test_a_trusted_pickled_dataset_is_used(lab: Path) -> None:
    repository.set_trusted("lab", True)
    resolved = resolve("lab-classifier")
    assert resolved.dataset is not None and resolved.dataset.allow_pickle
    assert resolved.dataset_path == (lab / "pickled-digits" / "data.npz").resolve()


def test_a_trusted_pickled_dataset_is_measured(lab: Path) -> None:
    from reef import api

    repository.set_trusted("lab", True)
    settings = api.bench_settings(["Offline"], mode="accuracy")
    (record,) = api.bench("lab-classifier", settings, in_process=True, store=False)
    assert record.accuracy is not None and record.accuracy.value == pytest.approx(0.9733, abs=1e-3)


def test_files_outside_every_repository_are_the_users_own(tmp_path: Path, lab: Path) -> None:
    assert trust_of(tmp_path / "elsewhere" / "reef.yaml") == (True, None)
    assert trust_of(lab / "model" / "reef.yaml") == (False, "lab")
    assert trust_of(builtin_root() / "digits" / "reef.yaml") == (True, "builtin")


def test_a_dataset_outside_the_models_folder_is_refused(lab: Path, reef_home: Path) -> None:
    from reef.errors import ManifestError

    manifest = lab / "model" / "reef.yaml"
    data = yaml.safe_load(manifest.read_text())
    outside = reef_home / "cache" / "payload"
    outside.mkdir(parents=True)
    shutil.copy(lab / "pickled-digits" / "reef.yaml", outside / "reef.yaml")
    data["dataset"] = f"../../../{outside.relative_to(lab.parent.parent)}/reef.yaml"
    manifest.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError, match="outside the model's folder"):
        resolve(str(manifest))


def test_pickles_under_reef_home_are_not_the_users_own(tmp_path: Path, reef_home: Path) -> None:
    """An installed folder whose repository was removed is still someone else's work."""
    stray = reef_home / "installed" / "pickled-digits"
    _pickled_dataset(stray)
    assert trust_of(stray / "reef.yaml") == (False, "REEF_HOME")
    model = tmp_path / "mine"
    shutil.copytree(builtin_root() / "digits-classifier", model)
    data = yaml.safe_load((model / "reef.yaml").read_text())
    data["dataset"] = "pickled-digits"
    (model / "reef.yaml").write_text(yaml.safe_dump(data))
    repository.add(str(reef_home / "installed"), name="stray")
    repository.remove("stray")  # the folder stays; it is not a repository any more
    shutil.copytree(stray, model / "pickled-digits")  # ... and a copy inside the model is fine
    assert resolve(str(model / "reef.yaml")).dataset is not None


def test_an_untrusted_model_cannot_borrow_a_trusted_pickle(tmp_path: Path, lab: Path) -> None:
    repository.set_trusted("lab", True)
    other = tmp_path / "other"
    shutil.copytree(lab / "model", other / "model")
    manifest = other / "model" / "reef.yaml"
    data = yaml.safe_load(manifest.read_text())
    data["name"] = "borrower"
    manifest.write_text(yaml.safe_dump(data))
    repository.add(str(other))
    with pytest.raises(UntrustedComponent) as info:
        resolve("borrower")
    assert "model 'borrower' from repository 'other'" in info.value.message
