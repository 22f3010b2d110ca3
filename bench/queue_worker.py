"""One service process of the scale bench's queue run: takes jobs from the registry's queue (`claim_next`,
a database lease) until it is empty and writes each onto a fresh in-process virtual card.

    python -m bench.queue_worker URL KEYDIR LAYOUT SEED

Prints "ready" once imports and keys are loaded, waits for a line on stdin (so every process starts at
once), then prints "<job id> <state>" per job run and "done <seconds>" at the end."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

from bench.cards import blank_card, issue
from bench.env import BenchEnv, bench_permit, other_holder, renumbered
from cardsvc.issuance.jobs import IssuanceService, IssueRequest
from cardsvc.layout import builtin_layout
from cardsvc.registry import Actor, make_engine, session_factory
from cardsvc.registry import jobs as registry_jobs
from cardsvc.registry.models import Card
from cardsvc.session import CardSession
from simulator import InProcessConnection

ACTOR = Actor(station_id="bench-print", operator="bench", role="print_station")


def main(url: str, keydir: str, layout_id: str, seed: int) -> None:
    layout = builtin_layout(layout_id)
    base = bench_permit(layout, seed, photo_bytes=None)
    env = BenchEnv(Path(keydir).parent)
    # One card issued outside the registry first: every key this permit needs is unlocked (PBKDF2) before
    # the clock starts, in each process alike.
    issue(env, layout, renumbered(base, layout, 999_999), InProcessConnection(blank_card()))
    factory = session_factory(make_engine(url))
    service = IssuanceService(factory, ACTOR, env.keys)
    owner = f"bench-queue:{os.getpid()}"
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    while True:
        with factory.begin() as s:
            row = registry_jobs.claim_next(s, owner, at=dt.datetime.now(dt.UTC))
            if row is None:
                break
            job_id, key = row.id, row.idempotency_key
            card = s.get(Card, row.card_id)
            assert card is not None
            digits = layout.card_number.serial_digits  # bench.env.renumbered: serial 10^(d-1) + n for permit n
            n = int(card.card_number[-1 - digits:-1]) - 10 ** (digits - 1)
            permit = other_holder(renumbered(base, layout, n), n)
        try:
            outcome = service.run(job_id, IssueRequest(permit, layout, key),
                                  CardSession(InProcessConnection(blank_card())), owner=owner)
        finally:
            with factory.begin() as s:
                registry_jobs.release(s, job_id, owner)
        print(job_id, outcome.state.value, flush=True)
    print(f"done {time.perf_counter() - started:.3f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
