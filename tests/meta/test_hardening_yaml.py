"""The YAML loader every manifest goes through refuses alias bombs, self-containing aliases,
absurd nesting, special files and oversized files: quickly, in bounded memory, with one
problem naming the file."""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path

import pytest

from reef.errors import ManifestError
from reef.meta.load import MAX_DEPTH, load_manifest, parse_yaml, read_yaml


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic bomb: each level lists the previous one ``width`` times (9**9 leaves)."""
    lines = ["kind: model", "name: bomb", "version: 1.0.0", "attributes:"]
    lines.append("  l0: &l0 [" + ", ".join(["lol"] * width) + "]")
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def only_problem(exc: pytest.ExceptionInfo[ManifestError]) -> tuple[str, str, str]:
    [problem] = exc.value.problems
    return problem.file, problem.location, problem.message


def test_a_billion_laughs_is_refused_in_bounded_time_and_memory(tmp_path: Path) -> None:
    path = tmp_path / "reef.yaml"
    path.write_text(billion_laughs())
    with pytest.raises(ManifestError):
        load_manifest(path)  # once first, so that imports are not counted below
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ManifestError) as exc:
            load_manifest(path)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    file, _, message = only_problem(exc)
    assert file == str(path)
    assert "aliases expand to more than 1,000,000 nodes" in message
    assert elapsed < 1.0
    assert peak < 2**20


def test_a_self_containing_alias_is_refused() -> None:
    with pytest.raises(ManifestError) as exc:
        parse_yaml("kind: model\nattributes: &a {loop: *a}\n", "m.yaml")
    assert only_problem(exc) == (
        "m.yaml",
        "",
        "refused: an alias refers to a node that contains it",
    )


def test_absurd_nesting_is_refused_and_reasonable_nesting_is_not() -> None:
    deep = MAX_DEPTH + 1
    with pytest.raises(ManifestError) as exc:
        parse_yaml("[" * deep + "]" * deep, "m.yaml")
    assert f"nested more than {MAX_DEPTH} levels deep" in only_problem(exc)[2]
    fine = MAX_DEPTH - 1
    assert parse_yaml("[" * fine + "]" * fine, "m.yaml") is not None


def test_ordinary_aliases_still_work() -> None:
    text = "defaults: &d {threads: 2}\na: *d\nb: {<<: *d, batch: 4}\n"
    assert parse_yaml(text, "m.yaml") == {
        "defaults": {"threads": 2},
        "a": {"threads": 2},
        "b": {"threads": 2, "batch": 4},
    }


def test_a_wide_document_below_the_limit_is_read() -> None:
    # 100 x 100 aliases: 10,000 leaves, far from the limit.
    text = "a: &a [" + ", ".join(["1"] * 100) + "]\nb: [" + ", ".join(["*a"] * 100) + "]\n"
    assert len(parse_yaml(text, "m.yaml")["b"]) == 100


def test_malformed_yaml_names_line_and_column() -> None:
    with pytest.raises(ManifestError) as exc:
        parse_yaml("a: [1,\nb: 2\n", "m.yaml")
    file, where, message = only_problem(exc)
    assert file == "m.yaml"
    assert where.startswith("line ")
    assert message.startswith("malformed YAML")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "reef.yaml"
    os.mkfifo(fifo)
    started = time.perf_counter()
    with pytest.raises(ManifestError) as exc:
        read_yaml(fifo)
    assert time.perf_counter() - started < 1.0
    assert only_problem(exc) == (str(fifo), "", "is a FIFO; the manifest must be a regular file")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/dev/zero", "is a character device; the manifest must be a regular file"),
        ("/dev/null", "is a character device; the manifest must be a regular file"),
    ],
)
def test_devices_are_refused(path: str, message: str) -> None:
    if not Path(path).exists():
        pytest.skip(f"{path} does not exist here")
    with pytest.raises(ManifestError) as exc:
        read_yaml(Path(path))
    assert only_problem(exc) == (path, "", message)


def test_a_directory_a_symlink_loop_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as exc:
        read_yaml(tmp_path)
    assert only_problem(exc)[2] == "is a directory; the manifest must be a regular file"
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    with pytest.raises(ManifestError) as exc:
        read_yaml(tmp_path / "a.yaml")
    assert "symlink loop" in only_problem(exc)[2]
    with pytest.raises(ManifestError) as exc:
        read_yaml(tmp_path / "absent.yaml")
    assert only_problem(exc)[2] == "file not found"


def test_an_oversized_manifest_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "reef.yaml"
    with path.open("wb") as f:
        f.truncate(40 * 2**20)  # sparse: costs no disk
    with pytest.raises(ManifestError) as exc:
        read_yaml(path)
    message = only_problem(exc)[2]
    assert "40.0 MiB" in message
    assert "32.0 MiB" in message
