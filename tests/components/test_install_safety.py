"""Installing hostile or broken packs: each is refused with a clear error, and nothing is
written anywhere (no installed/, no repos.json, no cache file, no staging folder)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import random
import tarfile
import time
import tracemalloc
import zlib
from collections.abc import Iterable
from pathlib import Path

import pytest

from reef.components.content import format_listing
from reef.components.lockfile import lock_bytes
from reef.components.lookup import find
from reef.components.pack import MAX_LOCK_BYTES, MAX_SUMS_BYTES, SUMS, install
from reef.errors import EXIT_USAGE, ReefError
from reef.meta.common import Source
from reef.meta.lock import Lock, LockedComponent

PREFIX = "components/tiny/1.0.0/"
TINY = {
    "reef.yaml": b"kind: program\nname: tiny\nversion: 1.0.0\ncommand: [echo, hi]\n",
    "data/values.txt": b"1 2 3\n",
}
Member = tuple[tarfile.TarInfo, bytes | None]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tiny_lock(
    files: dict[str, bytes] = TINY, sources: Iterable[Source] = (), kind: str = "program"
) -> Lock:
    content = format_listing(
        sorted(((sha(d), rel) for rel, d in files.items()), key=lambda e: e[1])
    )
    locked = LockedComponent(
        kind=kind,
        name="tiny",
        version="1.0.0",
        repository="lab",
        repository_location="/somewhere/lab",
        path="tiny/reef.yaml",
        sha256=sha(content.encode()),
        sources=list(sources),
    )
    return Lock(target="tiny", root="tiny", components=[locked])


def pack_files(files: dict[str, bytes] = TINY, lock: Lock | None = None) -> dict[str, bytes]:
    """The regular members of a well-formed pack of ``tiny``, SHA256SUMS aside."""
    out = {"reef.lock": lock_bytes(lock or tiny_lock(files))}
    out.update({PREFIX + rel: data for rel, data in files.items()})
    return out


def sums_of(files: dict[str, bytes]) -> bytes:
    return "".join(f"{sha(files[n])}  {n}\n" for n in sorted(files)).encode()


def regular(name: str, data: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def write_tar(path: Path, members: Iterable[Member]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def write_pack(
    path: Path,
    files: dict[str, bytes] | None = None,
    *,
    sums: bytes | None = None,
    extra: Iterable[Member] = (),
    with_sums: bool = True,
) -> Path:
    """A pack of ``files`` (default: a good pack of tiny) with SHA256SUMS over them unless
    ``sums`` is given, then the ``extra`` members."""
    files = pack_files() if files is None else files
    members = [regular(n, d) for n, d in sorted(files.items())]
    if with_sums:
        members.append(regular(SUMS, sums_of(files) if sums is None else sums))
    return write_tar(path, [*members, *extra])


@pytest.fixture
def home(reef_home: Path) -> Path:
    assert not list(reef_home.iterdir())
    return reef_home


def refused(pack: Path, home: Path, *expected: str, **limits: int) -> str:
    """Install ``pack``, expect a ReefError whose message holds every ``expected`` text, and
    check that REEF_HOME is still empty; returns the message."""
    with pytest.raises(ReefError) as info:
        install(pack, **limits)  # type: ignore[arg-type]
    message = info.value.message
    for text in expected:
        assert text in message, message
    assert info.value.exit_code == EXIT_USAGE
    assert sorted(os.listdir(home)) == [], "install wrote to REEF_HOME before refusing"
    return message


def test_the_crafted_pack_installs(tmp_path: Path, home: Path) -> None:
    """The baseline the bad packs below are variations of."""
    report = install(write_pack(tmp_path / "p.reef.tar.gz"))
    assert [(c.name, c.status) for c in report.components] == [("tiny", "installed")]
    assert find("tiny").repository == "installed"
    assert sorted(os.listdir(home)) == ["index", "installed", "repos.json"]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("/etc/evil", "absolute"),
        ("../evil", "'..'"),
        (PREFIX + "../../../../evil", "'..'"),
        ("components\\tiny\\evil", "backslash"),
        (PREFIX + "a//b", "empty"),
        (PREFIX + "./b", "'.'"),
        (PREFIX + "new\nline", "control character"),
        (PREFIX + "x" * 256, "longer than 255 bytes"),
        (PREFIX + "\u00e9" * 128, "longer than 255 bytes"),  # 128 characters, 256 bytes
        (PREFIX + "/".join(["d" * 200] * 21), "longer than 4096 bytes"),
        (PREFIX + "bad\udcff", "not UTF-8"),
    ],
)
def test_odd_names_are_refused(tmp_path: Path, home: Path, name: str, why: str) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz", extra=[regular(name, b"x")])
    refused(pack, home, repr(name), why)


def test_a_name_with_a_nul_byte_is_refused(tmp_path: Path, home: Path) -> None:
    # tarfile cuts names at NUL in classic headers; a pax header carries it whole.
    info, data = regular(PREFIX + "a\x00b", b"x")
    info.pax_headers = {"path": PREFIX + "a\x00b"}
    pack = write_pack(tmp_path / "p.reef.tar.gz", extra=[(info, data)])
    refused(pack, home, "NUL")


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (special(PREFIX + "link", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link"),
        (special(PREFIX + "hard", tarfile.LNKTYPE, PREFIX + "reef.yaml"), "hard link"),
        (special(PREFIX + "tty", tarfile.CHRTYPE), "device"),
        (special(PREFIX + "disk", tarfile.BLKTYPE), "device"),
        (special(PREFIX + "pipe", tarfile.FIFOTYPE), "FIFO"),
    ],
)
def test_links_devices_and_fifos_are_refused(
    tmp_path: Path, home: Path, member: Member, why: str
) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz", extra=[member])
    refused(pack, home, repr(member[0].name), why)


def test_too_many_members(tmp_path: Path, home: Path) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz")  # 4 members
    refused(pack, home, "more than 3 members", max_files=3)
    assert install(pack, max_files=4).components[0].status == "installed"


def test_too_many_bytes(tmp_path: Path, home: Path) -> None:
    big = pack_files({**TINY, "blob.bin": b"\x00" * 10_000})
    pack = write_pack(tmp_path / "p.reef.tar.gz", big)
    refused(pack, home, "more than 5000 bytes", repr(PREFIX + "blob.bin"), max_bytes=5000)


def test_a_declared_size_counts_before_anything_is_read(tmp_path: Path, home: Path) -> None:
    """A header claiming a huge member is refused from its header alone."""
    info, _ = regular(PREFIX + "huge", b"")
    info.size = 1 << 40
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as gz:
        gz.write(info.tobuf(tarfile.PAX_FORMAT))
    pack = tmp_path / "p.reef.tar.gz"
    pack.write_bytes(raw.getvalue())
    refused(pack, home, "declare more than", repr(PREFIX + "huge"))


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9])
def test_a_truncated_pack(tmp_path: Path, home: Path, fraction: float) -> None:
    files = pack_files({**TINY, "noise.bin": random.Random(1).randbytes(50_000)})
    good = write_pack(tmp_path / "good.reef.tar.gz", files).read_bytes()
    pack = tmp_path / "p.reef.tar.gz"
    pack.write_bytes(good[: int(len(good) * fraction)])
    refused(pack, home, str(pack))


@pytest.mark.parametrize(
    "content",
    [
        random.Random(7).randbytes(4096),
        b"",
        b"\x1f\x8b" + random.Random(8).randbytes(100),  # a gzip magic, then garbage
        gzip.compress(b"plain text, not a tar archive\n" * 50),
    ],
    ids=["random", "empty", "bad-gzip", "gzip-not-tar"],
)
def test_not_a_pack_at_all(tmp_path: Path, home: Path, content: bytes) -> None:
    pack = tmp_path / "p.reef.tar.gz"
    pack.write_bytes(content)
    refused(pack, home, str(pack))


def test_an_uncompressed_tar_is_refused(tmp_path: Path, home: Path) -> None:
    pack = tmp_path / "p.reef.tar.gz"
    with tarfile.open(pack, "w") as tar:
        for name, data in sorted(pack_files().items()):
            info, _ = regular(name, data)
            tar.addfile(info, io.BytesIO(data))
    refused(pack, home, str(pack), "not a readable .tar.gz")


def test_a_missing_file_is_refused(tmp_path: Path, home: Path) -> None:
    refused(tmp_path / "nowhere.reef.tar.gz", home, "nowhere.reef.tar.gz", "cannot open")


def test_garbage_after_the_archive_is_refused(tmp_path: Path, home: Path) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz")
    pack.write_bytes(pack.read_bytes() + gzip.compress(b"trailing junk" * 10_000))
    refused(pack, home, "after the end of the archive")


def test_missing_sums(tmp_path: Path, home: Path) -> None:
    refused(write_pack(tmp_path / "p.reef.tar.gz", with_sums=False), home, "has no SHA256SUMS")


def test_missing_lock(tmp_path: Path, home: Path) -> None:
    files = pack_files()
    del files["reef.lock"]
    refused(write_pack(tmp_path / "p.reef.tar.gz", files), home, "has no reef.lock")


def test_a_member_not_listed_in_sums(tmp_path: Path, home: Path) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz", extra=[regular(PREFIX + "stowaway", b"x")])
    refused(pack, home, repr(PREFIX + "stowaway"), "not listed in SHA256SUMS")


def test_a_listed_file_missing(tmp_path: Path, home: Path) -> None:
    files = pack_files()
    listed = sums_of({**files, PREFIX + "gone.txt": b"gone"})
    pack = write_pack(tmp_path / "p.reef.tar.gz", files, sums=listed)
    refused(pack, home, repr(PREFIX + "gone.txt"), "does not hold")


def test_malformed_sums(tmp_path: Path, home: Path) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz", sums=b"not a checksum line\n")
    refused(pack, home, "SHA256SUMS line 1")


def test_a_tampered_member(tmp_path: Path, home: Path) -> None:
    """The listing and the lock agree; the bytes do not: found while copying, then undone."""
    good = pack_files()
    tampered = {**good, PREFIX + "data/values.txt": b"6 6 6\n"}
    pack = write_pack(tmp_path / "p.reef.tar.gz", tampered, sums=sums_of(good))
    refused(pack, home, repr(PREFIX + "data/values.txt"), "does not match SHA256SUMS")


def test_a_tampered_lock(tmp_path: Path, home: Path) -> None:
    good = pack_files()
    changed = {**good, "reef.lock": good["reef.lock"].replace(b'"tiny"', b'"tini"', 1)}
    pack = write_pack(tmp_path / "p.reef.tar.gz", changed, sums=sums_of(good))
    refused(pack, home, "'reef.lock'", "does not match SHA256SUMS")


def test_content_that_does_not_match_the_lock(tmp_path: Path, home: Path) -> None:
    other = {**TINY, "data/values.txt": b"4 5 6\n"}
    files = pack_files(TINY, lock=tiny_lock(other))
    pack = write_pack(tmp_path / "p.reef.tar.gz", files)
    refused(pack, home, "components/tiny/1.0.0", tiny_lock(other).components[0].sha256)


def test_a_component_the_lock_does_not_pin(tmp_path: Path, home: Path) -> None:
    files = {**pack_files(), "components/other/2.0.0/reef.yaml": b"kind: program\n"}
    pack = write_pack(tmp_path / "p.reef.tar.gz", files)
    refused(pack, home, "'components/other/2.0.0/reef.yaml'", "does not pin")


def test_a_member_outside_the_layout(tmp_path: Path, home: Path) -> None:
    files = {**pack_files(), "install.sh": b"rm -rf /\n"}
    refused(write_pack(tmp_path / "p.reef.tar.gz", files), home, "'install.sh'", "no place")


def test_a_hidden_member(tmp_path: Path, home: Path) -> None:
    files = {**pack_files(), PREFIX + ".git/config": b"[core]\n"}
    refused(write_pack(tmp_path / "p.reef.tar.gz", files), home, repr(PREFIX + ".git/config"))


def test_a_nested_component_smuggled_in(tmp_path: Path, home: Path) -> None:
    """Files of a nested component are not content, so the lock's hash would not cover them."""
    nested = {"sub/reef.yaml": b"kind: program\nname: smuggled\nversion: 1.0.0\ncommand: [x]\n"}
    files = {**pack_files(), **{PREFIX + k: v for k, v in nested.items()}}
    pack = write_pack(tmp_path / "p.reef.tar.gz", files)
    refused(pack, home, repr(PREFIX + "sub/reef.yaml"), "nested")


def test_a_duplicate_member(tmp_path: Path, home: Path) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz", extra=[regular(PREFIX + "reef.yaml", b"x")])
    refused(pack, home, repr(PREFIX + "reef.yaml"), "twice")


def test_a_file_under_a_file(tmp_path: Path, home: Path) -> None:
    files = {**pack_files(), PREFIX + "data/values.txt/inner": b"x"}
    pack = write_pack(tmp_path / "p.reef.tar.gz", files)
    refused(pack, home, repr(PREFIX + "data/values.txt/inner"), "under the file")


def test_a_file_named_like_a_folder(tmp_path: Path, home: Path) -> None:
    pack = write_pack(tmp_path / "p.reef.tar.gz", extra=[regular(PREFIX + "data", b"x")])
    refused(pack, home, repr(PREFIX + "data"), "both a file and a folder")


def test_a_source_that_is_not_the_file_named(tmp_path: Path, home: Path) -> None:
    real = b"weights"
    lock = tiny_lock(sources=[Source(url="https://example.org/w", sha256=sha(real))])
    files = {**pack_files(lock=lock), f"sources/{sha(real)}": b"other bytes"}
    pack = write_pack(tmp_path / "p.reef.tar.gz", files)
    refused(pack, home, repr(f"sources/{sha(real)}"))


def test_a_missing_source(tmp_path: Path, home: Path) -> None:
    lock = tiny_lock(sources=[Source(url="https://example.org/w", sha256=sha(b"w"))])
    pack = write_pack(tmp_path / "p.reef.tar.gz", pack_files(lock=lock))
    refused(pack, home, "https://example.org/w", "not in the pack")


def test_an_unknown_source(tmp_path: Path, home: Path) -> None:
    files = {**pack_files(), f"sources/{sha(b'x')}": b"x"}
    refused(write_pack(tmp_path / "p.reef.tar.gz", files), home, f"sources/{sha(b'x')}")


def test_a_bad_lock(tmp_path: Path, home: Path) -> None:
    files = {**pack_files(), "reef.lock": b'{"lock_version": 1, "target": "x"}'}
    refused(write_pack(tmp_path / "p.reef.tar.gz", files), home, "reef.lock")


def test_nothing_is_created_when_reef_home_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even the failures found while copying leave no REEF_HOME behind."""
    home = tmp_path / "no-home-yet"
    monkeypatch.setenv("REEF_HOME", str(home))
    good = pack_files()
    tampered = {**good, PREFIX + "reef.yaml": good[PREFIX + "reef.yaml"] + b"# evil\n"}
    pack = write_pack(tmp_path / "p.reef.tar.gz", tampered, sums=sums_of(good))
    with pytest.raises(ReefError):
        install(pack)
    assert not home.exists()


def test_a_name_the_file_system_refuses_is_a_clean_error(tmp_path: Path, home: Path) -> None:
    """A name within the limits that is still too long once under REEF_HOME: refused with
    exit 2 and the staging folder removed, not an OSError."""
    rel = "/".join(["d" * 250] * 16) + "/f"
    rel = rel[: 4096 - len(PREFIX)]
    files = pack_files({**TINY, rel: b"x"})
    message = refused(write_pack(tmp_path / "p.reef.tar.gz", files), home, "cannot unpack")
    assert "too long" in message


# -- members read into memory --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "limit", "text"), [("reef.lock", MAX_LOCK_BYTES, "4 MiB"), (SUMS, MAX_SUMS_BYTES, "")]
)
def test_an_oversized_lock_or_sums_is_refused_from_its_size(
    tmp_path: Path, home: Path, name: str, limit: int, text: str
) -> None:
    files = pack_files()
    extra: list[Member] = []
    if name == SUMS:
        extra = [regular(SUMS, sums_of(files).ljust(limit + 1, b"\n"))]
    else:
        files[name] = files[name].ljust(limit + 1)
    pack = write_pack(tmp_path / "p.reef.tar.gz", files, extra=extra, with_sums=name != SUMS)
    message = refused(pack, home, repr(name), str(limit + 1), f"{limit >> 20} MiB", text)
    assert "at most" in message


@functools.cache
def _inflated_zeros(size: int) -> bytes:
    """A gzip member of ``size`` zero bytes: a few hundred KiB for hundreds of MB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size >> 20)]
    return b"".join([*parts, packer.flush()])


def _header(name: str, kind: bytes, size: int) -> bytes:
    """A raw ustar header declaring ``size`` bytes of data: its data may then be anything."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    return info.tobuf(tarfile.USTAR_FORMAT)


@pytest.mark.parametrize(
    "kind", [tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK]
)
def test_a_huge_extended_header_is_refused_quickly_in_little_memory(
    tmp_path: Path, home: Path, kind: bytes
) -> None:
    """tarfile reads such a header's data whole: 200 MB of zeros behind 200 KB of gzip."""
    size = 200 << 20
    pack = tmp_path / "p.reef.tar.gz"
    # Two gzip members in one file read as one stream, as gzip itself reads them.
    pack.write_bytes(gzip.compress(_header("././@Header", kind, size)) + _inflated_zeros(size))
    assert pack.stat().st_size < 1 << 20
    tracemalloc.start()
    started = time.monotonic()
    try:
        message = refused(pack, home, str(pack), "header")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 16 << 20, f"{peak} bytes allocated to refuse it"
    assert "1 MiB" in message


def test_extended_headers_add_up(tmp_path: Path, home: Path) -> None:
    """Headers each under the read limit still may not outgrow what the members declare."""
    data = b"".join(
        _header(f"././@Header{i}", tarfile.XGLTYPE, 512 << 10) + bytes(512 << 10) for i in range(4)
    )
    pack = tmp_path / "p.reef.tar.gz"
    pack.write_bytes(gzip.compress(data + bytes(2 * tarfile.BLOCKSIZE)))
    refused(pack, home, "tar headers hold more data")


def test_long_names_fit_in_the_header_allowance(tmp_path: Path, home: Path) -> None:
    """Every member with a name of 2,000 characters (a pax header each) still installs."""
    long = {"/".join([f"{i}" * 250] * 8): f"{i}".encode() for i in range(1, 6)}
    files = pack_files({**TINY, **long})
    with tarfile.open(tmp_path / "p.reef.tar.gz", "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in [*sorted(files.items()), (SUMS, sums_of(files))]:
            tar.addfile(regular(name, data)[0], io.BytesIO(data))
    report = install(tmp_path / "p.reef.tar.gz")
    assert [c.status for c in report.components] == ["installed"]


# -- a model's own dataset -----------------------------------------------------------------

MODEL = {
    "reef.yaml": b"kind: model\nname: tiny\nversion: 1.0.0\ndataset: data\n",
    "model.onnx": b"onnx",
    "data/reef.yaml": b"kind: dataset\nname: tiny-data\nversion: 1.0.0\n",
    "data/d.npz": b"npz",
}


def test_a_models_dataset_folder_installs(tmp_path: Path, home: Path) -> None:
    files = pack_files(MODEL, lock=tiny_lock(MODEL, kind="model"))
    install(write_pack(tmp_path / "p.reef.tar.gz", files))
    installed = home / "installed" / "tiny" / "1.0.0"
    assert (installed / "data" / "d.npz").read_bytes() == b"npz"


@pytest.mark.parametrize(
    ("changed", "member"),
    [
        ({"sub/reef.yaml": b"kind: program\n"}, "data/d.npz"),  # which one is the dataset?
        ({"data/in/reef.yaml": b"kind: program\n"}, "data/in/reef.yaml"),  # nested in the data
    ],
)
def test_a_model_holds_one_nested_folder(
    tmp_path: Path, home: Path, changed: dict[str, bytes], member: str
) -> None:
    content = {**MODEL, **changed}
    files = pack_files(content, lock=tiny_lock(content, kind="model"))
    refused(write_pack(tmp_path / "p.reef.tar.gz", files), home, repr(PREFIX + member), "nested")


def test_a_models_nested_folder_must_be_the_dataset_it_names(tmp_path: Path, home: Path) -> None:
    """Told apart only once the manifest is read: while staging, which is then removed."""
    content = {**MODEL, "reef.yaml": MODEL["reef.yaml"].replace(b"data\n", b"digits\n")}
    files = pack_files(content, lock=tiny_lock(content, kind="model"))
    pack = write_pack(tmp_path / "p.reef.tar.gz", files)
    refused(pack, home, repr(PREFIX + "data/d.npz"), "not in the dataset folder")


def test_a_program_holds_no_dataset_folder(tmp_path: Path, home: Path) -> None:
    content = {**MODEL, "reef.yaml": MODEL["reef.yaml"].replace(b"model", b"program")}
    files = pack_files(content, lock=tiny_lock(content))
    refused(write_pack(tmp_path / "p.reef.tar.gz", files), home, "nested")
