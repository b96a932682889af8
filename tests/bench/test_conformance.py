"""Cross-backend conformance (reef.bench.conformance): agreement, planted disagreements, NaNs,
shapes, element types, positional outputs, and the requests refused before anything opens.

The backends are plugins installed for the test: numpy models whose answers a class attribute
perturbs, and ONNX Runtime under another name."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from plugin_support import FakeSite, plugin_site
from reef.bench.conformance import (
    NO_MANIFEST_ARGMAX,
    Conformance,
    ConformanceError,
    OutputRow,
    Side,
    Tolerance,
    check_request,
    check_target,
    compare_backends,
)
from reef.bench.samples import SampleSet, synthetic
from reef.bench.target import resolve
from reef.errors import InputProblem, SettingsError
from reef.predictors.base import Signature

__all__ = ["plugin_site"]  # a fixture

FAKES = '''
import numpy as np
from reef.predictors.base import Signature, TensorSpec
from reef.predictors.onnxruntime import OnnxRuntimePredictor


class Base:
    """softmax(x @ W) and its argmax, for x [batch, 4]."""

    name = "base"
    scale = 1.0
    names = ("probs", "label")

    def open(self, path, options):
        self.w = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
        return Signature(
            inputs=(TensorSpec("x", "float32", ("batch", 4)),),
            outputs=(
                TensorSpec(self.names[0], "float32", ("batch", 3)),
                TensorSpec(self.names[1], "int64", ("batch",)),
            ),
        )

    def answer(self, feeds):
        z = feeds["x"] @ self.w
        e = np.exp(z - z.max(-1, keepdims=True))
        p = (e / e.sum(-1, keepdims=True)).astype(np.float32)
        return p, p.argmax(-1).astype(np.int64)

    def predict(self, feeds):
        p, label = self.answer(feeds)
        return [(p * self.scale).astype(np.float32), label]

    def close(self):
        pass

    def version(self):
        return "1.0"

    def info(self):
        return {}


class Same(Base):
    name = "same"


class Tiny(Base):
    name = "tiny"
    scale = 1 + 1e-6


class Off(Base):
    name = "off"
    scale = 1.05


class Nan(Base):
    name = "nan"

    def predict(self, feeds):
        p, label = self.answer(feeds)
        p[0, 0] = np.nan
        return [p, label]


class BothNan(Base):
    name = "bothnan"

    def predict(self, feeds):
        p, label = self.answer(feeds)
        p[0, 0] = np.nan
        return [p, label]


class Shape(Base):
    name = "shape"

    def predict(self, feeds):
        p, label = self.answer(feeds)
        return [p[:, :2], label]


class Labels(Base):
    name = "labels"

    def predict(self, feeds):
        p, label = self.answer(feeds)
        return [p, label + 1]


class Kind(Base):
    name = "kind"

    def predict(self, feeds):
        p, label = self.answer(feeds)
        return [p, label.astype(np.float32)]


class Wide(Base):
    name = "wide"

    def predict(self, feeds):
        p, label = self.answer(feeds)
        return [p.astype(np.float64), label]


class Positional(Base):
    name = "positional"
    names = ("output_0", "output_1")


class Renamed(Base):
    name = "renamed"

    def open(self, path, options):
        sig = super().open(path, options)
        return Signature(
            inputs=(TensorSpec("input_0", "float32", ("batch", 4)),), outputs=sig.outputs
        )

    def predict(self, feeds):
        return super().predict({"x": feeds["input_0"]})


class Fewer(Base):
    name = "fewer"

    def open(self, path, options):
        sig = super().open(path, options)
        return Signature(inputs=sig.inputs, outputs=sig.outputs[:1])

    def predict(self, feeds):
        return super().predict(feeds)[:1]


class Words(Base):
    name = "words"
    shift = 0

    def predict(self, feeds):
        p, label = self.answer(feeds)
        return [p, np.array(["cat", "dog", "eel", "fox"])[(label + self.shift) % 4]]


class WordObjects(Words):
    name = "word-objects"

    def predict(self, feeds):
        p, words = super().predict(feeds)
        return [p, words.astype(object)]


class OtherWords(Words):
    name = "other-words"
    shift = 1


class Unreadable(Base):
    name = "unreadable"

    def open(self, path, options):
        from reef.errors import PredictorError

        raise PredictorError(f"{path}: not a model this backend reads")


class Broken(Base):
    name = "broken"

    def predict(self, feeds):
        raise RuntimeError("no kernel for MatMul")


class OrtAgain(OnnxRuntimePredictor):
    name = "ort-again"


class OrtNoisy(OnnxRuntimePredictor):
    name = "ort-noisy"

    def open(self, path, options):
        signature = super().open(path, options)
        run = self.predict
        self.predict = lambda feeds: [o + np.float32(0.01) for o in run(feeds)]
        return signature
'''

NAMES = {
    "base": "Base",
    "same": "Same",
    "tiny": "Tiny",
    "off": "Off",
    "nan": "Nan",
    "bothnan": "BothNan",
    "shape": "Shape",
    "labels": "Labels",
    "kind": "Kind",
    "wide": "Wide",
    "positional": "Positional",
    "renamed": "Renamed",
    "fewer": "Fewer",
    "broken": "Broken",
    "unreadable": "Unreadable",
    "words": "Words",
    "word-objects": "WordObjects",
    "other-words": "OtherWords",
    "ort-again": "OrtAgain",
    "ort-noisy": "OrtNoisy",
}


@pytest.fixture
def fakes(plugin_site: FakeSite) -> FakeSite:
    plugin_site.add(
        "reef-fake-backends",
        entry_points={"reef.predictors": {k: f"fakebackends:{v}" for k, v in NAMES.items()}},
        modules={"fakebackends": FAKES},
    )
    return plugin_site


def _samples(count: int = 8) -> Callable[[Signature], SampleSet]:
    return lambda signature: synthetic(signature, {}, count, 0)


def _compare(
    tmp_path: Path, *backends: str, types: dict[str, str] | None = None, **kw: object
) -> Conformance:
    model = tmp_path / "model.bin"
    model.touch()
    return compare_backends(
        [Side(b, model) for b in backends],
        _samples(),
        model="fake",
        output_types=types,
        **kw,  # type: ignore[arg-type]
    )


def _row(result: Conformance, backend: str, output: str) -> OutputRow:
    return next(r for r in result.rows if r.backend == backend and r.output == output)


def test_identical_backends_agree(fakes: FakeSite, tmp_path: Path) -> None:
    result = _compare(tmp_path, "base", "same", "tiny")
    assert result.agree
    assert result.reference == "base" and result.samples == 8 and result.inputs == "synthetic"
    assert [b.name for b in result.backends] == ["base", "same", "tiny"]
    rows = {(r.backend, r.output): r for r in result.rows}
    assert set(rows) == {(b, o) for b in ("same", "tiny") for o in ("probs", "label")}
    same = rows["same", "probs"]
    assert same.max_abs_error == 0 and same.argmax_agreement == 1.0 and same.agree
    tiny = rows["tiny", "probs"]
    assert 0 < tiny.max_abs_error < 1e-6 and tiny.agree  # within float32 tolerances
    assert rows["same", "label"].comparison == "exact"
    assert rows["same", "label"].argmax_agreement is None  # integer: compared exactly instead
    assert NO_MANIFEST_ARGMAX in result.notes
    # A plain JSON document, as --json prints it.
    json.dumps(result.model_dump(mode="json"))


def test_a_planted_disagreement_is_measured(fakes: FakeSite, tmp_path: Path) -> None:
    result = _compare(tmp_path, "base", "off")
    assert not result.agree
    probs = _row(result, "off", "probs")
    assert not probs.agree
    assert probs.max_abs_error > 1e-3
    assert 0.04 < probs.max_rel_error < 0.06  # 5% everywhere
    assert probs.argmax_agreement == 1.0  # scaled: same class
    assert "outside the tolerance" in probs.problems[0]
    # The labels agree: only the probabilities are off.
    assert _row(result, "off", "label").agree
    # A loose enough tolerance accepts it.
    assert _compare(tmp_path, "base", "off", tolerance=Tolerance(atol=1e-4, rtol=0.1)).agree


def test_nan_on_one_side_disagrees_and_on_both_agrees(fakes: FakeSite, tmp_path: Path) -> None:
    one = _row(_compare(tmp_path, "base", "nan"), "nan", "probs")
    assert not one.agree
    assert one.nan_mismatched == 8  # one per sample
    assert one.max_abs_error == 0  # finite elements all agree
    assert any("NaN" in p for p in one.problems)
    both = _compare(tmp_path, "nan", "bothnan")
    assert both.agree and _row(both, "bothnan", "probs").nan_mismatched == 0


def test_shape_and_kind_mismatches_disagree(fakes: FakeSite, tmp_path: Path) -> None:
    shape = _row(_compare(tmp_path, "base", "shape"), "shape", "probs")
    assert not shape.agree
    assert shape.shape == [1, 2] and shape.reference_shape == [1, 3]
    assert "shape [1, 2]" in shape.problems[0]
    kind = _row(_compare(tmp_path, "base", "kind"), "kind", "label")
    assert not kind.agree and "element type float32" in kind.problems[0]
    # Another float width is compared by value, with a note.
    wide = _row(_compare(tmp_path, "base", "wide"), "wide", "probs")
    assert wide.agree and "compared by value" in wide.notes[0]


def test_integer_outputs_are_compared_exactly(fakes: FakeSite, tmp_path: Path) -> None:
    result = _compare(tmp_path, "base", "labels")
    label = _row(result, "labels", "label")
    assert not label.agree and label.mismatched == 8
    assert "8 of 8 elements differ" in label.problems[0]


def test_string_labels_are_compared_exactly(fakes: FakeSite, tmp_path: Path) -> None:
    # numpy's str against ONNX Runtime's objects holding str: the same labels.
    same = _compare(tmp_path, "words", "word-objects")
    assert same.agree and _row(same, "word-objects", "label").comparison == "exact"
    other = _row(_compare(tmp_path, "words", "other-words"), "other-words", "label")
    assert not other.agree and other.mismatched == 8


def test_outputs_named_otherwise_are_matched_by_position(fakes: FakeSite, tmp_path: Path) -> None:
    result = _compare(tmp_path, "base", "positional")
    assert result.agree
    probs = _row(result, "positional", "probs")
    assert probs.matched_by == "position" and probs.backend_output == "output_0"
    assert "matched by position" in probs.notes[0]
    renamed = _compare(tmp_path, "base", "renamed")
    assert renamed.agree and renamed.backends[1].inputs_matched_by == "position"


def test_a_missing_output_and_a_failing_backend_disagree(fakes: FakeSite, tmp_path: Path) -> None:
    fewer = _compare(tmp_path, "base", "fewer")
    label = _row(fewer, "fewer", "label")
    assert not fewer.agree and label.matched_by == "missing"
    broken = _compare(tmp_path, "base", "broken")
    assert not broken.agree
    assert broken.backends[1].failed == "sample 0: RuntimeError: no kernel for MatMul"
    assert "broken failed: sample 0" in _row(broken, "broken", "probs").problems[-1]
    # One that cannot open the model disagrees too; the others are still compared.
    unreadable = _compare(tmp_path, "base", "unreadable", "same")
    assert not unreadable.agree
    failed = unreadable.backends[1].failed or ""
    assert failed.startswith("opening the model: ") and "not a model" in failed
    assert _row(unreadable, "unreadable", "probs").problems == [f"unreadable failed: {failed}"]
    assert _row(unreadable, "same", "probs").agree


def test_a_reference_that_refuses_the_synthetic_data_is_an_input_problem(
    fakes: FakeSite, tmp_path: Path
) -> None:
    with pytest.raises(InputProblem, match="failed on the synthetic inputs") as caught:
        _compare(tmp_path, "broken", "base")
    assert caught.value.exit_code == 2


def test_manifest_types_choose_the_argmax_outputs(fakes: FakeSite, tmp_path: Path) -> None:
    result = _compare(tmp_path, "base", "same", types={"probs": "regression", "label": "classes"})
    assert _row(result, "same", "probs").argmax_agreement is None
    assert NO_MANIFEST_ARGMAX not in result.notes


def test_check_target_on_an_onnx_file(
    fakes: FakeSite, make_onnx: Callable[..., Path], tmp_path: Path
) -> None:
    model = make_onnx(tmp_path / "m.onnx")
    resolved = resolve(str(model))
    agree = check_target(resolved, ["onnxruntime", "ort-again"], count=5, seed=3)
    assert agree.agree and agree.samples == 5 and agree.seed == 3 and agree.model == "m"
    noisy = check_target(resolved, ["onnxruntime", "ort-noisy"], count=5)
    assert not noisy.agree
    row = noisy.rows[0]
    assert row.max_abs_error == pytest.approx(0.01, rel=1e-3)
    with pytest.raises(SettingsError, match="--shape names unknown input"):
        check_target(resolve(str(model)), ["onnxruntime", "ort-again"], shapes={"nope": [1, 4]})


def test_a_manifest_types_the_outputs_and_shapes_its_inputs(
    fakes: FakeSite,
    make_onnx: Callable[..., Path],
    write_manifest: Callable[..., Path],
    tmp_path: Path,
) -> None:
    model = make_onnx(tmp_path / "m.onnx")
    manifest = write_manifest(model)
    result = check_target(resolve(str(manifest)), ["onnxruntime", "ort-again"], count=4)
    assert result.agree and result.model == "tiny@1.0.0" and result.inputs == "synthetic"
    assert result.notes == [] and result.rows[0].argmax_agreement == 1.0


def test_shape_is_refused_where_a_dataset_feeds_the_model(fakes: FakeSite) -> None:
    with pytest.raises(ConformanceError, match="--shape applies to synthetic inputs"):
        check_target(
            resolve("digits-classifier"), ["onnxruntime", "ort-again"], shapes={"input": [1, 64]}
        )


def test_a_manifest_with_a_dataset_feeds_its_samples(fakes: FakeSite) -> None:
    result = check_target(resolve("digits-classifier"), ["onnxruntime", "ort-again"], count=6)
    assert result.agree
    assert result.inputs == "dataset" and result.dataset == "digits" and result.samples == 6
    assert result.model == "digits-classifier@1.0.0"
    assert result.rows[0].argmax_agreement == 1.0  # the manifest types it a probability
    assert result.notes == []


@pytest.mark.parametrize(
    ("backends", "count", "tolerance", "message"),
    [
        (["onnxruntime"], 8, Tolerance(), "at least two backends"),
        ([], 8, Tolerance(), r"at least two backends \(got none\)"),
        (["onnxruntime", "onnxruntime"], 8, Tolerance(), "onnxruntime named more than once"),
        (["onnxruntime", "nosuch"], 8, Tolerance(), "unknown backend"),
        (["onnxruntime", "same"], 0, Tolerance(), "--samples"),
        (["onnxruntime", "same"], 8, Tolerance(atol=-1), "--atol"),
        (["onnxruntime", "same"], 8, Tolerance(rtol=float("nan")), "--rtol"),
    ],
)
def test_requests_refused_before_anything_opens(
    fakes: FakeSite,
    backends: list[str],
    count: int,
    tolerance: Tolerance,
    message: str,
) -> None:
    with pytest.raises(ConformanceError, match=message) as caught:
        check_request(backends, count, tolerance)
    assert caught.value.exit_code == 2
    if "backend" in message or "named" in message:
        assert "--backend" in caught.value.message


def test_a_pickle_backend_is_refused_on_an_untrusted_model(tmp_path: Path) -> None:
    import hashlib
    import pickle

    from reef.components.repository import add
    from reef.components.trust import UntrustedComponent

    folder = tmp_path / "repo" / "theirs"
    folder.mkdir(parents=True)
    model = folder / "model.pkl"
    model.write_bytes(pickle.dumps({"not": "an estimator"}))
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    (folder / "reef.yaml").write_text(
        "kind: model\nname: theirs\nversion: 1.0.0\nframework: {name: onnxruntime}\n"
        f"sources: [{{path: model.pkl, sha256: {digest}}}]\n"
        "inputs: [{name: input, element_type: float32, shape: [-1, 5]}]\n"
        "outputs: [{name: label, type: classes}]\n",
        encoding="utf-8",
    )
    add(str(tmp_path / "repo"), name="untrusted")
    with pytest.raises(UntrustedComponent, match="--backend sklearn"):
        check_target(resolve("theirs"), ["onnxruntime", "sklearn"])


def test_bytes_labels_compare_as_utf8_text() -> None:
    """A served model's BYTES labels (numpy fixed-width bytes) against text labels: read as
    UTF-8, not as numpy's ASCII, which fails on any other byte."""
    import numpy as np

    from reef.bench.conformance import _Accumulator

    acc = _Accumulator("labels", None, Tolerance())
    labels = np.array(["é", "chat"])
    acc.add(labels, np.array(["é".encode(), b"chat"], dtype=bytes))
    acc.add(labels, np.array([b"e", b"chat"], dtype=bytes))
    assert acc.exact and acc.samples == 2 and acc.elements == 4
    assert acc.mismatched == 1 and acc.problems == []
