"""Harness fidelity on a millisecond model (the built-in digits-cnn).

Compares what Reef reports with a bare ``InferenceSession.run`` loop on the same model,
inputs and thread settings, measured in the same process session:

- SingleStream: Reef's p50 / the bare loop's p50 (target: at most 1.03)
- Offline: Reef's throughput / the bare loop's throughput at the same batch size
  (target: at least 0.97)

Each round measures bare, then Reef; the medians over rounds are printed.

    python benchmarks/harness_fidelity.py [--rounds 3] [--duration 5] [--batch 16]
"""

from __future__ import annotations

import argparse

from _common import bare_batch_throughput, bare_single_p50, median, prepared, use_temp_home

from reef.bench.runner import execute


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="digits-cnn")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    use_temp_home()

    ss_ratios, off_ratios = [], []
    for r in range(args.rounds):
        # SingleStream
        p = prepared(
            args.model,
            scenario="SingleStream",
            mode="performance",
            duration_s=args.duration,
            threads=args.threads,
        )
        bare = bare_single_p50(p, args.duration)
        record = execute(p)
        assert record.performance is not None, record.reasons
        reef = record.performance.latency_ms.p50 * 1e6
        ss_ratios.append(reef / bare)
        print(
            f"round {r}: SingleStream p50 bare {bare / 1e6:.4f} ms, reef {reef / 1e6:.4f} ms, "
            f"ratio {reef / bare:.4f}  [{record.status}]"
        )

        # Offline
        p = prepared(
            args.model,
            scenario="Offline",
            mode="performance",
            duration_s=args.duration,
            threads=args.threads,
            batch_size=args.batch,
        )
        bare_tput = bare_batch_throughput(p, args.batch, args.duration)
        record = execute(p)
        assert record.performance is not None, record.reasons
        reef_tput = record.performance.throughput_qps
        off_ratios.append(reef_tput / bare_tput)
        print(
            f"round {r}: Offline batch {args.batch} bare {bare_tput:,.0f}/s, reef "
            f"{reef_tput:,.0f}/s, ratio {reef_tput / bare_tput:.4f}  [{record.status}]"
        )

    print(
        f"\nSingleStream p50 ratio (reef / bare), median of {args.rounds}: {median(ss_ratios):.4f}"
        "  (target <= 1.03)"
    )
    print(
        f"Offline throughput ratio (reef / bare), median of {args.rounds}: "
        f"{median(off_ratios):.4f}  (target >= 0.97)"
    )


if __name__ == "__main__":
    main()
