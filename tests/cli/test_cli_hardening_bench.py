"""Issue 13, items 5-8 and 10, in-process (see ``cli_support``): inputs that used to be refused
too late, option values that crashed the worker, malformed datasets, NaN and infinity, and
overlong names. Each gets exit 2 and one message naming the input, the same error as JSON
under ``--json``, and nothing recorded.

The machine is pinned where a message depends on it: 2 usable cores, 8 GiB of memory free.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from cli_support import InProcessReef
from e2e_support import (
    SHORT,
    ManifestWriter,
    assert_json_error,
    assert_usage_error,
    sha256,
)

GiB = 1 << 30


@pytest.fixture(autouse=True)
def small_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from reef.bench import job
    from reef.meta import settings

    monkeypatch.setattr(settings, "usable_cores", lambda: 2)
    monkeypatch.setattr(job, "available_memory", lambda: 8 * GiB)


def refused(cli: InProcessReef, *args: str, says: tuple[str, ...]) -> dict[str, Any]:
    """``reef ARGS --json``: exit 2, ``says`` on stderr and in the JSON error, nothing kept."""
    result = cli(*args, "--json")
    assert_usage_error(result, *says)
    data = assert_json_error(result, *says)
    assert data["error"] != "Exception"
    cli.assert_nothing_written()
    return data


# --- item 6: option values that crashed the worker ---------------------------------------------


OPTIONS = [
    pytest.param(["--threads", "100000"],
                 ("--threads 100000", "at most 8", "4 per usable core"), id="threads"),
    pytest.param(["--threads", "99999999999999999999"],
                 ("--threads 99999999999999999999", "at most 8"), id="threads-past-int64"),
    pytest.param(["--seed", "1180591620717411303424"],
                 ("--seed 1180591620717411303424", "64 bits"), id="seed-past-64-bits"),
    pytest.param(["-s", "Server", "--target-qps", "1e12"],
                 ("--target-qps", "at most 10,000,000 queries per second"), id="target-qps"),
    pytest.param(["-s", "MultiStream", "--samples-per-query", "1000000000"],
                 ("--samples-per-query 1,000,000,000", "LoadGen pre-generates 662 queries",
                  "more than the 8.0 GiB of memory available"), id="samples-per-query"),
    pytest.param(["--batch-size", "1000000000", "-s", "Offline"],
                 ("--batch-size 1,000,000,000", "input 'x' [-1, 3, 8, 8] float32",
                  "768 bytes each", "more than the 8.0 GiB"), id="batch-size"),
    pytest.param(["-s", "Server", "--target-qps", "inf"],
                 ("--target-qps", "finite"), id="target-qps-infinite"),
    pytest.param(["-s", "Server", "--target-qps", "1e-300"],
                 ("--target-qps 1e-300", "at least 0.001"), id="target-qps-tiny"),
    pytest.param(["-s", "Server", "--latency-bound-ms", "1e300"],
                 ("--latency-bound-ms 1e+300", "a day"), id="latency-bound"),
    pytest.param(["--warmup", "99999999999999999999"],
                 ("--warmup 99999999999999999999", "at most 1,000,000"), id="warmup"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "says"), OPTIONS)
def test_bench_refuses_options_that_crashed_the_worker(
    cli: InProcessReef, write_manifest: ManifestWriter, options: list[str], says: tuple[str, ...]
) -> None:
    refused(cli, "bench", str(write_manifest()), *SHORT, *options, says=says)


def test_threads_within_the_limit_run(cli: InProcessReef, tiny_onnx: Path) -> None:
    result = cli("bench", str(tiny_onnx), *SHORT, "--threads", "8", "--in-process", "--json")
    assert result.rc == 0, str(result)
    assert result.json()[0]["settings"]["threads"] == 8


def test_solution_settings_are_judged_too(cli: InProcessReef, tmp_path: Path) -> None:
    solution = tmp_path / "work" / "s" / "reef.yaml"
    solution.parent.mkdir(parents=True)
    solution.write_text(
        yaml.safe_dump(
            {
                "kind": "solution",
                "name": "s",
                "version": "1.0.0",
                "bench": {"settings": {"seed": 2**70}},
            }
        )
    )
    refused(cli, "check", str(solution), says=("bench.settings", "seed", "64 bits"))


# --- item 5: tensors that cannot fit -------------------------------------------------------------


def test_shape_that_cannot_fit(cli: InProcessReef, make_onnx: Callable[..., Path]) -> None:
    model = make_onnx(input_shape=(None, "n", 4))
    refused(
        cli, "bench", str(model), *SHORT, "--shape", "x=1x100000000000x4",
        says=("--shape x=1x100000000000x4", "one sample is at least 372.5 GiB",
              "more than the 8.0 GiB of memory available"),
    )  # fmt: skip


def test_fixed_dimension_in_a_manifest(
    cli: InProcessReef, make_onnx: Callable[..., Path], tmp_path: Path
) -> None:
    model = make_onnx(tmp_path / "big" / "model.onnx", input_shape=(1, 100_000_000_000, 4))
    manifest = model.with_name("model.yaml")
    manifest.write_text(
        yaml.safe_dump(
            {
                "kind": "model",
                "name": "big",
                "version": "1.0.0",
                "framework": {"name": "onnxruntime"},
                "sources": [{"path": "model.onnx", "sha256": sha256(model)}],
                "inputs": [{"name": "x", "shape": [1, 100_000_000_000, 4]}],
                "outputs": [{"name": "y"}],
            }
        )
    )
    refused(
        cli, "bench", str(manifest), *SHORT,
        says=("model.yaml", "inputs[0].shape", "one sample is 1,490.1 GiB"),
    )  # fmt: skip


def test_fixed_dimension_in_a_bare_model(
    cli: InProcessReef, make_onnx: Callable[..., Path]
) -> None:
    model = make_onnx(input_shape=(1, 100_000_000_000, 4))
    refused(
        cli, "bench", str(model), *SHORT, "--in-process",
        says=("input 'x' [1, 100000000000, 4] float32", "one sample is 1,490.1 GiB"),
    )  # fmt: skip


# --- items 5 and 7: datasets -------------------------------------------------------------------


def with_dataset(model_manifest: Path, npz: Callable[[Path], None], samples: int = 10) -> Path:
    """The digits classifier copy reading a dataset folder of its own, ``data/``, whose
    archive ``npz(path)`` writes."""
    folder = model_manifest.parent / "data"
    folder.mkdir()
    archive = folder / "data.npz"
    npz(archive)
    manifest = {
        "kind": "dataset",
        "name": "data",
        "version": "1.0.0",
        "sources": [{"path": "data.npz", "sha256": sha256(archive)}],
        "features": "features",
        "labels": "labels",
        "samples": samples,
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(manifest))
    model = yaml.safe_load(model_manifest.read_text())
    model["dataset"] = "data"
    model_manifest.write_text(yaml.safe_dump(model))
    return archive


def good(path: Path) -> None:
    np.savez(path, features=np.ones((10, 64), "f4"), labels=np.arange(10))


def truncated(path: Path) -> None:
    good(path)
    path.write_bytes(path.read_bytes()[:700])


def objects(path: Path) -> None:
    rows = np.empty(10, dtype=object)
    rows[:] = [[0.0] * 64 for _ in range(10)]
    np.savez(path, features=rows, labels=np.arange(10))


def short_labels(path: Path) -> None:
    np.savez(path, features=np.ones((10, 64), "f4"), labels=np.arange(4))


def lying_header(path: Path) -> None:
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10, 10**10)}
    )
    labels = io.BytesIO()
    np.save(labels, np.arange(10))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("features.npy", header.getvalue() + bytes(256))
        z.writestr("labels.npy", labels.getvalue())


DATASETS = [
    pytest.param(truncated, ("data.npz", "not a readable npz archive"), id="truncated"),
    pytest.param(objects, ("data.npz", "'features' holds Python objects", "allow_pickle"),
                 id="object-array"),
    pytest.param(short_labels, ("data.npz", "'labels' holds 4 labels", "'features' holds 10"),
                 id="labels-shorter"),
    pytest.param(lying_header, ("data.npz", "header declares [10, 10000000000] float32",
                                "372.5 GiB", "holds 256 bytes"), id="huge-header"),
]  # fmt: skip


@pytest.mark.parametrize(("write", "says"), DATASETS)
def test_bench_refuses_malformed_dataset(
    cli: InProcessReef, digits_copy: Path, write: Callable[[Path], None], says: tuple[str, ...]
) -> None:
    with_dataset(digits_copy, write)
    refused(cli, "bench", str(digits_copy), *SHORT, says=says)


@pytest.mark.parametrize(("write", "says"), DATASETS)
def test_check_finds_what_bench_refuses_in_a_dataset(
    cli: InProcessReef, digits_copy: Path, write: Callable[[Path], None], says: tuple[str, ...]
) -> None:
    with_dataset(digits_copy, write)
    refused(cli, "check", str(digits_copy), says=says)


def test_a_good_local_dataset_runs(cli: InProcessReef, digits_copy: Path) -> None:
    with_dataset(digits_copy, good)
    result = cli("bench", str(digits_copy), *SHORT, "--in-process", "--mode", "accuracy")
    assert result.rc in (0, 1), str(result)  # all-ones images: accuracy may well fail


def deflated_zeros(header: bytes, zeros: int) -> bytes:
    """``header`` then ``zeros`` zero bytes as one raw deflate stream: a fully flushed 1 MiB
    block of zeros stands alone, so repeating it makes gigabytes in milliseconds."""

    def part(data: bytes, mode: int) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(mode)

    block = part(bytes(1 << 20), zlib.Z_FULL_FLUSH)
    return part(header, zlib.Z_FULL_FLUSH) + block * (zeros >> 20) + part(b"", zlib.Z_FINISH)


def bomb(path: Path) -> None:
    """10 rows of 400 MiB of zeros (4,000 MiB) in a 4 MB archive, written by hand: zipfile
    would take a minute to deflate it. Its CRC is left 0: Reef never reads it through."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (10, 400 << 20)}
    )
    data = deflated_zeros(header.getvalue(), 4000 << 20)
    size = len(header.getvalue()) + (4000 << 20)
    name = b"features.npy"
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, 0, len(data), size, len(name), 0
    )
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, 0, len(data), size,
        len(name), 0, 0, 0, 0, 0, 0,
    )  # fmt: skip
    directory = central + name
    entries = local + name + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(directory), len(entries), 0)
    path.write_bytes(entries + directory + end)


def test_zip_bomb(cli: InProcessReef, digits_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reef.bench import job

    monkeypatch.setattr(job, "available_memory", lambda: 1 << 40)  # it would fit: still a bomb
    archive = with_dataset(digits_copy, bomb)
    assert archive.stat().st_size < 8 << 20
    dataset = archive.with_name("reef.yaml")
    dataset.write_text(dataset.read_text().replace("labels: labels\n", ""))
    refused(
        cli, "bench", str(digits_copy), *SHORT,
        says=("data.npz", "'features' inflates", "into 3.9 GiB", "zip bomb"),
    )  # fmt: skip


# --- item 8: NaN and infinity -----------------------------------------------------------------


def _accuracy(value: Any, field: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["accuracy"] = {"metric": "top1", "reference": 0.9, field: value}

    return edit


def _factor(data: dict[str, Any]) -> None:
    data["inputs"][0]["steps"] = [{"scale": {"factor": float("nan")}}]


NON_FINITE = [
    pytest.param(_accuracy(float("nan"), "reference"), "accuracy.reference", id="reference-nan"),
    pytest.param(_accuracy(float("inf"), "reference"), "accuracy.reference", id="reference-inf"),
    pytest.param(_accuracy(float("nan"), "threshold"), "accuracy.threshold", id="threshold-nan"),
    pytest.param(_factor, "inputs[0].steps[0].scale.factor", id="factor-nan"),
]


@pytest.mark.parametrize("command", ["check", "bench"])
@pytest.mark.parametrize(("edit", "field"), NON_FINITE)
def test_non_finite_numbers_are_refused_by_check_and_bench(
    cli: InProcessReef,
    write_manifest: ManifestWriter,
    edit: Callable[[dict[str, Any]], None],
    field: str,
    command: str,
) -> None:
    manifest = write_manifest(edit)
    extra = SHORT if command == "bench" else ()
    refused(cli, command, str(manifest), *extra, says=("model.yaml", field, "finite number"))


# --- item 10: names ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "bench"])
def test_a_5000_character_name_is_refused(
    cli: InProcessReef, write_manifest: ManifestWriter, command: str
) -> None:
    manifest = write_manifest(lambda data: data.update(name="m" * 5000))
    extra = SHORT if command == "bench" else ()
    data = refused(
        cli, command, str(manifest), *extra,
        says=("model.yaml", "name", "5,000 characters long; at most 100"),
    )  # fmt: skip
    assert "m" * 101 not in str(data)


def test_a_100_character_name_is_fine(cli: InProcessReef, write_manifest: ManifestWriter) -> None:
    manifest = write_manifest(lambda data: data.update(name="m" * 100))
    result = cli("check", str(manifest), "--json")
    assert result.rc == 0, str(result)
