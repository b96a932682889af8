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
