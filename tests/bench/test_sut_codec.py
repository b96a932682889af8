"""How one sample's outputs travel through LoadGen's accuracy log: ``np.save``, never pickle."""

from __future__ import annotations

import io

import numpy as np
import pytest

from reef.bench.sut import decode_outputs, encode_outputs


def test_round_trip_of_several_outputs() -> None:
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((3, 10)).astype(np.float32)
    classes = np.array([4, 1, 7], dtype=np.int64)
    boxes = rng.standard_normal((3, 2, 4)).astype(np.float64)
    flags = np.array([True, False, True])
    outputs = [scores, classes, boxes, flags]
    for row in range(3):
        payload = encode_outputs(outputs, row)
        assert payload.dtype == np.uint8
        assert payload.ndim == 1
        decoded = decode_outputs(payload.tobytes())
        assert len(decoded) == 4
        for got, out in zip(decoded, outputs, strict=True):
            assert got.dtype == out.dtype
            assert got.shape == out[row].shape
            np.testing.assert_array_equal(got, out[row])


def test_round_trip_through_hex_as_in_the_accuracy_log() -> None:
    outputs = [np.arange(6, dtype=np.float16).reshape(2, 3)]
    text = encode_outputs(outputs, 1).tobytes().hex()  # what LoadGen writes
    (got,) = decode_outputs(bytes.fromhex(text))
    np.testing.assert_array_equal(got, [3, 4, 5])


def test_a_non_contiguous_row_survives() -> None:
    outputs = [np.arange(12, dtype=np.int32).reshape(3, 4).T]  # rows are strided
    (got,) = decode_outputs(encode_outputs(outputs, 2).tobytes())
    np.testing.assert_array_equal(got, [2, 6, 10])


def test_scalar_outputs_per_row() -> None:
    (got,) = decode_outputs(encode_outputs([np.array([0.5, 1.5])], 1).tobytes())
    assert got.shape == ()
    assert float(got) == 1.5


def test_empty_payload_decodes_to_nothing() -> None:
    assert decode_outputs(b"") == []


def test_object_outputs_are_not_pickled() -> None:
    outputs = [np.array([{"a": 1}, {"b": 2}], dtype=object)]
    with pytest.raises(ValueError):
        encode_outputs(outputs, 0)


def test_a_pickled_payload_is_refused() -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": True}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        decode_outputs(buf.getvalue())


def test_a_model_without_a_batch_logs_its_whole_outputs() -> None:
    out = np.arange(6, dtype=np.float32).reshape(2, 3)
    decoded = decode_outputs(encode_outputs([out], None).tobytes())
    assert decoded[0].shape == (2, 3)
    assert decoded[0].tolist() == out.tolist()


def test_bytes_outputs_log_the_same_bytes_whatever_they_were_batched_with() -> None:
    """A served model's BYTES answers are fixed-width bytes as wide as the answer's longest
    element: a sample's logged bytes must not depend on the other samples of its batch."""
    batched = np.array([[b"7", b"12"], [b"a longer label", b"c"]], dtype=bytes)
    alone = np.array([[b"7", b"12"]], dtype=bytes)
    assert encode_outputs([batched], 0).tobytes() == encode_outputs([alone], 0).tobytes()
    [back] = decode_outputs(encode_outputs([batched], 1).tobytes())
    assert back.tolist() == [b"a longer label", b"c"]
    [empty] = decode_outputs(encode_outputs([np.zeros((2, 0), dtype="S9")], 0).tobytes())
    assert empty.shape == (0,)
