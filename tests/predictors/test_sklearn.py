"""The scikit-learn backend: estimators pickled with joblib or pickle."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reef.errors import PredictorError
from reef.predictors.base import Predictor, PredictorOptions, TensorSpec

sklearn = pytest.importorskip("sklearn")
joblib = pytest.importorskip("joblib")

from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402

from reef.predictors.sklearn import SklearnPredictor  # noqa: E402


def iris_like(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """150 samples of 4 features in 3 separable-ish classes."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), 50)
    x = rng.standard_normal((150, 4)) + y[:, None] * 1.5
    return x.astype(np.float32), y


def fitted_classifier() -> Any:
    x, y = iris_like()
    return LogisticRegression(max_iter=500).fit(x, y)


def test_is_a_predictor() -> None:
    assert isinstance(SklearnPredictor(), Predictor)


# Either writer under any of the suffixes: joblib.dump(model, "model.pkl") is as common as
# pickle.dump, and a .joblib file may be a plain pickle.
@pytest.mark.parametrize("writer", ["joblib", "pickle"])
@pytest.mark.parametrize("name", ["model.joblib", "model.pkl", "model.pickle"])
def test_classifier_signature_and_outputs(tmp_path: Path, name: str, writer: str) -> None:
    estimator = fitted_classifier()
    path = tmp_path / name
    if writer == "joblib":
        joblib.dump(estimator, path)
    else:
        path.write_bytes(pickle.dumps(estimator))
    predictor = SklearnPredictor()
    signature = predictor.open(path, PredictorOptions(threads=1))
    assert signature.inputs == (TensorSpec("X", "float32", (None, 4)),)
    assert signature.outputs == (
        TensorSpec("label", "int64", (None,)),
        TensorSpec("probabilities", "float64", (None, 3)),
    )
    x = iris_like(seed=1)[0][:7]
    label, proba = predictor.predict({"X": x})
    # The reference, by hand: softmax(x @ coef.T + intercept), its argmax the label.
    logits = x.astype(np.float64) @ estimator.coef_.T + estimator.intercept_
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(label, expected.argmax(axis=1))
    assert predictor.info() == {"estimator": "LogisticRegression", "options": {"threads": 1}}


def test_a_regressor_has_no_probabilities(tmp_path: Path) -> None:
    x, y = iris_like()
    estimator = LinearRegression().fit(x, y.astype(np.float64))
    joblib.dump(estimator, tmp_path / "reg.joblib")
    predictor = SklearnPredictor()
    signature = predictor.open(tmp_path / "reg.joblib", PredictorOptions())
    assert signature.outputs == (TensorSpec("label", "float64", (None,)),)
    (out,) = predictor.predict({"X": x[:3]})
    expected = x[:3].astype(np.float64) @ estimator.coef_ + estimator.intercept_
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_threads_cap_n_jobs(tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier

    x, y = iris_like()
    forest = RandomForestClassifier(n_estimators=3, n_jobs=-1, random_state=0).fit(x, y)
    joblib.dump(forest, tmp_path / "forest.joblib")
    predictor = SklearnPredictor()
    predictor.open(tmp_path / "forest.joblib", PredictorOptions(threads=1))
    assert predictor._estimator.n_jobs == 1


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\x80\x04\x95", "sklearn could not load the model: "),  # a truncated pickle
        (pickle.dumps({"not": "a model"}), "it holds a dict, which has no predict method"),
        (pickle.dumps(LogisticRegression()), "the LogisticRegression is not fitted"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, content: bytes, fragment: str) -> None:
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(content)
    with pytest.raises(PredictorError) as caught:
        SklearnPredictor().open(bad, PredictorOptions())
    message = caught.value.message
    assert message.startswith(f"{bad}: sklearn could not load the model: ")
    assert fragment in message
    assert "\n" not in message


def test_a_truncated_joblib_file(tmp_path: Path) -> None:
    good = tmp_path / "good.joblib"
    joblib.dump(fitted_classifier(), good)
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(good.read_bytes()[:100])
    with pytest.raises(PredictorError) as caught:
        SklearnPredictor().open(bad, PredictorOptions())
    assert caught.value.message.startswith(f"{bad}: sklearn could not load the model: ")
    assert "\n" not in caught.value.message


def test_version_is_sklearns() -> None:
    assert SklearnPredictor().version() == sklearn.__version__
