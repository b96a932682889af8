"""The scikit-learn backend: an estimator pickled with joblib (``.joblib``) or pickle
(``.pkl``, ``.pickle``).

Loading a pickle runs code the file names, so ``reef bench`` opens one only when it is the
user's own file or comes from a trusted repository (``reef.bench.target``); this module
loads what it is given.

The signature: one input ``X`` of shape [None, n_features_in_], float32 (every estimator
takes it, converting where it computes in float64), and the outputs ``label``
(``predict``) and ``probabilities`` (``predict_proba``, when the estimator has it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reef.errors import PredictorError
from reef.predictors.base import PredictorOptions, Signature, TensorSpec
from reef.predictors.registry import import_framework, load_failed

INPUT = "X"


def _load(path: Path) -> Any:
    # joblib.load reads a plain pickle as well as its own format, whatever the suffix says:
    # joblib.dump(model, "model.pkl") is as common as pickle.dump. The caller checked that
    # the file may be unpickled.
    return import_framework("sklearn", "joblib").load(path)  # untyped


def _label_type(estimator: Any) -> str:
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return "float64"  # a regressor
    kind = str(getattr(classes, "dtype", "object"))
    return kind if kind != "object" else "object"


class SklearnPredictor:
    name = "sklearn"

    def __init__(self) -> None:
        self._estimator: Any = None
        self._threads: int | None = None
        self._kind = ""

    def version(self) -> str:
        return str(import_framework("sklearn", "sklearn").__version__)  # untyped

    def open(self, model_path: Path, options: PredictorOptions) -> Signature:
        import_framework("sklearn", "sklearn")  # missing or broken: MissingRuntime
        try:
            estimator = _load(model_path)
        except PredictorError:
            raise
        except Exception as exc:  # UnpicklingError, EOFError, ModuleNotFoundError, ...
            raise load_failed(model_path, "sklearn", exc) from exc
        if not callable(getattr(estimator, "predict", None)):
            raise PredictorError(
                f"{model_path}: sklearn could not load the model: it holds a "
                f"{type(estimator).__name__}, which has no predict method"
            )
        features = getattr(estimator, "n_features_in_", None)
        if features is None:
            raise PredictorError(
                f"{model_path}: sklearn could not load the model: the "
                f"{type(estimator).__name__} is not fitted (it has no n_features_in_)"
            )
        outputs = [TensorSpec("label", _label_type(estimator), (None,))]
        # getattr's default also covers a predict_proba that is a property raising
        # AttributeError (an SVC without probability=True).
        has_proba = callable(getattr(estimator, "predict_proba", None))
        if has_proba:
            classes = len(getattr(estimator, "classes_", ()))
            outputs.append(TensorSpec("probabilities", "float64", (None, classes or None)))
        signature = Signature(
            inputs=(TensorSpec(INPUT, "float32", (None, int(features))),),
            outputs=tuple(outputs),
        )
        self._estimator = estimator
        self._threads = options.threads
        self._kind = type(estimator).__name__
        predict = estimator.predict
        if options.threads:
            self._limit_threads(options.threads)
        if has_proba:
            predict_proba = estimator.predict_proba

            def run(feeds: dict[str, Any]) -> list[Any]:
                x = feeds[INPUT]
                return [predict(x), predict_proba(x)]
        else:

            def run(feeds: dict[str, Any]) -> list[Any]:
                return [predict(feeds[INPUT])]

        self.predict = run  # type: ignore[method-assign]
        return signature

    def _limit_threads(self, threads: int) -> None:
        """Estimators with ``n_jobs`` run that many workers: at most ``threads``."""
        params = self._estimator.get_params() if hasattr(self._estimator, "get_params") else {}
        if "n_jobs" in params:
            self._estimator.set_params(n_jobs=threads)

    def predict(self, feeds: dict[str, Any]) -> list[Any]:
        raise PredictorError("the sklearn predictor was not opened")

    def close(self) -> None:
        self._estimator = None

    def info(self) -> dict[str, Any]:
        return {"estimator": self._kind, "options": {"threads": self._threads}}
