"""Builds the LiteRT (TensorFlow Lite) models Reef's tests and benchmarks read.

Reef's own environments have no TensorFlow (LiteRT only runs models), so the models are
built once with it and their bytes are kept in ``tests/data``:

- ``tiny_dense.tflite``: ``y = softmax(x @ W + b)``, x float32 [batch, 8] (dynamic batch),
  y [batch, 4]; W and b are the formulas ``dense_weights()`` gives, so a test recomputes
  the output with numpy.
- ``bench_cnn.tflite``: a small CNN of about a millisecond a sample on one laptop core
  (input float32 [batch, 96, 96, 3], output [batch, 10]), for ``benchmarks/harness_fidelity.py
  --backend tflite``; its weights come from a seeded generator.

Run in a throwaway environment with TensorFlow (not one of Reef's)::

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu
    /tmp/tfvenv/bin/python tools/build_tflite_fixture.py tests/data

(built with tensorflow-cpu 2.21.0 on Python 3.11).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

FEATURES, CLASSES = 8, 4


def dense_weights() -> tuple[np.ndarray, np.ndarray]:
    """W [8, 4] and b [4] of ``tiny_dense.tflite``, from formulas a test can repeat."""
    i, j = np.meshgrid(np.arange(FEATURES), np.arange(CLASSES), indexing="ij")
    weights = (((i * 7 + j * 3) % 11) - 5).astype(np.float32) / 10
    bias = (np.arange(CLASSES, dtype=np.float32) - 1) / 10
    return weights, bias


def _convert(model: object) -> bytes:
    """The model's ``serving_default`` signature kept, so that its inputs and outputs have
    the names given here rather than TensorFlow's ``Identity``."""
    import tempfile

    import tensorflow as tf

    module = tf.Module()
    module.model = model
    with tempfile.TemporaryDirectory() as folder:
        tf.saved_model.save(module, folder, signatures={"serving_default": model})
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        return bytes(converter.convert())


def tiny_dense() -> bytes:
    import tensorflow as tf

    weights, bias = dense_weights()
    w, b = tf.constant(weights), tf.constant(bias)

    @tf.function(input_signature=[tf.TensorSpec([None, FEATURES], tf.float32, name="x")])
    def model(x: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"y": tf.nn.softmax(tf.matmul(x, w) + b)}

    return _convert(model)


def bench_cnn() -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(0)

    def param(*shape: int) -> tf.Tensor:
        fan_in = int(np.prod(shape[:-1]))
        return tf.constant((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32))

    k1, k2, k3 = param(3, 3, 3, 16), param(3, 3, 16, 32), param(3, 3, 32, 64)
    k4, k5 = param(3, 3, 64, 64), param(3, 3, 64, 64)
    dense = param(64, 10)

    def conv(h: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(tf.nn.conv2d(h, kernel, 1, "SAME"))

    def pool(h: tf.Tensor) -> tf.Tensor:
        return tf.nn.max_pool2d(h, 2, 2, "VALID")

    @tf.function(input_signature=[tf.TensorSpec([None, 96, 96, 3], tf.float32, name="image")])
    def model(image: tf.Tensor) -> dict[str, tf.Tensor]:
        h = pool(conv(image, k1))
        h = pool(conv(h, k2))
        h = pool(conv(conv(h, k3), k4))
        h = tf.reduce_mean(conv(h, k5), axis=[1, 2])
        return {"logits": tf.matmul(h, dense)}

    return _convert(model)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data")
    out.mkdir(parents=True, exist_ok=True)
    for name, build in (("tiny_dense.tflite", tiny_dense), ("bench_cnn.tflite", bench_cnn)):
        data = build()
        (out / name).write_bytes(data)
        print(f"{out / name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
