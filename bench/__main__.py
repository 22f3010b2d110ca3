"""``python -m bench [MODE ...]``: run the benchmarks and campaigns, print one table (every figure beside its
ceiling or floor and the ratio), write bench/results/<timestamp>.json.

Modes (default: all, in this order): apdu, sign, issue (issuance and counter verification), batch, http,
cli (`cardsvc --help` and `cardsvc verify --card FILE` wall time), scale (city scale on a throwaway
PostgreSQL: 1,000,000 permits by default, `--permits 5000000` for the whole of Zhengzhou; see bench/scale.py),
robustness (APDU fuzzing, verifier fuzzing, tearing, HTTP soak). ``--quick`` shrinks every count for a
smoke run; the full run is what `make bench` does and stays under 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import sys
import time
from pathlib import Path

from bench import apdu_rate
from bench.env import BenchEnv
from bench.report import Campaign, Figure, not_run, table
from cardsvc.security.suite import INTL

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("apdu", "sign", "issue", "batch", "http", "cli", "scale", "robustness")


def apdu_figures(count: int, pcsc: bool) -> list[Figure]:
    section = "APDU round trips"
    card = apdu_rate.card_only(count)
    rates = [apdu_rate.in_process(count)]
    if pcsc:
        rates.append(apdu_rate.through_pcscd(count))
    out = [Figure(section, "card alone (VirtualCard.process)", card.per_second, "APDU/s",
                  note=f"median {card.median_ms:.4f} ms, p95 {card.p95_ms:.4f} ms")]
    ceiling = card.per_second
    for r in rates:
        if math.isnan(r.median_ms):
            out.append(not_run(section, r.path, "APDU/s", r.note))
            continue
        out.append(Figure(section, f"{r.path} (1 / median)", r.per_second, "APDU/s", reference=ceiling,
                          reference_name="the card alone" if r.path == "in-process" else "in-process",
                          note=f"median {r.median_ms:.3f} ms, p95 {r.p95_ms:.3f} ms, {r.apdus} APDUs"))
        ceiling = r.per_second
    return out


def campaign_json(c: Campaign) -> dict[str, object]:
    return {"name": c.name, "cases": c.cases, "failures": c.failures, "examples": c.examples,
            "counts": c.counts, "seconds": round(c.seconds, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modes", nargs="*", metavar="MODE", help=f"any of {', '.join(MODES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run in about a minute")
    parser.add_argument("--apdus", type=int, default=2000, help="timed APDUs per round-trip path (default 2000)")
    parser.add_argument("--no-pcsc", action="store_true", help="skip every path through pcscd")
    parser.add_argument("--permits", type=int, default=None,
                        help="permits loaded for the scale mode (default 1,000,000; 20,000 with --quick; "
                             "5,000,000 is the whole of Zhengzhou)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON result")
    args = parser.parse_args(argv)
    if args.apdus < 1:
        parser.error("--apdus must be at least 1")
    if args.permits is not None and args.permits < 50_000 and not args.quick:
        parser.error("--permits must be at least 50,000 (a day's 5,000 changes need them), or use --quick")
    unknown = [m for m in args.modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode {unknown[0]!r}: choose from {', '.join(MODES)}")
    modes = args.modes or list(MODES)
    pcsc = not args.no_pcsc
    quick = args.quick
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    started = time.perf_counter()
    env = BenchEnv.create()  # GM suite: both city layouts' default
    intl: list[BenchEnv] = []

    def intl_env() -> BenchEnv:
        """An international-suite ceremony (P-256/SHA-256/AES), made once when a mode asks for it."""
        if not intl:
            intl.append(BenchEnv.create(suite=INTL))
        return intl[0]

    mark = started
    figures: list[Figure] = []
    campaigns: list[Campaign] = []
    timings: dict[str, float] = {}

    def timed(mode: str) -> None:
        timings[mode] = round(time.perf_counter() - mark, 1)
        print(f"... {mode} done in {timings[mode]:.0f} s", file=sys.stderr, flush=True)

    if "apdu" in modes:
        mark = time.perf_counter()
        figures += apdu_figures(args.apdus, pcsc)
        timed("apdu")
    if "sign" in modes:
        from bench import sign_rate

        mark = time.perf_counter()
        figures += sign_rate.measure(env, seconds=1.0 if quick else 4.0)
        figures += sign_rate.measure(intl_env(), seconds=1.0 if quick else 4.0)
        timed("sign")
    if "issue" in modes:
        from bench import issue_verify

        mark = time.perf_counter()
        figures += issue_verify.measure(env, pcsc=pcsc)
        figures += issue_verify.measure(intl_env(), pcsc=pcsc)  # the same figures for the intl suite
        timed("issue")
    if "batch" in modes:
        from bench import batch_bench

        mark = time.perf_counter()
        figures += batch_bench.measure(env, cards=10 if quick else 50) if pcsc else [
            not_run(batch_bench.SECTION, "cards across both vpcd readers", "cards/min", "--no-pcsc")]
        timed("batch")
    if "http" in modes:
        from bench import http_bench

        mark = time.perf_counter()
        figures += http_bench.measure(env, seconds=2.0 if quick else 4.0)
        timed("http")
    if "cli" in modes:
        from bench import cli_start

        mark = time.perf_counter()
        figures += cli_start.measure(env)
        timed("cli")
    if "scale" in modes:
        from bench import scale

        mark = time.perf_counter()
        permits = args.permits or (20_000 if quick else 1_000_000)
        figures += scale.measure(env, permits, lookups=300 if quick else 2_000, http_seconds=2.0 if quick else 4.0,
                                 queue_permits=20 if quick else scale.QUEUE_PERMITS)
        timed("scale")
    if "robustness" in modes:
        from bench import http_bench, robustness

        mark = time.perf_counter()
        counts = robustness.Counts(apdus=5_000, responses=300, images=200, tearing_stride=7) if quick \
            else robustness.Counts()
        card_side = robustness.run(env, counts)
        soak, soak_figures = http_bench.soak(env, total=500 if quick else 10_000)
        campaigns += [*card_side, soak]
        figures += robustness.figures(campaigns, robustness.REQUIRED | {soak.name: 10_000}) + soak_figures
        timed("robustness")

    total = time.perf_counter() - started
    print(table(figures))
    failures = sum(c.failures for c in campaigns)
    missed = [f.name for f in figures if f.met is False]
    print(f"\n{len(figures)} figures in {total:.0f} s; design targets missed: {', '.join(missed) or 'none'}; "
          f"campaign cases {sum(c.cases for c in campaigns):,}, failures {failures}")

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"{stamp}.json"
    result = {
        "timestamp": stamp, "python": sys.version.split()[0], "machine": platform.machine(),
        "modes": modes, "quick": quick, "seconds": round(total, 1), "mode_seconds": timings,
        "figures": [f.as_dict() for f in figures], "campaigns": [campaign_json(c) for c in campaigns],
    }
    target.write_text(json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False, default=str) + "\n",
                      encoding="utf-8")
    print(f"written {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
