"""Program and shell steps: a command run in the step's output folder, its output logged.

Both run code a component ships, so both run only from a trusted component: the engine's
caller refuses an untrusted one before any step runs, and the check is repeated here. The
command sees its folders through the environment: ``REEF_STEP_OUT`` (its output folder,
also its working directory), ``REEF_SOLUTION_DIR``, ``REEF_PYTHON`` (the interpreter of the
solution's environment, whose ``bin`` is first on ``PATH``) and ``REEF_STEP_<NAME>_OUT`` for
each step it needs. A ``metrics.json`` of numbers it writes becomes the step's metrics.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from reef.errors import ReefError
from reef.meta.component import ProgramManifest
from reef.meta.load import load_manifest
from reef.solutions.engine import StepContext, StepFailed, StepResult

METRICS_FILE = "metrics.json"
MAX_ARTIFACTS = 200


def shell_step(ctx: StepContext) -> StepResult:
    params = dict(ctx.params)
    command = params.pop("run", None)
    timeout = params.pop("timeout_s", None)
    env = params.pop("env", {})
    _no_other_params(ctx, params, "run, env, timeout_s")
    if not isinstance(command, str) or not command.strip():
        raise ReefError(f"step {ctx.spec.name!r}: a shell step needs `with: {{run: COMMAND}}`")
    if not ctx.solution.trusted:
        raise StepFailed(f"step {ctx.spec.name!r}: {ctx.solution.label} is not trusted")
    return _run(ctx, ["bash", "-eo", "pipefail", "-c", command], _env(env), timeout)


def program_step(ctx: StepContext) -> StepResult:
    from reef.components.trust import ensure_trusted

    manifest_path = ctx.solution.programs[ctx.spec.uses]
    ensure_trusted(f"program {ctx.spec.uses!r}", manifest_path, "run its command")
    manifest = load_manifest(manifest_path)
    assert isinstance(manifest, ProgramManifest)
    params = dict(ctx.params)
    args = params.pop("args", [])
    env = params.pop("env", {})
    timeout = params.pop("timeout_s", None)
    _no_other_params(ctx, params, "args, env, timeout_s")
    if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
        raise ReefError(f"step {ctx.spec.name!r}: `args` must be a list of strings")
    folder = str(manifest_path.parent)
    argv = [
        part.replace("{dir}", folder).replace("{python}", ctx.solution.python)
        for part in manifest.command
    ] + [str(a) for a in args]
    return _run(ctx, argv, {**manifest.env, **_env(env)}, timeout)


def _no_other_params(ctx: StepContext, params: dict[str, Any], allowed: str) -> None:
    if params:
        raise ReefError(
            f"step {ctx.spec.name!r}: unknown parameter(s) {', '.join(sorted(params))} "
            f"(a {ctx.spec.uses} step takes {allowed})"
        )


def _env(extra: Any) -> dict[str, str]:
    if not isinstance(extra, dict):
        raise ReefError("`env` must be a mapping of names to strings")
    return {str(k): str(v) for k, v in extra.items()}


def _run(ctx: StepContext, argv: list[str], extra_env: dict[str, str], timeout: Any) -> StepResult:
    env = dict(os.environ)
    python_bin = str(Path(ctx.solution.python).parent)
    env["PATH"] = python_bin + os.pathsep + env.get("PATH", "")
    env.update(
        {
            "REEF_STEP_OUT": str(ctx.out),
            "REEF_SOLUTION_DIR": str(ctx.solution.folder),
            "REEF_PYTHON": ctx.solution.python,
            "REEF_RUN_ID": ctx.run.id,
            # Python run from the solution's folder would write __pycache__ there, which
            # changes the solution's content and so every step's cache key.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    for name, record in ctx.needs.items():
        if record.out:
            env[f"REEF_STEP_{name.upper().replace('-', '_')}_OUT"] = record.out
    env.update(extra_env)
    ctx.log(f"$ {' '.join(argv)}")
    with ctx.log_path.open("ab") as log:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=ctx.out,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so that the whole tree can be stopped
            )
        except OSError as exc:
            raise StepFailed(f"step {ctx.spec.name!r}: cannot start {argv[0]}: {exc}") from exc
        try:
            code = proc.wait(timeout=float(timeout) if timeout is not None else None)
        except subprocess.TimeoutExpired as exc:
            _kill(proc)
            raise StepFailed(f"step {ctx.spec.name!r}: timed out after {timeout} s") from exc
        except BaseException:
            _kill(proc)
            raise
    if code != 0:
        raise StepFailed(f"step {ctx.spec.name!r}: {argv[0]} exited with status {code}")
    return StepResult(metrics=_metrics(ctx), artifacts=_artifacts(ctx.out))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _metrics(ctx: StepContext) -> dict[str, float]:
    path = ctx.out / METRICS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise StepFailed(f"step {ctx.spec.name!r}: {METRICS_FILE} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in data.values()
    ):
        raise StepFailed(f"step {ctx.spec.name!r}: {METRICS_FILE} must be an object of numbers")
    return {str(k): float(v) for k, v in data.items()}


def _artifacts(out: Path) -> dict[str, str]:
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    return {name: name for name in files[:MAX_ARTIFACTS]}
