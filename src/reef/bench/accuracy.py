"""Accuracy from LoadGen's accuracy log: decode each answer, post-process, score."""

from __future__ import annotations

from pathlib import Path

from reef.bench.logs import read_accuracy_log
from reef.bench.metrics import get_metric
from reef.bench.sut import decode_outputs
from reef.meta.model import ModelManifest
from reef.meta.run import Accuracy

NOT_APPLICABLE_NO_MANIFEST = "not applicable: no manifest, the inputs are synthetic"


def not_applicable(reason: str) -> Accuracy:
    return Accuracy(metric="-", note=reason)


def evaluate(
    log_path: Path, manifest: ModelManifest, labels: object, output_names: list[str]
) -> Accuracy:
    from reef.predictors.steps import build_pipeline

    spec = manifest.accuracy
    assert spec is not None
    metric = get_metric(spec.metric)
    several = spec.scored_outputs()
    chosen = several or {"": spec.output if isinstance(spec.output, str) else ""}
    posts = {}
    for key, name in chosen.items():
        which = name or manifest.outputs[0].name
        out_spec = next(o for o in manifest.outputs if o.name == which)
        post = build_pipeline(out_spec.steps, labels=out_spec.labels)
        posts[key] = (output_names.index(which), post)

    def predict(data: bytes) -> object:
        outputs = decode_outputs(data)
        if several is None:
            position, post = posts[""]
            return post(outputs[position])
        return {key: post(outputs[position]) for key, (position, post) in posts.items()}

    # LoadGen pads the last MultiStream query with repeated samples: score each sample once.
    answers = sorted(dict(read_accuracy_log(log_path)).items())
    predictions = [predict(data) for _, data in answers]
    expected = [labels[idx] for idx, _ in answers]  # type: ignore[index]
    value = metric.score(predictions, expected) if predictions else float("nan")
    return Accuracy(
        metric=metric.name,
        value=value,
        reference=spec.reference,
        threshold=spec.threshold,
        passed=metric.passes(value, spec.reference, spec.threshold),
        samples=len(predictions),
    )
