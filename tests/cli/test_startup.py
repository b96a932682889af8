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


def test_the_static_top_help_is_what_the_cli_prints() -> None:
    """``reef --help`` prints ``reef._top_help.TEXT`` without importing the CLI; it must be
    exactly what the CLI would print. When a command or its help changes, regenerate it with
    ``python tools/build_top_help.py``."""
    from pathlib import Path

    tools = Path(__file__).resolve().parents[2] / "tools"
    sys.path.insert(0, str(tools))
    try:
        from build_top_help import rendered
    finally:
        sys.path.remove(str(tools))
    from reef._top_help import TEXT

    assert rendered() == TEXT, "stale: run python tools/build_top_help.py"


def test_help_answers_without_importing_the_cli() -> None:
    import os

    from reef._top_help import TEXT

    code = (
        "import sys; from reef.__main__ import main; sys.argv = ['reef', '--help']; main(); "
        "print('imported:', 'typer' in sys.modules or 'reef.cli' in sys.modules)"
    )

    def run(columns: str) -> str:
        env = {**os.environ, "COLUMNS": columns}
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True
        ).stdout

    for columns in ("100", "80"):
        assert run(columns) == TEXT + "imported: False\n"
    # Narrower than click's 80 columns: the CLI itself wraps the text (and exits).
    narrow = run("60")
    assert narrow.startswith("Usage: reef [OPTIONS] COMMAND [ARGS]...") and narrow != TEXT
    assert "imported:" not in narrow
