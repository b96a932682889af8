"""``reef serve --workers N``: N uvicorn worker processes share the port, each loading the
models and running its own batchers, as ``reef server --workers`` does.

The parent checks everything first (the targets open, the references fit them), then makes a
private temporary directory that it removes when it stops. In it: ``prometheus/``, which
``PROMETHEUS_MULTIPROC_DIR`` names for every worker so that any worker's ``/metrics`` sums
them all (``reef.serving.metrics``), and each drift reference's profile as JSON, so that no
worker builds it again. ``WORKER_ENV`` carries the rest to ``create_worker_app``, uvicorn's
factory in each worker.

Drift state is each worker's own: a worker checks the windows of the traffic it answered, and
``GET /v2/models/{m}/drift`` says which worker answered (``worker.pid``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reef import api
from reef.serving.app import ServeSettings, create_app
from reef.serving.metrics import MULTIPROC_ENV

WORKER_ENV = "REEF_SERVE_WORKER"


@contextmanager
def private_directory() -> Iterator[Path]:
    """A directory only this user can read, removed (with what the workers wrote) at exit."""
    root = Path(tempfile.mkdtemp(prefix="reef-serve-"))
    try:
        (root / "prometheus").mkdir()
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def worker_environment(
    root: Path,
    targets: list[str],
    settings: ServeSettings,
    *,
    backend: str | None,
    threads: int | None,
    references: dict[str, Any],
) -> dict[str, str]:
    """The environment variables the workers need: ``PROMETHEUS_MULTIPROC_DIR`` and
    ``WORKER_ENV``; each reference's profile is written under ``root`` here."""
    profiles: dict[str, str] = {}
    for i, (name, profile) in enumerate(sorted(references.items())):
        path = root / f"reference-{i}.json"
        path.write_text(profile.model_dump_json(), encoding="utf-8")
        profiles[name] = str(path)
    given = asdict(settings)
    given["payload_dir"] = None if settings.payload_dir is None else str(settings.payload_dir)
    return {
        MULTIPROC_ENV: str(root / "prometheus"),
        WORKER_ENV: json.dumps(
            {
                "targets": targets,
                "backend": backend,
                "threads": threads,
                "settings": given,
                "references": profiles,
            }
        ),
    }


def create_worker_app() -> Any:
    """The application of one worker of ``reef serve --workers N`` (uvicorn's factory): the
    models opened here, from the targets the parent checked already."""
    given = json.loads(os.environ[WORKER_ENV])
    fields = dict(given["settings"])
    if fields.get("payload_dir") is not None:
        fields["payload_dir"] = Path(fields["payload_dir"])
    settings = ServeSettings(**fields)
    models: list[api.ServedModel] = []
    try:
        for target in given["targets"]:
            models.append(
                api.open_served(target, backend=given["backend"], threads=given["threads"])
            )
        references = {
            name: api.DriftProfile.model_validate_json(Path(path).read_text(encoding="utf-8"))
            for name, path in given["references"].items()
        }
    except BaseException:
        for model in models:
            model.close()
        raise
    return create_app(models, settings, references=references)
