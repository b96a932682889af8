"""Helpers for the whole-CLI tests: the real ``reef`` command in a subprocess, with its own
``REEF_HOME``; a tiny ONNX model and manifests for it. Fixtures are in ``conftest.py``."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CLI_TIMEOUT_S = 180
SHORT = ("--duration", "0.3")
DIGITS_CLASSIFIER = "digits-classifier"


def squash(text: str) -> str:
    """``text`` without any whitespace: Rich wraps stderr at 80 columns, mid-path if it must."""
    return re.sub(r"\s+", "", text)


@dataclass
class Result:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:  # pragma: no cover - a failure message
            raise AssertionError(
                f"reef {' '.join(self.args)}: stdout is not JSON ({exc}):\n{self.stdout}\n"
                f"stderr:\n{self.stderr}"
            ) from None

    def says(self, *fragments: str) -> bool:
        """True when stderr holds every fragment (whitespace ignored)."""
        flat = squash(self.stderr)
        return all(squash(f) in flat for f in fragments)

    def __str__(self) -> str:
        return (
            f"reef {' '.join(self.args)} -> exit {self.rc}\n--- stdout ---\n{self.stdout[-4000:]}"
            f"\n--- stderr ---\n{self.stderr[-4000:]}"
        )


class Reef:
    """The real CLI, run as ``python -m reef`` with ``REEF_HOME`` pointing at ``home``."""

    def __init__(self, home: Path, cwd: Path) -> None:
        self.home = home
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
        self.env["REEF_HOME"] = str(home)
        self.env["PYTHONUNBUFFERED"] = "1"

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reef", *args]

    def __call__(
        self, *args: str, timeout: float = CLI_TIMEOUT_S, env: dict[str, str] | None = None
    ) -> Result:
        proc = subprocess.run(
            self.argv(*args),
            env={**self.env, **(env or {})},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str, new_session: bool = False) -> subprocess.Popen[str]:
        """``reef`` running, to be signalled: it starts with Ctrl-C's default disposition, as in
        a terminal, even where the tests run from a background job (which ignores SIGINT, and
        a child would inherit that and never see the interrupt). ``new_session`` makes it the
        leader of a process group of its own, which ``os.killpg`` kills with its children."""
        return subprocess.Popen(
            self.argv(*args),
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=new_session,
            preexec_fn=_default_sigint,
        )

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.rc == 0, str(result)
        assert "Traceback" not in result.stderr, str(result)
        return result

    def runs(self, *filters: str) -> list[dict[str, Any]]:
        result = self.ok("runs", "list", "--json", "-n", "0", *filters)
        data = result.json()
        assert isinstance(data, list), str(result)
        return data

    def run_dirs(self) -> list[str]:
        runs = self.home / "runs"
        return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []

    def assert_nothing_written(self, *, list_runs: bool = False) -> None:
        """No run recorded and no run folder left behind.

        Runs are recorded in ``$REEF_HOME/reef.db``: when the command did not even create it,
        nothing can have been recorded, and ``reef runs list`` is only asked (it costs a
        process) when the database exists or ``list_runs`` says so.
        """
        assert self.run_dirs() == [], f"run folders left behind: {self.run_dirs()}"
        if list_runs or (self.home / "reef.db").exists():
            assert self.runs() == []


UNDER_WAY_TIMEOUT_S = 60
EXIT_TIMEOUT_S = 60


class Watched:
    """A running ``reef bench`` whose stderr is read as it comes, so that a test can act once
    it is measuring (signal it, kill it, fill its disk) and then collect what it said."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._measuring = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if "performance" in line:
                self._measuring.set()
        self._measuring.set()  # stderr closed: the process ended

    def wait_until_measuring(self, settle_s: float = 0.0) -> None:
        """Until LoadGen's performance phase has begun, and ``settle_s`` more."""
        assert self._measuring.wait(UNDER_WAY_TIMEOUT_S), "the benchmark never started measuring"
        assert self.proc.poll() is None, f"reef exited early:\n{''.join(self.lines)}"
        time.sleep(settle_s)

    def finish(self) -> tuple[int, str, str]:
        """(exit status, stdout, stderr). Not communicate(): it would read stderr too, racing
        the reader thread for its last lines (the interruption message among them); stdout is
        read before waiting, so a long JSON answer cannot fill the pipe and stall the process."""
        assert self.proc.stdout is not None
        try:
            out = self.proc.stdout.read()
            self.proc.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"reef did not exit:\n{''.join(self.lines)}")
        self._reader.join(timeout=5)
        return self.proc.returncode, out, "".join(self.lines)


def fill_disk(folder: Path) -> None:
    """Fill the file system under ``folder`` to the last byte (a file named ``filler``)."""
    with (folder / "filler").open("wb", buffering=0) as f:
        for size in (65536, 1):
            try:
                while f.write(b"\0" * size):
                    pass
            except OSError:
                pass


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def make_folder(path: Path) -> Path:
    path.mkdir()
    return path


def make_loop(path: Path) -> Path:
    """A symbolic link loop: ``path`` -> ``other`` -> ``path``."""
    path.symlink_to(path.with_name("other"))
    path.with_name("other").symlink_to(path)
    return path


def make_device(path: Path) -> Path:
    """A character device like /dev/null (1, 3) at ``path``: needs root."""
    import stat

    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return path


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_usage_error(result: Result, *fragments: str) -> None:
    """Exit 2, a clean one-message error on stderr (no traceback) naming ``fragments``."""
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr, str(result)
    assert "error" in result.stderr.lower(), str(result)
    assert result.says(*fragments), f"expected {fragments} in stderr\n{result}"


def assert_json_error(result: Result, *fragments: str) -> dict[str, Any]:
    """With ``--json``: stdout is one JSON object with ``error`` and ``message``."""
    data = result.json()
    assert isinstance(data, dict), str(result)
    assert data.get("error"), str(result)
    assert isinstance(data.get("message"), str) and data["message"], str(result)
    whole = squash(json.dumps(data))
    for fragment in fragments:
        assert squash(json.dumps(fragment)[1:-1]) in whole, f"{fragment!r} not in {data}"
    return data


def check_schema_structure(schema: dict[str, Any]) -> None:
    """What a JSON Schema must be, checked without the jsonschema package."""
    assert schema["type"] == "object"
    assert isinstance(schema["properties"], dict) and schema["properties"]
    for name in schema.get("required", []):
        assert name in schema["properties"], name
    defs = schema.get("$defs", {})

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.startswith("#/$defs/"), ref
                assert ref.removeprefix("#/$defs/") in defs, f"dangling {ref}"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)


def build_tiny_onnx(path: Path) -> Path:
    """x: float32 [batch, 3, 8, 8] -> ReduceMean over H, W -> Softmax -> y: [batch, 3]."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes"], ["mean"], keepdims=0),
        helper.make_node("Flatten", ["mean"], ["flat"], axis=1),
        helper.make_node("Softmax", ["flat"], ["y"], axis=1),
    ]
    graph = helper.make_graph(nodes, "reef-e2e-tiny", [x], [y], initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tiny_manifest(model: Path) -> dict[str, Any]:
    """A manifest that matches ``build_tiny_onnx`` exactly (no dataset: synthetic inputs)."""
    return {
        "kind": "model",
        "name": "tiny",
        "version": "1.0.0",
        "framework": {"name": "onnxruntime", "version": ">=1.17"},
        "sources": [{"path": model.name, "sha256": sha256(model)}],
        "inputs": [{"name": "x", "element_type": "float32", "shape": [-1, 3, 8, 8]}],
        "outputs": [{"name": "y", "type": "probability"}],
    }


ManifestWriter = Callable[..., Path]


@dataclass
class Benched:
    reef: Reef
    result: Result
    records: list[dict[str, Any]]


ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_serving(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90
) -> None:
    """Return once the ``reef serve`` at ``url`` answers ready; fail the test, with the end
    of its ``log``, when it exits first or is not ready within ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            pytest.fail(f"reef serve exited {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"reef serve did not start: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def reef_serve(home: Path, *args: str) -> Iterator[str]:
    """``reef serve ARGS --port P`` with ``REEF_HOME`` at ``home``, on a free port of
    127.0.0.1: yields its base URL once it answers ready, then stops it with SIGTERM, which
    must end it with exit 0. Its output goes to ``home/serve.log``."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    env["REEF_HOME"] = str(home)
    with (home / "serve.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "reef", "serve", *args, "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_serving(url, process, home / "serve.log")
        yield url
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0


def artifacts() -> Path:
    """Where browser tests leave screenshots: REEF_TEST_ARTIFACTS, else test-artifacts/."""
    folder = Path(os.environ.get("REEF_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium() -> str:
    """Debian's chromium, with playwright to drive it: skipped without them, failed in CI."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have chromium and playwright: `make test` installs them")
        pytest.skip("needs Debian's chromium and playwright (`make test` installs them)")
    return path


def _real_time() -> None:
    """In an early run's process, before it starts: the lowest real-time priority where this
    user may set it (root, CAP_SYS_NICE), so that the suite running beside it cannot delay
    its queries. A compliant Server run at 20 queries/s sleeps between them and uses about an
    eighth of a core, but each must be answered within the latency bound, and beside a load
    in a session of its own it missed the bound: p99 18.3 and 15.6 ms against 15 (INVALID),
    and 11.4 and 9.0 ms when real-time (VALID), measured here alternately. Elsewhere it runs
    as it is, with the suite reniced (tests/e2e/conftest.py)."""
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))


class EarlyRun:
    """A ``reef`` command started when the test session began, for a test of MLPerf's full
    length (600 s) that runs last and only waits for what is left of it: the suite's other
    tests run meanwhile. Its output goes to files, not pipes, which a long run would fill.
    It runs at real-time priority where it may (``_real_time``); BLAS and OpenMP keep one
    thread each, none spinning at that priority."""

    def __init__(self, base: Path, args: tuple[str, ...]) -> None:
        (base / "work").mkdir(parents=True, exist_ok=True)
        self.cli = Reef(base / "reef-home", base / "work")
        self.args = args
        self._out = base / "stdout"
        self._err = base / "stderr"
        env = {**self.cli.env, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        with self._out.open("w") as out, self._err.open("w") as err:
            self.proc = subprocess.Popen(
                self.cli.argv(*args),
                env=env,
                cwd=self.cli.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                text=True,
                start_new_session=True,
                preexec_fn=_real_time,  # one system call: safe whatever threads exist
            )
        self.started = time.monotonic()

    def result(self, timeout: float) -> Result:
        """The command's result, waiting at most ``timeout`` seconds after its start."""
        left = max(1.0, timeout - (time.monotonic() - self.started))
        try:
            rc = self.proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            self.stop()
            command = " ".join(self.args)
            raise AssertionError(f"reef {command}: still running after {timeout} s") from None
        return Result(self.args, rc, self._out.read_text(), self._err.read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
