"""A component's requires_software is checked against the machine before anything is
measured; the error names what was found and where, and exits 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from reef import api
from reef.components.repository import builtin_root
from reef.environment.fingerprint import RequirementsNotMet


def _classifier(tmp_path: Path, requires_software: dict[str, str]) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(builtin_root() / "digits-classifier", folder)
    manifest = folder / "reef.yaml"
    data = yaml.safe_load(manifest.read_text())
    data["requires_software"] = requires_software
    manifest.write_text(yaml.safe_dump(data))
    return manifest


def _bench(manifest: Path) -> None:
    settings = api.bench_settings(["SingleStream"], duration_s=0.2, mode="performance")
    api.bench(str(manifest), settings, in_process=True, store=False)


def test_unmet_requirements_name_what_was_found(tmp_path: Path) -> None:
    manifest = _classifier(tmp_path, {"onnxruntime": ">=999", "no-such-tool": ">=1"})
    with pytest.raises(RequirementsNotMet) as info:
        _bench(manifest)
    message = info.value.message
    assert "model 'digits-classifier'" in message
    assert "onnxruntime >=999 required, found" in message
    assert "no-such-tool >=1 required, not found" in message
    assert info.value.exit_code == 2


def test_met_requirements_let_the_run_go_ahead(tmp_path: Path) -> None:
    _bench(_classifier(tmp_path, {"onnxruntime": ">=1.17", "python": ">=3.11"}))


def test_the_field_is_validated(tmp_path: Path) -> None:
    from reef.errors import ManifestError

    manifest = _classifier(tmp_path, {"gcc": ">>10"})
    with pytest.raises(ManifestError, match=r"requires_software\.gcc"):
        api.check(manifest)
