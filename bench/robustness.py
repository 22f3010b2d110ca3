"""The robustness campaign (issue 8 item 3): every campaign with its count and failures.

- ≥ 100,000 random and mutated APDUs into the virtual card (bench.fuzz_apdu);
- ≥ 10,000 malformed card images and responses into the verifier (bench.fuzz_verifier);
- power lost at every APDU of issuance, both layouts, three ways (bench.tearing);
- the HTTP soak (10,000 verifications, 16 clients) is in bench.http_bench.

`python -m bench robustness` runs the full counts; tests/robustness runs the same code with small counts
in `make test`. The campaigns run in worker processes, one per core.
"""

from __future__ import annotations

import logging
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.cards import Recording, blank_card, issue
from bench.env import BenchEnv, bench_permit, layouts, renumbered
from bench.fuzz_verifier import Genuine
from bench.report import Campaign, Figure
from cardsvc.verification import PermitReader
from simulator import InProcessConnection, VirtualCard

SECTION = "robustness"
APDUS_REQUIRED = 100_000
VERIFIER_REQUIRED = 10_000


@dataclass(frozen=True, slots=True)
class Counts:
    apdus: int = 2 * APDUS_REQUIRED  # cheap (~20 µs each): twice the required count
    responses: int = 6_000
    images: int = 4_000
    tearing_stride: int = 1  # every command index


def genuine_cards(env: BenchEnv) -> list[Genuine]:
    """Per layout an issued card (CBOR image), the genuine read of it, and a second card for swaps."""
    out: list[Genuine] = []
    for layout in layouts():
        base = bench_permit(layout, 31, photo_bytes=6_000)
        images = []
        for n in (1, 2):
            card = blank_card()
            issue(env, layout, renumbered(base, layout, 900 + n), InProcessConnection(card))
            images.append(card.to_bytes("cbor"))
        read = PermitReader(InProcessConnection(VirtualCard.from_bytes(images[0])), layout,
                            keys=env.keys.card_key).read()
        if read.problems:
            raise RuntimeError(f"{layout.id}: the genuine card does not read cleanly: {read.problems}")
        out.append(Genuine(layout, images[0], read, images[1]))
    return out


def apdu_inputs(env: BenchEnv) -> tuple[list[bytes], list[bytes]]:
    """Pristine card images (blank, issued per layout) and a corpus: the traffic of real issuances and
    counter verifications."""
    from bench.cards import verify

    pristine = [blank_card().to_bytes("cbor")]
    corpus: list[bytes] = []
    for layout in layouts():
        card = blank_card()
        recording = Recording(InProcessConnection(card))
        issue(env, layout, renumbered(bench_permit(layout, 41, photo_bytes=4_000), layout, 950), recording)
        verify(env, layout, recording)
        corpus += recording.commands
        pristine.append(card.to_bytes("cbor"))
    return pristine, corpus


# ---------------------------------------------------------------- worker entry points (picklable)

def _apdu_worker(root: str, count: int, seed: int) -> Campaign:
    from bench import fuzz_apdu

    env = BenchEnv(Path(root))
    pristine, corpus = apdu_inputs(env)
    return fuzz_apdu.run(count, pristine, corpus, seed=seed)


def _verifier_worker(root: str, kind: str, count: int, seed: int) -> Campaign:
    from bench import fuzz_verifier

    env = BenchEnv(Path(root))
    cards = genuine_cards(env)
    run = fuzz_verifier.responses if kind == "responses" else fuzz_verifier.images
    # Damaged certificates make cryptography warn and damaged ATRs make the session log a warning for
    # each case; the verdict is what counts here.
    logging.getLogger("cardsvc").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run(env, cards, count, seed)


def _tearing_worker(root: str, stride: int) -> Campaign:
    from bench import tearing

    return tearing.run(BenchEnv(Path(root)), stride=stride)


def run(env: BenchEnv, counts: Counts = Counts(), workers: int = 2, seed: int = 8) -> list[Campaign]:
    """All card-side campaigns; APDU and verifier work split over `workers` processes."""
    root = str(env.root)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        per = max(1, workers)
        apdu_jobs = [pool.submit(_apdu_worker, root, counts.apdus // per + (i < counts.apdus % per), seed + i)
                     for i in range(per)]
        response_job = pool.submit(_verifier_worker, root, "responses", counts.responses, seed)
        image_job = pool.submit(_verifier_worker, root, "images", counts.images, seed)
        tearing_job = pool.submit(_tearing_worker, root, counts.tearing_stride)
        apdus = Campaign("random and mutated APDUs into the virtual card")
        for job in apdu_jobs:
            apdus.merge(job.result())
        verifier = Campaign("malformed images and responses into the verifier")
        verifier.merge(response_job.result())
        verifier.merge(image_job.result())
        return [apdus, verifier, tearing_job.result()]


def figures(campaigns: list[Campaign], required: dict[str, int]) -> list[Figure]:
    out = []
    for c in campaigns:
        need = required.get(c.name)
        detail = ", ".join(f"{k} {v}" for k, v in sorted(c.counts.items()) if not k.startswith("sw "))
        out.append(Figure(SECTION, c.name, c.cases, "cases", reference=need,
                          reference_name=f"required ≥ {need:,}" if need else "", target=need,
                          note=f"{c.seconds:.0f} s; {detail}"[:400]))
        out.append(Figure(SECTION, "  failures", c.failures, "", target=0, higher_is_better=False,
                          note="; ".join(c.examples[:3])))
    return out


REQUIRED = {"random and mutated APDUs into the virtual card": APDUS_REQUIRED,
            "malformed images and responses into the verifier": VERIFIER_REQUIRED}
