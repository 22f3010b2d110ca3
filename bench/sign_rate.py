"""Encode + sign throughput on one core, beside the raw ECDSA P-256 sign rate of the same run.

One card's host work is what a printing station does before the first APDU and for EF.SOD:
`make_plan` (sign the permit's endorsement records, encode the card image, derive the per-card keys,
build the APDU plan) and `sign_sod` over the final EF contents (EF.CHIPKEY holds a chip public key made
here, as the card would return it). The ceiling is the raw sign rate divided by the signatures one card
needs (EF.SOD plus one per endorsement record): a station can never beat its signature count. Both rates
are per CPU second of the measuring thread ("per core"), so other load on the machine does not lower them.
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from bench.env import BenchEnv, bench_permit, layouts
from bench.report import Figure
from cardsvc.issuance.jobs import make_plan
from cardsvc.layout import Layout
from cardsvc.layout.vocabulary import CHIPKEY_EF
from cardsvc.permit.model import Permit
from cardsvc.security.chip import encode_chip_public_key

SECTION = "encode+sign"
TARGET_CARDS_PER_S = 200.0  # design §6: per core


def raw_sign_rate(seconds: float) -> float:
    """ECDSA P-256 / SHA-256 signatures per second over a 100-byte message (the size of CMS signed attrs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    message = bytes(100)
    algorithm = ec.ECDSA(hashes.SHA256())
    for _ in range(50):
        key.sign(message, algorithm)
    count, cpu = 0, time.thread_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            key.sign(message, algorithm)
        count += 100
    return count / (time.thread_time() - cpu)


def encode_and_sign(env: BenchEnv, permit: Permit, layout: Layout, chip_key: bytes) -> bytes:
    plan = make_plan(permit, layout, env.keys)
    contents = {}
    for name in plan.signed_efs:
        f = plan.image.file(name)
        contents[f.fid] = chip_key if name == CHIPKEY_EF else (f.content or b"")
    return env.keys.sign_sod(permit.authority.code, contents)


def measure(env: BenchEnv, seconds: float = 3.0, pool: int = 8) -> list[Figure]:
    """Cards/s per layout over a pool of distinct permits, then the raw sign rate, then the ratio."""
    chip_key = encode_chip_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    figures: list[Figure] = []
    rates: list[tuple[str, float, float]] = []
    for layout in layouts():
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
    raw = raw_sign_rate(min(1.0, seconds / 3))
    figures.append(Figure(SECTION, "raw ECDSA P-256 sign (the ceiling)", raw, "sign/s"))
    for layout_id, rate, signatures in rates:
        figures.append(Figure(
            SECTION, f"{layout_id} encode+sign, one core", rate, "cards/s", reference=raw / signatures,
            reference_name=f"raw sign rate / {signatures:.2f} signatures per card", target=TARGET_CARDS_PER_S))
    return figures
