#!/usr/bin/env python3
"""Build the tiny ONNX model that ``reef new model`` scaffolds (a 4x3 softmax classifier).

Reef ships its bytes (``src/reef/components/scaffold_model.onnx``) rather than writing them
with ``onnx`` at run time, so that ``onnx`` (22 MB) is not a core dependency. The graph is
built node by node with ``onnx.helper`` from a fixed seed: the same bytes every time.
``--check`` compares the shipped file with a fresh build (a test runs it). Needs numpy and onnx.

    python tools/build_scaffold_model.py [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SHIPPED = (
    Path(__file__).resolve().parents[1] / "src" / "reef" / "components" / "scaffold_model.onnx"
)
FEATURES, CLASSES = 4, 3


def build() -> bytes:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(
        rng.standard_normal((FEATURES, CLASSES)).astype(np.float32), name="W"
    )
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["input", "W"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ],
        "scaffold",
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["batch", FEATURES])],
        [
            helper.make_tensor_value_info(
                "probabilities", onnx.TensorProto.FLOAT, ["batch", CLASSES]
            )
        ],
        initializer=[weights],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="reef new"
    )
    model.ir_version = 8
    return bytes(model.SerializeToString())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare the shipped file, write nothing")
    args = ap.parse_args()
    data = build()
    if args.check:
        same = SHIPPED.read_bytes() == data
        print(f"{SHIPPED}: {'up to date' if same else 'STALE: run tools/build_scaffold_model.py'}")
        return 0 if same else 1
    SHIPPED.write_bytes(data)
    print(f"wrote {SHIPPED} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
