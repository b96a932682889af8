"""Load for ``benchmarks/serving.py``, in a process of its own: ``--clients`` threads, each on a
keep-alive ``http.client`` connection, posting one-row inference requests (binary tensors, or
JSON with ``--json``) to a model for
``--seconds``; prints one JSON line: requests, requests a second, p50 and p99 (ms), failed.

    python benchmarks/serving_load.py --port P --model M --shape 1,32,32 [--clients 32]
        [--seconds 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--shape", required=True, help="one row's shape, e.g. 1,32,32")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--json", action="store_true", help="JSON tensors instead of binary ones")
    args = ap.parse_args()
    import numpy as np

    shape = [int(d) for d in args.shape.split(",")]
    x = (np.random.default_rng(0).random([1, *shape]) * 16).astype(np.float32)
    tensor = {"name": "input", "shape": [1, *shape], "datatype": "FP32"}
    headers = {"Content-Type": "application/json"}
    if args.json:
        body = json.dumps({"inputs": [tensor | {"data": x.reshape(-1).tolist()}]}).encode()
    else:  # the binary tensor extension, as tritonclient sends numpy arrays
        raw = x.astype("<f4").tobytes()
        tensor["parameters"] = {"binary_data_size": len(raw)}
        head = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}}).encode()
        body = head + raw
        headers = {
            "Content-Type": "application/octet-stream",
            "Inference-Header-Content-Length": str(len(head)),
        }
    path = f"/v2/models/{args.model}/infer"
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()
    end = time.perf_counter() + args.seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        mine = []
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            connection.request("POST", path, body, headers)
            answer = connection.getresponse()
            answer.read()
            mine.append(time.perf_counter() - t0)
            if answer.status != 200:
                with lock:
                    failed[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    latencies.sort()
    print(
        json.dumps(
            {
                "requests": len(latencies),
                "per_s": round(len(latencies) / took, 1),
                "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
                "p99_ms": round(latencies[int(0.99 * len(latencies))] * 1000, 3),
                "failed": failed[0],
            }
        )
    )


if __name__ == "__main__":
    main()
