"""`reef --help` must stay instant: heavy libraries are imported by the commands that use them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "onnxruntime", "onnx", "sqlalchemy", "alembic", "pydantic", "mlperf_loadgen")


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from reef.cli import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('heavy:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out == "heavy:", f"reef --help imported: {out}"


def test_version_flag() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "reef", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("reef ")


def test_version_imports_nothing_beyond_the_standard_library() -> None:
    """``reef --version`` answers from ``reef/__init__.py`` alone: no CLI, no third-party
    package, not even importlib.metadata."""
    code = (
        "import sys; from reef.__main__ import main; sys.argv = ['reef', '--version']; "
        "before = set(sys.modules); main(); "
        "new = sorted(m for m in set(sys.modules) - before); print('new:', *new)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    import reef

    assert out == [f"reef {reef.__version__}", "new:"]
    watched = ("reef", "importlib.metadata", "typer", "click", "rich", "pydantic")
    code = (
        "import sys; import reef.__main__; "
        f"print(*sorted(m for m in sys.modules if m.startswith({watched!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == ["reef", "reef.__main__"]
