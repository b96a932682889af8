"""An output logged as its argmax: what LoadGen's accuracy log holds is its best class per
step, far smaller than the scores, and post-processing reads it as it would the scores."""

from __future__ import annotations

import numpy as np
from pydantic import TypeAdapter

from reef.bench.sut import decode_outputs, encode_outputs
from reef.meta.model import OutputSpec
from reef.meta.steps import Step
from reef.predictors.steps import build_step


def scores(indices: list[int], classes: int) -> np.ndarray:
    out = np.full((len(indices), classes), 0.01, dtype=np.float32)
    out[np.arange(len(indices)), indices] = 0.9
    return out


def ctc(labels: list[str]) -> object:
    step = TypeAdapter(Step).validate_python({"ctc_decode": {"blank": 0}})
    return build_step(step, labels=labels)


def test_an_argmax_output_is_logged_as_its_best_classes_only() -> None:
    batch = np.stack([scores([1, 1, 0, 2, 0, 2], 500)])
    other = np.arange(6, dtype=np.float32).reshape(1, 6)
    raw = encode_outputs([batch, other], 0)
    reduced = encode_outputs([batch, other], 0, argmax=frozenset({0}))
    assert reduced.nbytes * 30 < raw.nbytes  # headers of .npy files are most of what is left
    best, kept = decode_outputs(reduced.tobytes())
    assert best.dtype == np.int32 and best.tolist() == [1, 1, 0, 2, 0, 2]
    np.testing.assert_array_equal(kept, other[0])  # the other output as it was


def test_ctc_decode_reads_logged_indices_as_it_reads_scores() -> None:
    decode = ctc(["-", "a", "b"])
    indices = [1, 1, 0, 2, 0, 2]
    assert decode(scores(indices, 3)) == decode(np.asarray(indices, dtype=np.int32)) == "abb"


def test_ctc_decode_refuses_an_index_outside_the_charset() -> None:
    import pytest

    from reef.predictors.steps import StepError

    with pytest.raises(StepError, match="outside the 3 classes"):
        ctc(["-", "a", "b"])(np.asarray([1, 7], dtype=np.int32))


def test_outputs_are_logged_raw_unless_the_manifest_says_argmax() -> None:
    assert OutputSpec(name="y").log == "raw"
    assert OutputSpec(name="y", log="argmax").log == "argmax"
