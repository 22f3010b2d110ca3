"""``python -m bench``: run the benchmarks, print a table, write bench/results/<timestamp>.json."""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

from bench.apdu_rate import Rate, in_process, through_pcscd

RESULTS = Path(__file__).resolve().parent / "results"


def table(rates: list[Rate]) -> str:
    header = f"{'APDU round trips':<26}{'APDUs':>7}{'median ms':>11}{'p95 ms':>9}{'per s':>10}"
    lines = [header, "-" * len(header)]
    for r in rates:
        if math.isnan(r.median_ms):
            lines.append(f"{r.path:<26}{'-':>7}  {r.note}")
        else:
            lines.append(f"{r.path:<26}{r.apdus:>7}{r.median_ms:>11.3f}{r.p95_ms:>9.3f}{r.per_second:>10.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--apdus", type=int, default=2000, help="timed APDUs per path (default 2000)")
    parser.add_argument("--no-pcsc", action="store_true", help="skip the pcscd path")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON result")
    args = parser.parse_args(argv)
    if args.apdus < 1:
        parser.error("--apdus must be at least 1")

    rates = [in_process(args.apdus)]
    if not args.no_pcsc:
        rates.append(through_pcscd(args.apdus))
    print(table(rates))

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"{stamp}.json"
    result = {
        "timestamp": stamp,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "apdu_round_trips": [r.as_dict() for r in rates],
    }
    target.write_text(json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False,
                                 default=str) + "\n", encoding="utf-8")
    print(f"\nwritten {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
