"""reef drift REFERENCE CURRENT: the table and verdict, --json, -o report.html (escaped),
exit 1 on drift and 0 on none, and every bad input refused with exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_support import InProcessReef


@pytest.fixture
def arrays(cli: InProcessReef) -> Path:
    rng = np.random.default_rng(0)
    work = cli.cwd
    np.savez(work / "ref.npz", features=rng.normal(size=(2000, 4)))
    np.save(work / "same.npy", rng.normal(size=(300, 4)))
    shifted = rng.normal(size=(300, 4))
    shifted[:, :3] += 1.0
    np.save(work / "shift.npy", shifted)
    return work


def test_no_drift_exits_0_with_the_table(cli: InProcessReef, arrays: Path) -> None:
    result = cli("drift", "ref.npz", "same.npy", "--alpha", "0.01")
    assert result.rc == 0, result.stderr
    for word in ("feature", "test", "statistic", "p-value", "drift", "f0", "ks"):
        assert word in result.stdout
    assert "no drift detected: 0 of 4 features drift" in result.stdout


def test_drift_exits_1(cli: InProcessReef, arrays: Path) -> None:
    result = cli("drift", "ref.npz", "shift.npy")
    assert result.rc == 1, result.stderr
    assert "drift detected: 3 of 4 features drift" in result.stdout


def test_json(cli: InProcessReef, arrays: Path) -> None:
    result = cli("drift", "ref.npz", "shift.npy", "--json", "--test", "psi")
    assert result.rc == 1
    data = result.json()
    assert data["result"]["drifted"] is True
    assert data["result"]["drifted_features"] == 3
    assert {f["test"] for f in data["result"]["features"]} == {"psi"}
    assert [r["method"] for r in data["result"]["reconstruction"]] == ["pca"]
    assert data["reference"].endswith("ref.npz")


def test_html_report_escapes_every_value(cli: InProcessReef) -> None:
    rng = np.random.default_rng(1)
    header = "<script>alert(1)</script>,b"
    rows = "\n".join(f"{a},{b}" for a, b in rng.normal(size=(200, 2)))
    (cli.cwd / "ref.csv").write_text(header + "\n" + rows + "\n")
    np.save(cli.cwd / "cur.npy", rng.normal(size=(100, 2)))
    result = cli("drift", "ref.csv", "cur.npy", "-o", "report.html", "--reconstruction", "none")
    assert result.rc == 0, result.stderr
    html = (cli.cwd / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "no drift detected" in html
    assert "report written to" in result.stderr


def test_a_dataset_component_as_the_reference(cli: InProcessReef) -> None:
    from reef.drift.data import load

    digits = load("digits").data
    np.save(cli.cwd / "cur.npy", digits[:200])
    result = cli("drift", "digits", "cur.npy", "--json")
    assert result.rc == 0, result.stdout + result.stderr
    assert result.json()["reference"] == "dataset digits@1.0.0"


def _bad(cli: InProcessReef, *args: str, message: str) -> None:
    result = cli("drift", *args, "-o", "out.html")
    assert result.rc == 2, (result.stdout, result.stderr)
    assert message in result.stderr, result.stderr
    assert not (cli.cwd / "out.html").exists()


def test_bad_input_exits_2_and_writes_nothing(cli: InProcessReef, arrays: Path) -> None:
    work = cli.cwd
    (work / "text.npy").write_text("not an array")
    _bad(cli, "ref.npz", "text.npy", message="text.npy: not a numeric array file")
    np.save(work / "wide.npy", np.zeros((10, 5)))
    _bad(cli, "ref.npz", "wide.npy", message="wide.npy: 5 features; the reference")
    nan = np.zeros((10, 4))
    nan[7, 2] = np.nan
    np.save(work / "nan.npy", nan)
    _bad(cli, "ref.npz", "nan.npy", message="nan.npy: column 2 row 7 is NaN")
    inf = np.zeros((10, 4))
    inf[3, 1] = np.inf
    np.save(work / "inf.npy", inf)
    _bad(cli, "ref.npz", "inf.npy", message="inf.npy: column 1 row 3 is infinite")
    np.save(work / "empty.npy", np.zeros((0, 4)))
    _bad(cli, "ref.npz", "empty.npy", message="empty.npy: the array is empty")
    _bad(cli, "ref.npz", "same.npy", "--test", "kl", message="--test: unknown test 'kl'")
    _bad(cli, "ref.npz", "same.npy", "--drift-share", "2", message="--drift-share")
    _bad(cli, "ref.npz", "missing.npy", message="missing.npy")
    _bad(cli, "no-such-dataset", "same.npy", message="no-such-dataset: no such file")
    np.save(work / "strings.npy", np.array([["a", "b"]]))
    _bad(cli, "ref.npz", "strings.npy", message="strings.npy: the array holds <U1 values")
    (work / "bad.csv").write_text("1,2,3,4\n1,x,3,4\n")
    _bad(cli, "ref.npz", "bad.csv", message="bad.csv: line 2: 'x' is not a number")
    _bad(cli, "ref.npz", "same.npy", "--key", "nope", message="--key applies to .npz files")
