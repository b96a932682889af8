"""Wall time of a full compliant MLPerf export of ``digits-cnn`` (issue 20): ``reef bench
--compliant`` in Offline and SingleStream (LoadGen's official 600 s minimum each, then the
accuracy runs), ``reef export mlperf`` of the two runs as an open-division submission mapped
onto resnet, and ``reef export mlperf --check`` of the tree. Each step runs the real CLI in a
fresh REEF_HOME; the figures are the steps' wall times and the check's verdict.

python benchmarks/mlperf_export.py [--model digits-cnn] [--scenario Offline --scenario SingleStream]

About 21 minutes: the durations are MLPerf's, not Reef's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What the fingerprint cannot know about this machine (reef export mlperf --system-desc).
SYSTEM_YAML = """\
status: available
system_type: edge
host_processors_per_node: 1
host_storage_capacity: unknown
host_storage_type: unknown
host_networking: none
host_network_card_count: 0
host_networking_topology: N/A
host_memory_configuration: unknown
cooling: air
"""


def reef(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reef", *args], env=env, capture_output=True, text=True
    )
    return time.perf_counter() - t0, done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="digits-cnn")
    ap.add_argument("--scenario", action="append", default=None)
    ap.add_argument("--benchmark", default="resnet")
    args = ap.parse_args()
    scenarios = args.scenario or ["Offline", "SingleStream"]
    work = Path(tempfile.mkdtemp(prefix="reef-mlperf-"))
    env = dict(os.environ, REEF_HOME=str(work / "home"))
    (work / "system.yaml").write_text(SYSTEM_YAML)

    options = [f"--scenario={s}" for s in scenarios]
    bench_s, bench = reef(env, "bench", args.model, *options, "--compliant", "--json")
    if bench.returncode != 0:
        sys.exit(f"reef bench failed ({bench.returncode}):\n{bench.stderr}")
    records = json.loads(bench.stdout)
    ids = [r["id"] for r in records]
    out = work / "submission"
    export_s, export = reef(
        env, "export", "mlperf", *ids, "-o", str(out), "--division", "open",
        "--submitter", "Reef", "--system", "bench-box", "--benchmark", args.benchmark,
        "--system-desc", str(work / "system.yaml"),
    )  # fmt: skip
    if export.returncode != 0:
        sys.exit(f"reef export mlperf failed ({export.returncode}):\n{export.stderr}")
    check_s, check = reef(env, "export", "mlperf", "--check", str(out), "--json")
    findings = json.loads(check.stdout)["findings"] if check.stdout.strip() else []
    errors = [f for f in findings if f.get("severity") == "error"]

    print(f"{args.model}, {' + '.join(scenarios)}, --compliant")
    for r in records:
        perf = r.get("performance") or {}
        print(
            f"  {r['settings']['scenario']:<13} {r['status']:<8} "
            f"{perf.get('duration_s', 0):7.1f} s measured, {perf.get('queries', 0)} queries"
        )
    print(f"reef bench --compliant: {bench_s:7.1f} s")
    print(f"reef export mlperf:     {export_s:7.1f} s")
    print(f"reef export --check:    {check_s:7.1f} s (exit {check.returncode}, "
          f"{len(errors)} errors, {len(findings) - len(errors)} warnings)")  # fmt: skip
    for f in findings:
        print(f"    {f.get('severity')}: {f.get('rule')}: {f.get('message')}")
    print(f"total:                  {bench_s + export_s + check_s:7.1f} s")


if __name__ == "__main__":
    main()
