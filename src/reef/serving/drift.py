"""Online drift checks of a served model (``reef serve --reference FILE.npz``): each request's
first input, its rows flattened to features, goes to a detector (``reef.api.drift_detector``)
against the reference's profile; every closed window sets the Prometheus gauges
``reef_drift_share`` and ``reef_drift_detected``, is served at ``/v2/models/{m}/drift``, and,
when it drifted, is POSTed to ``--alert-webhook`` (in a thread of its own: a slow or dead
webhook never holds a request up; a failed post is counted in ``reef_drift_alert_failures``).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import TYPE_CHECKING, Any

from reef import api

if TYPE_CHECKING:
    import numpy as np

    from reef.serving.metrics import Metrics

WEBHOOK_TIMEOUT_S = 5.0


def check_reference(model: api.ServedModel, profile: Any) -> None:
    """Refuse a reference whose features are not the model's first input's (exit 2)."""
    from reef.errors import SettingsError

    spec = model.inputs[0]
    fixed = list(spec.shape[1:])
    if any(d < 0 for d in fixed):
        raise SettingsError(
            f"--reference: {model.name}'s input {spec.name!r} has shape {spec.shape}: drift "
            "is checked on rows of a fixed size"
        )
    width = 1
    for d in fixed:
        width *= d
    count = len(profile.features)
    if count != width:
        raise SettingsError(
            f"--reference: {count} features, but {model.name}'s input {spec.name!r} "
            f"({spec.shape}) has {width} a row",
            hint="give a reference of the model's inputs as it takes them (rows x features)",
        )


class Watch:
    def __init__(
        self,
        model: api.ServedModel,
        profile: Any,
        metrics: Metrics,
        window: int,
        webhook: str | None,
        *,
        detector: str | None = None,
    ) -> None:
        self.model, self.metrics, self.webhook = model, metrics, webhook
        self.input = model.inputs[0].name
        self.detector = api.drift_detector(
            profile,
            window=window,
            min_rows=min(window, 30),
            on_result=self._closed,
            checker=detector,
        )

    def observe(self, inputs: dict[str, np.ndarray]) -> None:
        rows = inputs[self.input]
        self.detector.observe(rows.reshape(rows.shape[0], -1) if rows.ndim > 1 else rows)

    def state(self) -> dict[str, Any]:
        latest = self.detector.latest()
        return {
            "model": self.model.name,
            "detector": self.detector.checker.name if self.detector.checker else "auto",
            "windows": 0 if latest is None else latest.window,
            "latest": None if latest is None else latest.model_dump(mode="json"),
            # windows the checker raised on (a plugin's bug): skipped, so say how many
            "check_errors": self.detector.check_errors,
        }

    def close(self) -> None:
        self.detector.close()

    def _closed(self, result: Any) -> None:
        name = self.model.name
        self.metrics.drift_share.labels(name).set(result.share)
        self.metrics.drift_detected.labels(name).set(1.0 if result.drifted else 0.0)
        if result.drifted and self.webhook:
            threading.Thread(target=self._alert, args=(result,), daemon=True).start()

    def _alert(self, result: Any) -> None:
        body = json.dumps(
            {
                "model": self.model.name,
                "version": self.model.version,
                "drift": result.model_dump(mode="json"),
            }
        ).encode("utf-8")
        request = urllib.request.Request(
            str(self.webhook), data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S):
                pass
        except (OSError, ValueError):
            self.metrics.drift_alert_failures.labels(self.model.name).inc()
