"""Every command that writes a path the user names (``-o``, ``--export``, ``--trace-export``)
writes only a regular file or a new name: a device node, a FIFO or a folder is refused with
exit 2 and left as it was; a full disk is exit 3, naming the path, with the earlier file kept."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import InProcessReef
from e2e_support import assert_usage_error, make_device, make_fifo, make_folder
from stored_runs import pareto_runs, seed_home


@pytest.fixture(scope="module")
def runs_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_home(tmp_path_factory.mktemp("outputs") / "reef-home", pareto_runs())


@pytest.fixture
def seeded(cli: InProcessReef, runs_home: Path) -> InProcessReef:
    shutil.copytree(runs_home, cli.home)
    return cli


SPECIAL = [
    pytest.param(make_device, "is a character device", id="device"),
    pytest.param(make_fifo, "is a FIFO", id="fifo"),
    pytest.param(make_folder, "is a directory", id="folder"),
]

COMMANDS = [
    pytest.param(lambda out: ["report", "-o", str(out)], "report.html", id="report"),
    pytest.param(lambda out: ["report", "-o", str(out)], "report.md", id="report-md"),
    pytest.param(lambda out: ["plot", "cdf", "-o", str(out)], "plot.svg", id="plot"),
    pytest.param(lambda out: ["trace", "abc", "--export", str(out)], "t.json", id="trace"),
    pytest.param(
        lambda out: ["bench", "digits-classifier", "--trace", "model", "--trace-export", str(out)],
        "t.json",
        id="bench-trace-export",
    ),
]


@pytest.mark.parametrize(("make", "says"), SPECIAL)
@pytest.mark.parametrize(("args", "name"), COMMANDS)
def test_a_special_output_path_is_refused_and_left_alone(
    seeded: InProcessReef,
    tmp_path: Path,
    make: Callable[[Path], Path],
    says: str,
    args: Callable[[Path], list[str]],
    name: str,
) -> None:
    target = make(tmp_path / name)
    mode = os.lstat(target).st_mode
    runs_before = seeded.run_dirs()
    result = seeded(*args(target))
    assert_usage_error(result, str(target), says, "regular file or a new name")
    assert os.lstat(target).st_mode == mode
    assert seeded.run_dirs() == runs_before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_link_to_a_device_is_refused_too(seeded: InProcessReef, tmp_path: Path) -> None:
    device = make_device(tmp_path / "null")
    link = tmp_path / "report.html"
    link.symlink_to(device)
    assert_usage_error(seeded("report", "-o", str(link)), "is a character device")
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_a_link_to_a_regular_file_writes_that_file(seeded: InProcessReef, tmp_path: Path) -> None:
    real = tmp_path / "real.svg"
    real.write_text("old")
    link = tmp_path / "link.svg"
    link.symlink_to(real)
    seeded.ok("plot", "cdf", "-o", str(link))
    assert link.is_symlink()
    assert real.read_text().startswith("<svg")


def test_a_report_figures_folder_that_is_a_file_is_refused(
    seeded: InProcessReef, tmp_path: Path
) -> None:
    (tmp_path / "r_figures").write_text("mine")
    result = seeded("report", "-o", str(tmp_path / "r.md"))
    assert_usage_error(result, "r_figures", "is a file")
    assert (tmp_path / "r_figures").read_text() == "mine"
    assert not (tmp_path / "r.md").exists()


def test_a_full_disk_is_exit_3_and_keeps_the_earlier_file(
    seeded: InProcessReef, tmpfs: Callable[..., Path]
) -> None:
    disk = tmpfs("8k")
    report = disk / "report.html"
    report.write_text("earlier report")
    result = seeded("report", "-o", str(report))
    assert result.rc == 3, str(result)
    assert "Traceback" not in result.stderr
    assert result.says(str(report), "cannot write", "no space left on device")
    assert report.read_text() == "earlier report"
    assert sorted(p.name for p in disk.iterdir()) == ["report.html"]


def test_a_read_only_folder_is_refused_before_any_work(
    seeded: InProcessReef, tmpfs: Callable[..., Path]
) -> None:
    disk = tmpfs("1m", read_only=True)
    result = seeded("plot", "cdf", "-o", str(disk / "p.svg"))
    assert_usage_error(result, str(disk / "p.svg"), "read-only file system")


def test_a_report_of_a_run_with_a_very_long_name_names_its_figures_safely(
    cli: InProcessReef, tmp_path: Path
) -> None:
    # Recorded before names were capped at 100 characters: the store still holds such runs.
    record = pareto_runs()[0]
    record.target.name = "m" * 5000
    seed_home(cli.home, [record])
    result = cli.ok("report", "-o", str(tmp_path / "r.md"), "--json")
    figures = [Path(p) for p in result.json()["figures"]]
    assert figures and all(p.is_file() and len(p.name) <= 100 for p in figures)
    assert len({p.name for p in figures}) == len(figures)
