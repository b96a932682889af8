"""Issue 13, items 5 and 7: datasets judged from their zip directory and .npy headers before
anything is inflated, and samples, batches and LoadGen's queries judged against memory before
they are allocated."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reef.bench import job as job_module
from reef.bench.calibrate import expectations
from reef.bench.job import footprint_problem, loadgen_problem
from reef.bench.samples import check_npz, load_dataset, synthetic
from reef.errors import ManifestError, PredictorError, SettingsError
from reef.meta.dataset import DatasetManifest
from reef.meta.model import ModelManifest
from reef.meta.run import Calibration
from reef.meta.settings import MAX_TARGET_QPS, BenchSettings
from reef.predictors.base import Signature, TensorSpec

SHA = "0" * 64
GiB = 1 << 30


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """``memory(n)``: this machine has ``n`` bytes available, whatever it really has."""

    def set_available(available: int) -> None:
        monkeypatch.setattr(job_module, "available_memory", lambda: available)

    set_available(8 * GiB)
    return set_available


def manifest(features: str = "features", labels: str | None = "labels", samples: int = 10,
             allow_pickle: bool = False) -> DatasetManifest:  # fmt: skip
    return DatasetManifest(
        name="d",
        version="1.0.0",
        sources=[{"path": "d.npz", "sha256": SHA}],  # type: ignore[list-item]
        features=features,
        labels=labels,
        samples=samples,
        allow_pickle=allow_pickle,
    )


def npz(path: Path, **arrays: Any) -> Path:
    np.savez(path, **arrays)
    return path


def refused(dataset: DatasetManifest, path: Path) -> str:
    """check_npz's message; loading the arrays must refuse with the same one."""
    with pytest.raises(ManifestError) as checked:
        check_npz(dataset, path)
    with pytest.raises(ManifestError) as loaded:
        model = ModelManifest.model_validate(
            {
                "name": "m",
                "version": "1.0.0",
                "framework": {"name": "onnxruntime"},
                "sources": [{"path": "m.onnx", "sha256": SHA}],
                "inputs": [{"name": "x", "shape": [-1, 4]}],
                "outputs": [{"name": "y"}],
            }
        )
        sig = Signature((TensorSpec("x", "float32", ("batch", 4)),), ())
        load_dataset(model, "m.yaml", dataset, path, sig, None)
    assert checked.value.message == loaded.value.message
    assert checked.value.problems[0].file == str(path)
    return checked.value.message


# --- npz: item 7 -------------------------------------------------------------------------------


def test_a_good_archive_passes(tmp_path: Path, memory: Callable[[int], None]) -> None:
    path = npz(tmp_path / "d.npz", features=np.ones((10, 4), "f4"), labels=np.arange(10))
    check_npz(manifest(), path)


def test_truncated_archive(tmp_path: Path) -> None:
    path = npz(tmp_path / "d.npz", features=np.ones((10, 4), "f4"), labels=np.arange(10))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "not a readable npz archive (truncated" in refused(manifest(), path)


def test_not_a_zip_at_all(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.save(path, np.ones((10, 4)))  # a bare .npy under an .npz name
    assert "not a readable npz archive" in refused(manifest(), path)


def test_object_array_without_allow_pickle(tmp_path: Path) -> None:
    objects = np.empty(10, dtype=object)
    objects[:] = [[i] * i for i in range(10)]
    path = npz(tmp_path / "d.npz", features=objects, labels=np.arange(10))
    message = refused(manifest(), path)
    assert "'features' holds Python objects (dtype object)" in message
    assert "allow_pickle" in message
    with pytest.raises(ManifestError) as info:
        check_npz(manifest(), path)
    assert info.value.hint is not None and "trusted" in info.value.hint


def test_object_array_with_allow_pickle_loads(tmp_path: Path) -> None:
    from reef.bench.samples import _load_npz

    objects = np.empty(10, dtype=object)
    objects[:] = [[i] * i for i in range(10)]
    path = npz(tmp_path / "d.npz", features=objects, labels=np.arange(10))
    features, labels = _load_npz(manifest(allow_pickle=True), path)
    assert features[3] == [3, 3, 3]
    assert list(labels) == list(range(10))


def test_labels_shorter_than_features(tmp_path: Path) -> None:
    path = npz(tmp_path / "d.npz", features=np.ones((10, 4), "f4"), labels=np.arange(7))
    message = refused(manifest(), path)
    assert "'labels' holds 7 labels but 'features' holds 10 samples" in message


def test_rows_against_the_manifest_before_inflating(tmp_path: Path) -> None:
    path = npz(tmp_path / "d.npz", features=np.ones((12, 4), "f4"), labels=np.arange(12))
    assert "the manifest says 10 samples but 'features' holds 12" in refused(manifest(), path)


def test_missing_array_is_named(tmp_path: Path) -> None:
    path = npz(tmp_path / "d.npz", features=np.ones((10, 4), "f4"))
    assert "has no array named labels (it has features)" in refused(manifest(), path)


# --- npz: item 5, headers that lie and zip bombs --------------------------------------------------


def npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()  # the magic string, then the header


def write_zip(path: Path, members: dict[str, tuple[bytes, int, int]]) -> Path:
    """A zip of ``name -> (raw bytes as stored, method, inflated size)``, written by hand so
    that a member can be deflated data whose inflated size is never produced here. A deflated
    member's CRC is not computed (Reef must refuse it before reading it through); a stored
    one's is, since reading a small member's header reads all of it."""
    local, central, offset = b"", b"", 0
    for name, (data, method, size) in members.items():
        crc = zlib.crc32(data) if method == 0 else 0
        encoded = name.encode()
        head = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size,
            len(encoded), 0,
        )  # fmt: skip
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size,
            len(encoded), 0, 0, 0, 0, 0, offset,
        ) + encoded  # fmt: skip
        local += head + encoded + data
        offset += len(head) + len(encoded) + len(data)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      offset, 0)  # fmt: skip
    path.write_bytes(local + central + end)
    return path


def deflated_zeros(header: bytes, zeros: int) -> bytes:
    """``header`` then ``zeros`` zero bytes as one raw deflate stream, built from a 1 MiB
    fully flushed block repeated (each copy stands alone), so 4 GiB take milliseconds."""
    chunk = 1 << 20

    def part(data: bytes, mode: int) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(mode)

    block = part(bytes(chunk), zlib.Z_FULL_FLUSH)
    body = [block] * (zeros // chunk)
    return part(header, zlib.Z_FULL_FLUSH) + b"".join(body) + part(bytes(zeros % chunk), 4)


def labels_member() -> tuple[bytes, int, int]:
    import io

    buf = io.BytesIO()
    np.save(buf, np.arange(450))
    return buf.getvalue(), 0, len(buf.getvalue())


def test_header_declaring_a_huge_shape(tmp_path: Path, memory: Callable[[int], None]) -> None:
    data = npy_header((10, 10**10)) + bytes(80)  # declares 745 GiB, holds 80 bytes
    path = write_zip(tmp_path / "d.npz", {"features.npy": (data, 0, len(data))})
    message = refused(manifest(labels=None), path)
    assert "'features': its header declares [10, 10000000000] float64 (745.1 GiB)" in message
    assert "holds 80 bytes" in message


def test_header_declaring_huge_rows(tmp_path: Path) -> None:
    data = npy_header((10**12,), "|u1") + bytes(80)
    path = write_zip(tmp_path / "d.npz", {"features.npy": (data, 0, len(data))})
    message = refused(manifest(labels=None), path)
    assert "the manifest says 10 samples but 'features' holds 1000000000000" in message


def test_zip_bomb(tmp_path: Path, memory: Callable[[int], None]) -> None:
    memory(1 << 40)  # a machine large enough to hold it: refused as a bomb, not for memory
    row = (4 * GiB - 2 * (1 << 20)) // 450
    header = npy_header((450, row), "|u1")
    stream = deflated_zeros(header, 450 * row)
    assert len(stream) < 8 << 20  # about 4 MB
    members = {
        "features.npy": (stream, 8, len(header) + 450 * row),
        "labels.npy": labels_member(),
    }
    path = write_zip(tmp_path / "d.npz", members)
    message = refused(manifest(samples=450), path)
    assert "'features' inflates" in message
    assert "into 4.0 GiB" in message
    assert "zip bomb" in message


def test_data_larger_than_memory(tmp_path: Path, memory: Callable[[int], None]) -> None:
    row = (3 * GiB) // 450
    header = npy_header((450, row), "|u1")
    members = {
        "features.npy": (deflated_zeros(header, 450 * row), 8, len(header) + 450 * row),
        "labels.npy": labels_member(),
    }
    path = write_zip(tmp_path / "d.npz", members)
    memory(2 * GiB)
    message = refused(manifest(samples=450), path)
    assert "arrays 'features' [450, 7158278] uint8 and 'labels' [450] int64" in message
    assert "3.0 GiB, more than the 2.0 GiB of memory available" in message


# --- synthetic inputs and batches: items 5 and 6 --------------------------------------------------


def signature(*dims: int | str, dtype: str = "float32") -> Signature:
    return Signature((TensorSpec("x", dtype, tuple(dims)),), ())


def test_fixed_dimension_too_large(memory: Callable[[int], None]) -> None:
    with pytest.raises(SettingsError) as info:
        synthetic(signature(1, 100_000_000_000), {}, None, 0)
    assert info.value.message == (
        "input 'x' [1, 100000000000] float32: one sample is 372.5 GiB, more than the 8.0 GiB "
        "of memory available"
    )


def test_shape_too_large(memory: Callable[[int], None]) -> None:
    with pytest.raises(SettingsError) as info:
        synthetic(signature("batch", "n"), {"x": [1, 100_000_000_000]}, None, 0)
    assert "input 'x' [1, 100000000000] float32 (--shape x=1x100000000000)" in info.value.message
    assert "372.5 GiB" in info.value.message
    assert info.value.hint == "give --shape smaller dimensions"


def test_many_samples_too_large(memory: Callable[[int], None]) -> None:
    with pytest.raises(SettingsError) as info:
        synthetic(signature("batch", 100_000_000), {}, 64, 0)
    assert "64 samples of 381.5 MiB each are 23.8 GiB" in info.value.message
    assert info.value.hint == "--samples N loads fewer samples"


def test_fixed_batch_repeated_per_sample(memory: Callable[[int], None]) -> None:
    # A batch axis fixed at 100,000 (as a manifest says) is filled by repeating each sample.
    from reef.meta.model import InputSpec

    spec = InputSpec(name="x", shape=[100_000, 100_000], batch_axis=0)
    with pytest.raises(SettingsError, match="one batch of 100,000 samples"):
        synthetic(signature(100_000, 100_000), {}, 4, 0, specs=[spec])


def test_fixed_shapes_are_one_sample(memory: Callable[[int], None]) -> None:
    # Without a manifest, a model whose shapes are all fixed takes one sample per call.
    with pytest.raises(SettingsError, match=r"one sample is 37\.3 GiB"):
        synthetic(signature(100_000, 100_000), {}, 4, 0)


def test_small_inputs_are_made(memory: Callable[[int], None]) -> None:
    assert synthetic(signature("batch", 4), {}, 8, 0).inputs["x"].shape == (8, 4)


@pytest.mark.parametrize(
    ("scenario", "batch", "says"),
    [
        ("Offline", 1_000_000_000, "--batch-size 1,000,000,000: batches of 1,000,000,000"),
        ("Server", 1_000_000_000, "--batch-size 1,000,000,000"),
    ],
)
def test_batch_too_large(
    memory: Callable[[int], None], scenario: str, batch: int, says: str
) -> None:
    settings = BenchSettings(scenario=scenario, batch_size=batch)  # type: ignore[arg-type]
    found = footprint_problem(768, 64, None, settings, "input 'x'", loaded=True)
    assert found is not None and found[0] == "batch"
    assert says in found[1] and "768 bytes each" in found[1]


def test_batch_is_capped_by_samples_per_query_in_multistream(
    memory: Callable[[int], None],
) -> None:
    settings = BenchSettings(scenario="MultiStream", batch_size=1_000_000_000)
    assert footprint_problem(768, 64, None, settings, "x", loaded=True) is None


def test_multistream_queries_too_large(memory: Callable[[int], None]) -> None:
    problem = loadgen_problem(
        BenchSettings(scenario="MultiStream", samples_per_query=1_000_000_000)
    )
    assert problem is not None
    assert problem.startswith(
        "--samples-per-query 1,000,000,000: LoadGen pre-generates 662 queries of "
        "1,000,000,000 samples each"
    )
    assert loadgen_problem(BenchSettings(scenario="MultiStream", samples_per_query=8)) is None


def test_calibrated_server_rate_stays_schedulable() -> None:
    cal = Calibration(warmup_queries=50, latency_p50_ms=1e-6, throughput_qps=1e9)
    exp = expectations(BenchSettings(scenario="Server"), cal)
    assert exp.values["server_target_qps"] == MAX_TARGET_QPS
    assert any("lowered" in note for note in exp.notes)


def test_onnxruntime_refuses_threads_past_the_cores(make_onnx: Callable[..., Path]) -> None:
    from reef.predictors.base import PredictorOptions
    from reef.predictors.onnxruntime import OnnxRuntimePredictor

    with pytest.raises(PredictorError, match="intra-op threads: at most"):
        OnnxRuntimePredictor().open(make_onnx(), PredictorOptions(threads=100_000))
