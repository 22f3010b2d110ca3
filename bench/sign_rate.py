"""Encode + sign throughput on one core, beside the raw sign rate of the suite's library in the same run,
and that raw rate beside OpenSSL's own (`openssl speed -seconds 1 sm2` / `ecdsap256`, same run, one core).

One card's host work is what a printing station does before the first APDU and for EF.SOD:
`make_plan` (sign the permit's endorsement records, encode the card image, derive the per-card keys,
build the APDU plan) and `sign_sod` over the final EF contents (EF.CHIPKEY holds a chip public key made
here, as the card would return it). The ceiling is the raw sign rate divided by the signatures one card
needs (EF.SOD plus one per endorsement record): a station can never beat its signature count. Both rates
are per CPU second of the measuring thread ("per core"), so other load on the machine does not lower them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable

from bench.env import BenchEnv, bench_permit
from bench.report import Figure
from cardsvc.issuance.jobs import make_plan
from cardsvc.layout import Layout
from cardsvc.layout.vocabulary import CHIPKEY_EF
from cardsvc.permit.model import Permit
from cardsvc.security.chip import encode_chip_public_key
from cardsvc.security.suite import Suite, SuiteName

SECTION = "encode+sign"
TARGET_CARDS_PER_S = 200.0  # design §6: per core


LIBRARY = {SuiteName.GM: "SM2 (gmalglib)", SuiteName.INTL: "ECDSA P-256 (cryptography)"}
OPENSSL_ALGORITHM = {SuiteName.GM: "sm2", SuiteName.INTL: "ecdsap256"}


def _per_cpu_second(work: Callable[[], object], seconds: float) -> float:
    for _ in range(50):
        work()
    count, cpu = 0, time.thread_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            work()
        count += 100
    return count / (time.thread_time() - cpu)


def raw_rates(suite: Suite, seconds: float) -> tuple[float, float]:
    """(sign/s, verify/s) of the suite's library over a 100-byte message (the size of CMS signed attrs)."""
    key = suite.generate_key()
    public = key.public_key()
    message = bytes(100)
    signature = key.sign(message)
    return (_per_cpu_second(lambda: key.sign(message), seconds),
            _per_cpu_second(lambda: public.verify(message, signature), seconds))


def openssl_speed(suite: Suite) -> tuple[float, float] | None:
    """OpenSSL's own (sign/s, verify/s) for the suite's curve, `openssl speed -seconds 1` (one process)."""
    if shutil.which("openssl") is None:
        return None
    run = subprocess.run(["openssl", "speed", "-seconds", "1", OPENSSL_ALGORITHM[suite.name]],
                         capture_output=True, text=True, timeout=60, check=False)
    line = next((ln for ln in run.stdout.splitlines() if re.match(r"\s*256 bits (SM2|ecdsa)", ln)), None)
    if line is None:
        return None
    numbers = line.split()
    return float(numbers[-2]), float(numbers[-1])


def encode_and_sign(env: BenchEnv, permit: Permit, layout: Layout, chip_key: bytes) -> bytes:
    plan = make_plan(permit, layout, env.keys)
    contents = {}
    for name in plan.signed_efs:
        f = plan.image.file(name)
        contents[f.fid] = chip_key if name == CHIPKEY_EF else (f.content or b"")
    return env.keys.sign_sod(permit.authority.code, contents)


def measure(env: BenchEnv, seconds: float = 3.0, pool: int = 8) -> list[Figure]:
    """In the environment's suite: cards/s per layout over a pool of distinct permits, the library's raw
    sign and verify rates beside OpenSSL's, then cards/s beside the raw sign rate per card."""
    suite = env.suite
    chip_key = encode_chip_public_key(suite.generate_key().public_key())
    figures: list[Figure] = []
    rates: list[tuple[str, float, float]] = []
    for layout in env.layouts():
        permits = [bench_permit(layout, 100 + i) for i in range(pool)]
        signatures = sum(1 + len(p.endorsements) for p in permits) / len(permits)
        for p in permits:  # warm caches: unlocked keys, compiled codecs, certificates
            encode_and_sign(env, p, layout, chip_key)
        count, cpu = 0, time.thread_time()
        deadline = time.perf_counter() + seconds / 2
        while time.perf_counter() < deadline:
            encode_and_sign(env, permits[count % pool], layout, chip_key)
            count += 1
        rates.append((layout.id, count / (time.thread_time() - cpu), signatures))
    raw, raw_verify = raw_rates(suite, min(1.0, seconds / 3))
    speed = openssl_speed(suite)
    what = LIBRARY[suite.name]
    speed_name = f"openssl speed -seconds 1 {OPENSSL_ALGORITHM[suite.name]} (same run)"
    figures.append(Figure(SECTION, f"{suite.name} raw {what} sign (the ceiling)", raw, "sign/s",
                          reference=speed[0] if speed else None, reference_name=speed_name if speed else ""))
    figures.append(Figure(SECTION, f"{suite.name} raw {what} verify", raw_verify, "verify/s",
                          reference=speed[1] if speed else None, reference_name=speed_name if speed else ""))
    for layout_id, rate, signatures in rates:
        figures.append(Figure(
            SECTION, f"{layout_id} {suite.name} encode+sign, one core", rate, "cards/s", reference=raw / signatures,
            reference_name=f"raw sign rate / {signatures:.2f} signatures per card", target=TARGET_CARDS_PER_S))
    return figures
