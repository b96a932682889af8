"""Issue 14, item 6: `reef cache list|clean` over solution steps, fetched sources and
environments: --kind, --all, --unused-for, --dry-run, sizes, and the leftovers of killed
processes; bad requests exit 2 with one line and remove nothing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from cli_support import InProcessReef
from e2e_support import assert_json_error, assert_usage_error

SOURCE = "a" * 64
ENV = "b" * 64
DEAD = f"{2**22 + 1234}@1000"  # no live process has this id


@pytest.fixture
def cached(cli: InProcessReef) -> InProcessReef:
    """A cache holding one fetched source (10 days unused), one environment and a half
    download a killed process left."""
    cache = cli.home / "cache"
    (cache / "envs" / ENV / "bin").mkdir(parents=True)
    (cache / SOURCE).write_bytes(b"x" * 2048)
    then = time.time() - 10 * 86400
    os.utime(cache / SOURCE, (then, then))
    (cache / "envs" / ENV / "bin" / "python").write_bytes(b"\0" * 1024)
    marker = {
        "hash": ENV,
        "site": "lib",
        "installer": "pip",
        "python": {"implementation": "cpython", "version": "3.11.7"},
        "packages": {"numpy": "2.0.0"},
        "created_at": "2025-03-01T12:00:00+00:00",
    }
    (cache / "envs" / ENV / "reef-env.json").write_text(json.dumps(marker))
    (cache / f".partial-{DEAD}-x").write_bytes(b"z" * 512)
    return cli


def test_list(cached: InProcessReef) -> None:
    result = cached.ok("cache", "list")
    assert "sources" in result.stdout and "cpython 3.11.7, 1 packages, pip" in result.stdout
    assert "2.0 KiB" in result.stdout
    assert result.says("1 fetched source, 1 environment: 3.2 KiB")
    listed = cached.ok("cache", "list", "--json").json()
    assert [(i["kind"], i["key"]) for i in listed] == [("sources", SOURCE), ("envs", ENV)]
    assert listed[0]["size_bytes"] == 2048
    assert listed[1]["complete"] is True and listed[1]["in_use_by"] == []
    only = cached.ok("cache", "list", "--kind", "environments", "--json").json()
    assert [i["kind"] for i in only] == ["envs"]


def test_clean_dry_run_then_for_real(cached: InProcessReef) -> None:
    cache = cached.home / "cache"
    dry = cached.ok("cache", "clean", "--unused-for", "7", "--dry-run")
    assert f"would remove sources {SOURCE[:12]}" in dry.stdout
    assert "would remove leftover download" in dry.stdout
    assert dry.says("would remove 1 item, 2.0 KiB, and 512 B left by killed processes")
    assert (cache / SOURCE).exists() and (cache / f".partial-{DEAD}-x").exists()

    data = cached.ok("cache", "clean", "--unused-for", "7", "--json").json()
    assert data["dry_run"] is False
    assert [i["key"] for i in data["removed"]] == [SOURCE]
    assert data["freed_bytes"] == 2048 and data["leftover_bytes"] == 512
    assert data["kept"] == []
    assert not (cache / SOURCE).exists() and not (cache / f".partial-{DEAD}-x").exists()
    assert (cache / "envs" / ENV).is_dir()  # used recently

    cached.ok("cache", "clean", "--all", "--kind", "envs")
    assert sorted(p.name for p in (cache / "envs").iterdir()) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), ("say what to remove", "--all, --unused-for DAYS or --solution NAME")),
        (("--unused-for", "-1"), ("--unused-for: expected a number of days >= 0, got -1.0",)),
        (("--all", "--kind", "wheels"), ("--kind: unknown kind 'wheels'", "steps, sources, envs")),
        (("--solution", "x", "--kind", "envs"), ("--solution applies to cached steps",)),
    ],
)
def test_bad_requests_remove_nothing(
    cached: InProcessReef, args: tuple[str, ...], says: tuple[str, ...]
) -> None:
    before = sorted(str(p) for p in (cached.home / "cache").rglob("*"))
    result = cached("cache", "clean", *args)
    assert_usage_error(result, *says)
    assert result.stdout == ""
    assert_json_error(cached("cache", "clean", *args, "--json"), says[0])
    assert sorted(str(p) for p in (cached.home / "cache").rglob("*")) == before


def test_help_names_the_kinds(cli: InProcessReef) -> None:
    for command in ("list", "clean"):
        assert "[steps|sources|envs]" in cli.ok("cache", command, "--help").stdout


def test_the_listing_of_an_unknown_kind_is_refused(cli: InProcessReef, tmp_path: Path) -> None:
    result = cli("cache", "list", "--kind", "wheels")
    assert_usage_error(result, "--kind: unknown kind 'wheels'")
