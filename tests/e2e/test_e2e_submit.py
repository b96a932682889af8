"""reef bench --submit and reef submit, as a user runs them: a server that cannot be reached
(a closed port on 127.0.0.1) loses no run; they wait in REEF_HOME/outbox."""

from __future__ import annotations

import json
import socket

from e2e_support import DIGITS_CLASSIFIER, SHORT, Reef


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_runs_for_an_unreachable_server_wait_in_the_outbox(reef: Reef) -> None:
    url = closed_port()
    bench = reef(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--scenario", "SingleStream", "--mode",
        "performance", "--submit", url, "--json",
    )  # fmt: skip
    # Queued is a note: the exit code is the benchmark's.
    assert bench.rc in (0, 1), str(bench)
    assert "Traceback" not in bench.stderr
    records = bench.json()
    run_id = records[0]["id"]
    assert bench.says(
        f"reef: submitted to {url}: 0 accepted, 0 already stored; 1 queued in the outbox "
        f"({url} cannot be reached: connection refused): `reef submit --pending` sends them"
    ), str(bench)
    outbox = reef.home / "outbox" / f"{run_id}.json"
    kept = json.loads(outbox.read_text(encoding="utf-8"))
    assert kept["server"] == url and kept["bundle"]["record"]["id"] == run_id
    assert [f["path"] for f in kept["bundle"]["files"]] == [
        "performance/mlperf_log_summary.txt",
        "performance/mlperf_log_detail.txt",
    ]

    again = reef("submit", run_id[:8], "--server", url)
    assert again.rc == 3, str(again)
    assert again.says(
        f"queued {run_id} (in {outbox})",
        f"1 run(s) queued in the outbox: {url} cannot be reached: connection refused; "
        "`reef submit --pending` sends them",
    ), str(again)

    pending = reef("submit", "--pending", "--json")
    assert pending.rc == 3, str(pending)
    report = pending.json()
    assert report["server"] == url  # the server each run was queued for
    assert [(r["id"], r["result"]) for r in report["runs"]] == [(run_id, "queued")]
    assert outbox.is_file()
