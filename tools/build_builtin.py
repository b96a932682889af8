#!/usr/bin/env python3
"""Build Reef's built-in components: the ``digits`` dataset and two models trained on it.

Writes, under ``src/reef/builtin/``:

* ``digits/``            dataset: the held-out 25% of scikit-learn's bundled digits (``digits.npz``)
* ``digits-classifier/`` model: a scikit-learn MLP, exported to ONNX by hand (``model.onnx``)
* ``digits-cnn/``        model: a small torch CNN, exported to ONNX by hand (``model.onnx``)

Each folder holds a ``reef.yaml`` manifest that records every source's sha256.

The build is deterministic: fixed seeds, one thread everywhere, deterministic torch kernels,
zip entries with a fixed timestamp, ONNX graphs built node by node with ``onnx.helper`` (no
exporter whose output depends on its version). Running it twice gives identical bytes on the
same machine and library versions; ``--check`` rebuilds into a temporary folder and compares.

Needs: numpy, scikit-learn, onnx, onnxruntime, pillow, pyyaml, pydantic, packaging and torch
(CPU). Reef itself is imported from ``src/`` when it is not installed. See tools/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import yaml
from onnx import TensorProto, helper, numpy_helper
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "reef" / "builtin"

SEED = 0
TEST_SIZE = 0.25
LABELS = [str(i) for i in range(10)]
# Both classifiers answer with class probabilities, reported as their five best labels.
CLASSIFIER_OUTPUTS = [
    {
        "name": "probabilities",
        "type": "probability",
        "labels": LABELS,
        "steps": [{"top_k": {"k": 5}}],
    }
]
OPSET = 17
IR_VERSION = 8  # onnxruntime 1.17 reads up to IR version 9; 8 leaves margin
PRODUCER = "reef tools/build_builtin.py"
ORT_CONSTRAINT = ">=1.17,<2"

MLP_MAX_ITER = 1000

CNN_SIZE = 32
CNN_EPOCHS = 15
CNN_BATCH = 32
CNN_LR = 1e-3
CNN_SHIFT = 3  # training augmentation: random translation, in pixels of the 32x32 input
# (out_channels, pool after?) for each 3x3 convolution (padding 1); then two linear layers.
CNN_CONVS = [(32, False), (64, False), (64, False), (64, True), (64, True), (32, True)]
CNN_HIDDEN = 128

# The CNN's pre-processing, exactly as its manifest declares it (Reef applies it per sample).
CNN_STEPS: list[dict[str, Any]] = [
    {"scale": {"factor": 0.0625}},
    {"reshape": {"shape": [8, 8]}},
    {"resize": {"size": [CNN_SIZE, CNN_SIZE], "interpolation": "bilinear"}},
    {"reshape": {"shape": [1, CNN_SIZE, CNN_SIZE]}},
    {"normalize": {"mean": [0.5], "std": [0.5], "channel_axis": 0}},
]


def log(message: str) -> None:
    print(message, flush=True)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# data


def split_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's digits, split 75/25, stratified, seed 0: x_train, x_test, y_train, y_test."""
    digits = load_digits()
    x = digits.data.astype(np.float32)  # raw pixel values 0..16
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=SEED, stratify=y
    )
    return x_train, x_test, y_train, y_test


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed .npz whose bytes depend only on the arrays (fixed zip timestamps)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def cnn_preprocess(sample: np.ndarray) -> np.ndarray:
    """One 64-value digit -> [1, 32, 32] float32, step by step as CNN_STEPS declares."""
    x = np.asarray(sample, dtype=np.float32) * np.float32(0.0625)  # scale
    x = x.reshape(8, 8)  # reshape
    image = Image.fromarray(x.astype(np.float32))  # resize
    assert image.mode == "F", image.mode
    image = image.resize((CNN_SIZE, CNN_SIZE), Image.Resampling.BILINEAR)
    x = np.asarray(image, dtype=np.float32)
    x = x.reshape(1, CNN_SIZE, CNN_SIZE)  # reshape
    x = (x - np.float32(0.5)) / np.float32(0.5)  # normalize
    return x.astype(np.float32)


# --------------------------------------------------------------------------------------------
# ONNX helpers


def finish_model(graph: onnx.GraphProto, doc: str) -> onnx.ModelProto:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def initializer(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name=name)


def ort_session(path: Path, threads: int = 1) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_ort(session: ort.InferenceSession, x: np.ndarray) -> np.ndarray:
    return np.asarray(session.run(["probabilities"], {"input": x.astype(np.float32)})[0])


def top1(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of plain values, which read better inline: [-1, 64]."""

    def represent_list(self, data: Any) -> yaml.Node:  # type: ignore[override]
        flow = all(not isinstance(item, dict | list) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _Dumper.represent_list)


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    text = yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    header = "# Generated by tools/build_builtin.py; edit that script, not this file.\n"
    path.write_text(header + text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# dataset


def build_dataset(folder: Path, x_test: np.ndarray, y_test: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    npz = folder / "digits.npz"
    features = x_test.astype(np.float32)
    labels = y_test.astype(np.int64)
    write_npz(npz, {"features": features, "labels": labels})
    manifest = {
        "kind": "dataset",
        "name": "digits",
        "version": "1.0.0",
        "description": (
            "scikit-learn's bundled copy of the UCI ML hand-written digits (8x8 images, "
            "pixel values 0..16, one flattened row of 64 per sample): the held-out 25% "
            "test split (train_test_split, stratified, random_state=0)."
        ),
        "format": "npz",
        "sources": [{"path": npz.name, "sha256": sha256_of(npz)}],
        "features": "features",
        "labels": "labels",
        "samples": len(labels),
        "license": "CC BY 4.0 (UCI ML hand-written digits)",
        "tags": ["image-classification", "digits", "uci", "sklearn"],
    }
    write_manifest(folder / "reef.yaml", manifest)
    log(f"dataset digits: {features.shape[0]} samples x {features.shape[1]} -> {npz}")


# --------------------------------------------------------------------------------------------
# MLP (scikit-learn)


def mlp_to_onnx(clf: MLPClassifier) -> onnx.ModelProto:
    (w1, w2), (b1, b2) = clf.coefs_, clf.intercepts_
    nodes = [
        helper.make_node("MatMul", ["input", "w1"], ["h1"], name="dense1"),
        helper.make_node("Add", ["h1", "b1"], ["h1b"], name="dense1_bias"),
        helper.make_node("Relu", ["h1b"], ["a1"], name="relu1"),
        helper.make_node("MatMul", ["a1", "w2"], ["h2"], name="dense2"),
        helper.make_node("Add", ["h2", "b2"], ["logits"], name="dense2_bias"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "digits_classifier",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        initializer=[
            initializer("w1", w1),
            initializer("b1", b1),
            initializer("w2", w2),
            initializer("b2", b2),
        ],
    )
    return finish_model(graph, "scikit-learn MLPClassifier (64 hidden, relu) on digits / 16")


def build_mlp(
    folder: Path,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    clf = MLPClassifier(hidden_layer_sizes=(64,), random_state=SEED, max_iter=MLP_MAX_ITER)
    clf.fit(x_train / 16.0, y_train)
    log(f"mlp: trained {clf.n_iter_} iterations, final loss {clf.loss_:.5f}")

    path = folder / "model.onnx"
    path.write_bytes(mlp_to_onnx(clf).SerializeToString())

    session = ort_session(path)
    probabilities = run_ort(session, x_test * np.float32(0.0625))
    expected = clf.predict_proba(x_test / 16.0)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-4, atol=1e-5)
    accuracy = top1(probabilities, y_test)
    sklearn_accuracy = float(clf.score(x_test / 16.0, y_test))
    assert accuracy == sklearn_accuracy, (accuracy, sklearn_accuracy)
    params = sum(w.size for w in clf.coefs_) + sum(b.size for b in clf.intercepts_)
    log(f"mlp: onnxruntime matches predict_proba; held-out top-1 {accuracy:.4f}")

    manifest = {
        "kind": "model",
        "name": "digits-classifier",
        "version": "1.0.0",
        "description": (
            "A one-hidden-layer perceptron (64 ReLU units, softmax output) trained with "
            "scikit-learn on the 75% training split of the digits; takes the 64 raw pixel "
            "values scaled to 0..1."
        ),
        "framework": {"name": "onnxruntime", "version": ORT_CONSTRAINT},
        "sources": [{"path": path.name, "sha256": sha256_of(path)}],
        "inputs": [
            {
                "name": "input",
                "element_type": "float32",
                "shape": [-1, 64],
                "steps": [{"scale": {"factor": 0.0625}}],
            }
        ],
        "outputs": CLASSIFIER_OUTPUTS,
        "dataset": "digits",
        "accuracy": {"metric": "top1", "reference": round(accuracy, 4)},
        "attributes": {
            "parameters": int(params),
            "architecture": "dense 64 -> 64 relu -> 10 softmax",
            "trainer": "scikit-learn MLPClassifier (adam, alpha 1e-4, batch 200)",
            "training_samples": len(y_train),
            "training_iterations": int(clf.n_iter_),
            "random_state": SEED,
            "opset": OPSET,
        },
        "tags": ["image-classification", "sklearn", "mlp"],
    }
    write_manifest(folder / "reef.yaml", manifest)
    return accuracy


# --------------------------------------------------------------------------------------------
# CNN (torch)


def make_cnn(torch: Any) -> Any:
    nn = torch.nn
    layers: list[Any] = []
    channels, size = 1, CNN_SIZE
    for out_channels, pool in CNN_CONVS:
        layers += [nn.Conv2d(channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        channels = out_channels
        if pool:
            layers.append(nn.MaxPool2d(2))
            size //= 2
    layers += [
        nn.Flatten(),
        nn.Linear(channels * size * size, CNN_HIDDEN),
        nn.ReLU(),
        nn.Linear(CNN_HIDDEN, 10),
    ]
    return nn.Sequential(*layers)


def cnn_to_onnx(net: Any, torch: Any) -> onnx.ModelProto:
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    current = "input"
    counts: dict[str, int] = {}

    def fresh(kind: str) -> str:
        counts[kind] = counts.get(kind, 0) + 1
        return f"{kind}{counts[kind]}"

    def weights(name: str, tensor: Any) -> str:
        inits.append(initializer(name, tensor.detach().cpu().numpy()))
        return name

    for layer in net:
        if isinstance(layer, torch.nn.Conv2d):
            name = fresh("conv")
            inputs = [current, weights(f"{name}.weight", layer.weight)]
            inputs.append(weights(f"{name}.bias", layer.bias))
            nodes.append(
                helper.make_node(
                    "Conv",
                    inputs,
                    [name],
                    name=name,
                    kernel_shape=list(layer.kernel_size),
                    strides=list(layer.stride),
                    pads=[layer.padding[0], layer.padding[1]] * 2,
                    dilations=list(layer.dilation),
                    group=layer.groups,
                )
            )
        elif isinstance(layer, torch.nn.ReLU):
            name = fresh("relu")
            nodes.append(helper.make_node("Relu", [current], [name], name=name))
        elif isinstance(layer, torch.nn.MaxPool2d):
            name = fresh("pool")
            nodes.append(
                helper.make_node(
                    "MaxPool",
                    [current],
                    [name],
                    name=name,
                    kernel_shape=[layer.kernel_size] * 2,
                    strides=[layer.stride] * 2,
                )
            )
        elif isinstance(layer, torch.nn.Flatten):
            name = fresh("flatten")
            nodes.append(helper.make_node("Flatten", [current], [name], name=name, axis=1))
        elif isinstance(layer, torch.nn.Linear):
            name = fresh("dense")
            inputs = [current, weights(f"{name}.weight", layer.weight)]
            inputs.append(weights(f"{name}.bias", layer.bias))
            nodes.append(helper.make_node("Gemm", inputs, [name], name=name, transB=1))
        else:
            raise TypeError(f"no ONNX translation for {type(layer).__name__}")
        current = name
    nodes.append(helper.make_node("Softmax", [current], ["probabilities"], name="softmax", axis=1))
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [
            helper.make_tensor_value_info(
                "input", TensorProto.FLOAT, ["batch", 1, CNN_SIZE, CNN_SIZE]
            )
        ],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        initializer=inits,
    )
    return finish_model(graph, "small torch CNN on digits upsampled to 32x32")


def cnn_macs(net: Any, torch: Any) -> int:
    """Multiply-accumulates for one sample (convolutions and linear layers)."""
    macs, size = 0, CNN_SIZE
    for layer in net:
        if isinstance(layer, torch.nn.Conv2d):
            size += 2 * layer.padding[0] - (layer.kernel_size[0] - 1)
            macs += size * size * layer.weight.numel()
        elif isinstance(layer, torch.nn.MaxPool2d):
            size //= 2
        elif isinstance(layer, torch.nn.Linear):
            macs += layer.weight.numel()
    return int(macs)


def random_shifts(torch: Any) -> Any:
    """Augmentation: move each image up to CNN_SHIFT pixels each way, filling with background."""
    background = -1.0  # a 0 pixel after the normalize step

    def shift(images: Any, generator: Any) -> Any:
        n, pad = images.shape[0], CNN_SHIFT
        padded = torch.nn.functional.pad(images, (pad, pad, pad, pad), value=background)
        offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator).tolist()
        return torch.stack(
            [
                padded[i, :, dy : dy + CNN_SIZE, dx : dx + CNN_SIZE]
                for i, (dy, dx) in enumerate(offsets)
            ]
        )

    return shift


def train_cnn(torch: Any, x: np.ndarray, y: np.ndarray) -> Any:
    torch.manual_seed(SEED)
    net = make_cnn(torch)
    optimizer = torch.optim.Adam(net.parameters(), lr=CNN_LR)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=CNN_EPOCHS)
    loss_fn = torch.nn.CrossEntropyLoss()
    shift = random_shifts(torch)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(SEED)
    net.train()
    for epoch in range(CNN_EPOCHS):
        order = torch.randperm(len(targets), generator=generator)
        total, started = 0.0, time.perf_counter()
        for start in range(0, len(order), CNN_BATCH):
            batch = order[start : start + CNN_BATCH]
            optimizer.zero_grad()
            loss = loss_fn(net(shift(inputs[batch], generator)), targets[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        scheduler.step()
        elapsed = time.perf_counter() - started
        log(
            f"cnn: epoch {epoch + 1:2d}/{CNN_EPOCHS} loss {total / len(order):.5f} ({elapsed:.1f}s)"
        )
    net.eval()
    return net


def measure_latency(session: ort.InferenceSession, sample: np.ndarray, runs: int = 200) -> float:
    """Median seconds for one single-sample run, after a warm-up."""
    feed = {"input": sample[None].astype(np.float32)}
    for _ in range(20):
        session.run(["probabilities"], feed)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        session.run(["probabilities"], feed)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build_cnn(
    folder: Path,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
) -> tuple[float, float]:
    import torch

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    folder.mkdir(parents=True, exist_ok=True)

    train = np.stack([cnn_preprocess(s) for s in x_train])
    test = np.stack([cnn_preprocess(s) for s in x_test])
    net = train_cnn(torch, train, y_train)

    path = folder / "model.onnx"
    path.write_bytes(cnn_to_onnx(net, torch).SerializeToString())

    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(test)), dim=1).numpy()
    session = ort_session(path)
    probabilities = run_ort(session, test)
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-4)
    accuracy = top1(probabilities, y_test)
    torch_accuracy = top1(expected, y_test)
    latency = measure_latency(session, test[0])
    params = sum(p.numel() for p in net.parameters())
    log(
        f"cnn: onnxruntime matches torch (atol 1e-4); held-out top-1 {accuracy:.4f} "
        f"(torch {torch_accuracy:.4f}); {params} parameters, {cnn_macs(net, torch)} MACs; "
        f"single-sample latency {latency * 1e3:.3f} ms (median of 200, 1 intra-op thread)"
    )

    layout = " -> ".join(
        [f"conv3x3 {c}{' + maxpool2' if p else ''}" for c, p in CNN_CONVS]
        + [f"dense {CNN_HIDDEN}", "dense 10 softmax"]
    )
    manifest = {
        "kind": "model",
        "name": "digits-cnn",
        "version": "1.0.0",
        "description": (
            "A small convolutional network trained with torch on the 75% training split of "
            "the digits, each 8x8 digit scaled to 0..1, upsampled to 32x32 (bilinear) and "
            "normalized to -1..1."
        ),
        "framework": {"name": "onnxruntime", "version": ORT_CONSTRAINT},
        "sources": [{"path": path.name, "sha256": sha256_of(path)}],
        "inputs": [
            {
                "name": "input",
                "element_type": "float32",
                "shape": [-1, 1, CNN_SIZE, CNN_SIZE],
                "layout": "NCHW",
                "steps": CNN_STEPS,
            }
        ],
        "outputs": CLASSIFIER_OUTPUTS,
        "dataset": "digits",
        "accuracy": {"metric": "top1", "reference": round(accuracy, 4)},
        "attributes": {
            "parameters": int(params),
            "macs_per_sample": cnn_macs(net, torch),
            "architecture": f"{layout} (ReLU after each conv and the hidden dense layer)",
            "trainer": (
                f"torch {torch.__version__.split('+')[0]}, Adam lr {CNN_LR} with cosine decay, "
                f"batch {CNN_BATCH}, {CNN_EPOCHS} epochs, cross-entropy, random shifts "
                f"of up to {CNN_SHIFT} pixels"
            ),
            "training_samples": len(y_train),
            "seed": SEED,
            "opset": OPSET,
        },
        "tags": ["image-classification", "cnn", "torch"],
    }
    write_manifest(folder / "reef.yaml", manifest)
    return accuracy, latency


# --------------------------------------------------------------------------------------------
# checks


def verify(out: Path) -> dict[str, str]:
    """Validate every manifest with Reef and re-check the sha256 of every source."""
    try:
        from reef.meta.load import load_manifest
    except ImportError:
        sys.path.insert(0, str(REPO / "src"))
        from reef.meta.load import load_manifest

    digests: dict[str, str] = {}
    for manifest_path in sorted(out.glob("*/reef.yaml")):
        manifest = load_manifest(manifest_path)
        for source in manifest.sources:
            assert source.path is not None, f"{manifest_path}: built-ins ship their files"
            file = manifest_path.parent / source.path
            actual = sha256_of(file)
            if actual != source.sha256:
                raise SystemExit(f"{file}: sha256 {actual} but the manifest says {source.sha256}")
        log(f"verified {manifest_path.relative_to(out)}: {manifest.kind} {manifest.name}")
    for file in sorted(p for p in out.rglob("*") if p.is_file()):
        digests[file.relative_to(out).as_posix()] = sha256_of(file)
    return digests


def build(out: Path) -> dict[str, str]:
    random.seed(SEED)
    np.random.seed(SEED)
    with threadpool_limits(limits=1):
        x_train, x_test, y_train, y_test = split_digits()
        log(f"digits: {len(y_train)} training and {len(y_test)} held-out samples")
        build_dataset(out / "digits", x_test, y_test)
        build_mlp(out / "digits-classifier", x_train, y_train, x_test, y_test)
        build_cnn(out / "digits-cnn", x_train, y_train, x_test, y_test)
    digests = verify(out)
    for name, digest in digests.items():
        size = (out / name).stat().st_size
        log(f"  {digest}  {name} ({size} bytes)")
    return digests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write")
    parser.add_argument(
        "--check",
        action="store_true",
        help="build into a temporary folder and compare with --out instead of writing there",
    )
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    if not args.check:
        for name in ("digits", "digits-classifier", "digits-cnn"):
            shutil.rmtree(out / name, ignore_errors=True)
        build(out)
        log(f"wrote {out}")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        fresh = build(Path(tmp))
    present = {
        p.relative_to(out).as_posix(): sha256_of(p)
        for p in sorted(out.rglob("*"))
        if p.is_file()
        and p.relative_to(out).parts[0] in {"digits", "digits-classifier", "digits-cnn"}
    }
    if fresh == present:
        log(f"check: {out} matches a fresh build")
        return 0
    for name in sorted(set(fresh) | set(present)):
        if fresh.get(name) != present.get(name):
            log(f"check: {name} differs (fresh {fresh.get(name)}, present {present.get(name)})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
