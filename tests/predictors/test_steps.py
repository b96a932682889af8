"""The built-in processing steps against independent numpy/Pillow references, and the registry."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydantic import TypeAdapter

from plugin_support import FakeSite, plugin_site
from reef.errors import ReefError
from reef.meta.steps import PluginStep, Step
from reef.predictors.steps import StepError, build_pipeline, build_step, known_steps, registry

__all__ = ["plugin_site"]  # a fixture

STEPS = TypeAdapter(list[Step])


def step(decl: Any, labels: list[str] | None = None) -> Any:
    """Build one step from its manifest form, e.g. ``{"resize": {"size": 4}}``."""
    return build_step(STEPS.validate_python([decl])[0], labels=labels)


def png(arr: np.ndarray[Any, Any]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _fresh_plugins() -> Iterator[None]:
    registry.clear_plugin_cache()
    yield
    registry.clear_plugin_cache()


# --- tensor steps ---------------------------------------------------------------------------


def test_cast() -> None:
    out = step({"cast": {"dtype": "int64"}})(np.array([1.7, -2.2], dtype=np.float32))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [1, -2])


def test_scale_uint8_gives_float32(rng: np.random.Generator) -> None:
    x = rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    out = step({"scale": {"factor": 1 / 255, "offset": -0.5}})(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x.astype(np.float64) / 255 - 0.5, rtol=1e-6, atol=1e-6)


def test_scale_keeps_float64() -> None:
    x = np.array([1.0, 2.0])
    out = step({"scale": {"factor": 3.0, "offset": 1.0}})(x)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [4.0, 7.0])


def test_normalize_channels_last(rng: np.random.Generator) -> None:
    x = rng.random((4, 5, 3), dtype=np.float32)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    out = step({"normalize": {"mean": mean, "std": std}})(x)
    expected = np.stack([(x[:, :, c] - mean[c]) / std[c] for c in range(3)], axis=2)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_normalize_channels_first(rng: np.random.Generator) -> None:
    x = rng.integers(0, 256, size=(2, 3, 4), dtype=np.uint8)
    out = step({"normalize": {"mean": [10.0, 20.0], "std": [2.0, 4.0], "channel_axis": 0}})(x)
    expected = np.stack([(x[0] - 10.0) / 2.0, (x[1] - 20.0) / 4.0])
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_normalize_channel_mismatch() -> None:
    fn = step({"normalize": {"mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]}})
    with pytest.raises(StepError, match=r"3 values but axis 2 .* has 4 channels") as info:
        fn(np.zeros((2, 2, 4), dtype=np.float32))
    assert isinstance(info.value, ReefError)
    assert info.value.exit_code == 2


def test_reshape() -> None:
    x = np.arange(24)
    np.testing.assert_array_equal(step({"reshape": {"shape": [2, -1, 3]}})(x), x.reshape(2, 4, 3))
    with pytest.raises(StepError, match=r"shape \(24,\).*\[5, -1\]"):
        step({"reshape": {"shape": [5, -1]}})(x)


def test_transpose_layout_and_perm(rng: np.random.Generator) -> None:
    x = rng.random((4, 5, 3))
    np.testing.assert_array_equal(
        step({"transpose": {"layout": "HWC->CHW"}})(x), np.moveaxis(x, 2, 0)
    )
    np.testing.assert_array_equal(step({"transpose": {"perm": [1, 0, 2]}})(x), np.swapaxes(x, 0, 1))
    with pytest.raises(StepError, match="the sample has 4"):
        step({"transpose": {"perm": [2, 0, 1]}})(x[np.newaxis])


# --- image steps ----------------------------------------------------------------------------


def test_decode_rgb_l_bgr_rgba(rng: np.random.Generator) -> None:
    rgb = rng.integers(0, 256, size=(6, 7, 3), dtype=np.uint8)
    data = png(rgb)

    out = step("decode")(data)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb)

    np.testing.assert_array_equal(step({"decode": {"mode": "BGR"}})(data), rgb[:, :, ::-1])

    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    out = step({"decode": {"mode": "L"}})(data)
    assert out.shape == (6, 7, 1)
    np.testing.assert_array_equal(out[:, :, 0], gray)

    out = step({"decode": {"mode": "RGBA"}})(data)
    np.testing.assert_array_equal(out[:, :, :3], rgb)
    assert (out[:, :, 3] == 255).all()


def test_decode_rejects_non_images() -> None:
    with pytest.raises(StepError, match="not an image"):
        step("decode")(b"definitely not a png")
    with pytest.raises(StepError, match="expected encoded image bytes"):
        step("decode")("image.png")


def pil_resize(arr: np.ndarray[Any, Any], h: int, w: int, method: Any) -> np.ndarray[Any, Any]:
    return np.asarray(Image.fromarray(arr).resize((w, h), method))


def test_resize_uint8_rgb_to_fixed_size(rng: np.random.Generator) -> None:
    x = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    out = step({"resize": {"size": [8, 12]}})(x)
    assert out.shape == (8, 12, 3)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, pil_resize(x, 8, 12, Image.Resampling.BILINEAR))

    out = step({"resize": {"size": [8, 12], "interpolation": "nearest"}})(x)
    np.testing.assert_array_equal(out, pil_resize(x, 8, 12, Image.Resampling.NEAREST))


@pytest.mark.parametrize(
    ("shape", "expected"),
    # torchvision: the shorter side becomes `size`, the longer is int(size * long / short).
    [((20, 30), (8, 12)), ((30, 20), (12, 8)), ((21, 32), (8, 12)), ((17, 17), (8, 8))],
)
def test_resize_shorter_side(
    rng: np.random.Generator, shape: tuple[int, int], expected: tuple[int, int]
) -> None:
    x = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    out = step({"resize": {"size": 8}})(x)
    assert out.shape == (*expected, 3)
    np.testing.assert_array_equal(out, pil_resize(x, *expected, Image.Resampling.BILINEAR))


def test_resize_to_same_size_is_identity(rng: np.random.Generator) -> None:
    x = rng.random((8, 12, 3), dtype=np.float32)
    np.testing.assert_array_equal(step({"resize": {"size": 8}})(x), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resize_float_per_channel(rng: np.random.Generator, dtype: Any) -> None:
    x = rng.random((10, 14, 3)).astype(dtype)
    out = step({"resize": {"size": [5, 6], "interpolation": "bicubic"}})(x)
    assert out.dtype == dtype
    expected = np.stack(
        [
            pil_resize(x[:, :, c].astype(np.float32), 5, 6, Image.Resampling.BICUBIC)
            for c in range(3)
        ],
        axis=2,
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_resize_2d_and_four_channels(rng: np.random.Generator) -> None:
    gray = rng.integers(0, 256, size=(10, 14), dtype=np.uint8)
    out = step({"resize": {"size": [5, 7]}})(gray)
    np.testing.assert_array_equal(out, pil_resize(gray, 5, 7, Image.Resampling.BILINEAR))

    rgba = rng.integers(0, 256, size=(10, 14, 4), dtype=np.uint8)
    out = step({"resize": {"size": [5, 7]}})(rgba)
    assert out.shape == (5, 7, 4)
    for c in range(4):  # each band on its own, with no alpha premultiplication
        expected = pil_resize(rgba[:, :, c], 5, 7, Image.Resampling.BILINEAR)
        np.testing.assert_array_equal(out[:, :, c], expected)


def test_resize_rejects_other_dtypes() -> None:
    with pytest.raises(StepError, match="uint8 and floating-point images, got int32") as info:
        step({"resize": {"size": 2}})(np.zeros((4, 4, 3), dtype=np.int32))
    assert info.value.hint == "add a cast step before resize"


@pytest.mark.parametrize(
    ("hw", "size", "top", "left"),
    # Offsets are round((H - h) / 2) with Python's round, as in torchvision: 1.5 -> 2, 2.5 -> 2.
    [((7, 8), 4, 2, 2), ((9, 10), [4, 5], 2, 2), ((6, 6), 6, 0, 0), ((10, 11), [7, 8], 2, 2)],
)
def test_center_crop(
    rng: np.random.Generator, hw: tuple[int, int], size: Any, top: int, left: int
) -> None:
    x = rng.random((*hw, 3))
    h, w = (size, size) if isinstance(size, int) else size
    out = step({"center_crop": {"size": size}})(x)
    np.testing.assert_array_equal(out, x[top : top + h, left : left + w])


def test_center_crop_larger_than_image() -> None:
    with pytest.raises(StepError, match="crop 8x8 is larger than the image 6x10"):
        step({"center_crop": {"size": 8}})(np.zeros((6, 10, 3)))


# --- output steps ---------------------------------------------------------------------------


def test_softmax(rng: np.random.Generator) -> None:
    x = rng.normal(size=(3, 5)).astype(np.float32)
    out = step("softmax")(x)
    expected = np.exp(x.astype(np.float64))
    expected /= expected.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5)

    out = step({"softmax": {"axis": 0}})(x)
    expected = np.exp(x.astype(np.float64))
    expected /= expected.sum(axis=0, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_softmax_is_stable_for_large_logits() -> None:
    out = step("softmax")(np.array([1000.0, 1000.0, -1000.0], dtype=np.float32))
    np.testing.assert_allclose(out, [0.5, 0.5, 0.0], atol=1e-7)


def test_argmax() -> None:
    x = np.array([[0.1, 0.7, 0.2], [0.9, 0.05, 0.05]])
    np.testing.assert_array_equal(step("argmax")(x), [1, 0])
    assert int(step("argmax")(x[0])) == 1
    np.testing.assert_array_equal(step({"argmax": {"axis": 0}})(x), [1, 0, 0])
    with pytest.raises(StepError, match="axis 2 is out of range"):
        step({"argmax": {"axis": 2}})(x)


def test_top_k_matches_argsort(rng: np.random.Generator) -> None:
    scores = rng.random(50).astype(np.float32)
    out = step({"top_k": {"k": 5}})(scores[np.newaxis])  # a leading batch-of-one is squeezed
    expected = np.argsort(scores)[::-1][:5]
    assert out["indices"] == expected.tolist()
    assert out["scores"] == pytest.approx(scores[expected].tolist())
    assert out["labels"] is None


def test_top_k_ties_labels_and_small_vectors() -> None:
    labels = ["cat", "dog", "fox", "owl"]
    out = step("top_k", labels=labels)(np.array([[[0.2, 0.4, 0.4, 0.0]]]))
    assert out == {
        "indices": [1, 2, 0, 3],
        "scores": [0.4, 0.4, 0.2, 0.0],
        "labels": ["dog", "fox", "cat", "owl"],
    }
    unsigned = step({"top_k": {"k": 2}})(np.array([3, 200, 7], dtype=np.uint8))
    assert unsigned["indices"] == [1, 2]
    with pytest.raises(StepError, match="5 scores but there are only 4 labels"):
        step("top_k", labels=labels)(np.zeros(5))
    with pytest.raises(StepError, match="expected a vector"):
        step("top_k")(np.zeros((2, 3)))


# --- registry and pipelines -----------------------------------------------------------------


def test_bare_string_shorthand_in_a_manifest() -> None:
    manifest = {"outputs": [{"name": "logits", "steps": ["softmax", {"top_k": {"k": 2}}]}]}
    steps = STEPS.validate_python(manifest["outputs"][0]["steps"])
    fn = build_pipeline(steps, labels=["a", "b", "c"])
    out = fn(np.array([1.0, 3.0, 2.0]))
    assert out["indices"] == [1, 2]
    assert out["labels"] == ["b", "c"]
    e = np.exp([1.0, 3.0, 2.0])
    assert out["scores"] == pytest.approx((e[[1, 2]] / e.sum()).tolist())


def test_pipeline_composes_in_order(rng: np.random.Generator) -> None:
    image = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    steps = STEPS.validate_python(
        [
            "decode",
            {"resize": {"size": 10}},
            {"center_crop": {"size": 8}},
            {"scale": {"factor": 1 / 255}},
            {"normalize": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}},
            {"transpose": {"layout": "HWC->CHW"}},
        ]
    )
    out = build_pipeline(steps)(png(image))

    resized = pil_resize(image, 10, 15, Image.Resampling.BILINEAR)
    cropped = resized[1:9, 4:12].astype(np.float64) / 255
    expected = ((cropped - 0.5) / 0.25).transpose(2, 0, 1)
    assert out.shape == (3, 8, 8)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_empty_and_single_step_pipelines() -> None:
    x = np.array([1.0, 2.0])
    assert build_pipeline([])(x) is x
    single = build_pipeline(STEPS.validate_python(["argmax"]))
    assert int(single(x)) == 1


def test_plugin_step_with_builtin_name_is_validated_as_builtin() -> None:
    fn = build_step(PluginStep({"top_k": {"k": 1}}))
    assert fn(np.array([0.1, 0.9]))["indices"] == [1]
    with pytest.raises(StepError, match="'top_k': invalid parameters"):
        build_step(PluginStep({"top_k": {"k": 0}}))


def test_unknown_step() -> None:
    (decl,) = STEPS.validate_python([{"foo": {"x": 1}}])
    assert isinstance(decl, PluginStep)
    with pytest.raises(StepError) as info:
        build_step(decl)
    assert info.value.message == "unknown step 'foo'"
    assert info.value.hint is not None
    assert "center_crop" in info.value.hint
    assert "top_k" in info.value.hint


ADD_STEP = """
    import numpy as np

    IMPORTS = 0

    def add_factory(params, labels):
        amount = params.get("amount", 1)
        if not isinstance(amount, int | float):
            raise TypeError(f"amount must be a number, got {type(amount).__name__}")
        return lambda x: np.asarray(x) + amount

    IMPORTS += 1
"""


def test_plugin_step_from_entry_point(plugin_site: FakeSite) -> None:
    plugin_site.add(
        "reef-add-step",
        entry_points={"reef.steps": {"add": "reef_test_add_step:add_factory"}},
        modules={"reef_test_add_step": ADD_STEP},
    )

    assert "add" in known_steps()
    assert known_steps() == sorted(known_steps())
    steps = STEPS.validate_python([{"add": {"amount": 2}}, {"scale": {"factor": 10}}])
    np.testing.assert_array_equal(build_pipeline(steps)(np.array([1, 2])), [30.0, 40.0])
    build_step(STEPS.validate_python(["add"])[0])
    assert sys.modules["reef_test_add_step"].IMPORTS == 1  # loaded once, then kept

    with pytest.raises(StepError, match="step 'add': invalid parameters: amount must be"):
        build_step(STEPS.validate_python([{"add": {"amount": "lots"}}])[0])
