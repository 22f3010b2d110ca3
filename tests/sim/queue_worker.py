"""One issuance station process for test_issuance_queue: takes jobs from the registry's queue
(`claim_next`, a database lease) until it is empty, writes each on a fresh virtual card, and prints the
ids of the jobs it ran, one a line.  Run as `python -m tests.sim.queue_worker URL KEYDIR LAYOUT SEED N`."""

from __future__ import annotations

import datetime as dt
import os
import sys

from cardsvc.issuance.jobs import IssuanceService
from cardsvc.issuance.keys import StationKeys
from cardsvc.layout import builtin_layout
from cardsvc.registry import jobs as registry_jobs
from cardsvc.registry import make_engine, session_factory
from cardsvc.registry.models import Card
from cardsvc.security.keystore import EncryptedFileKeyStore
from cardsvc.session import CardSession
from simulator.transport import InProcessConnection
from tests.issuance_support import ACTOR, blank_card, request_for, sample_permit, variant


def main(url: str, keydir: str, layout_id: str, seed: int, count: int) -> None:
    layout = builtin_layout(layout_id)
    base = sample_permit(layout, seed)
    permits = {p.card_number: p for p in (variant(base, layout, n) for n in range(1, count + 1))}
    factory = session_factory(make_engine(url))
    store = EncryptedFileKeyStore.for_layouts(keydir, [layout], cache_private_keys=True)
    service = IssuanceService(factory, ACTOR, StationKeys(store))
    owner = f"queue-worker:{os.getpid()}"
    while True:
        with factory.begin() as s:
            row = registry_jobs.claim_next(s, owner, at=dt.datetime.now(dt.UTC))
            if row is None:
                break
            job_id = row.id
            card = s.get(Card, row.card_id)
            assert card is not None
            request = request_for(permits[card.card_number], layout, row.idempotency_key)
        try:
            outcome = service.run(job_id, request, CardSession(InProcessConnection(blank_card())), owner=owner)
        finally:
            with factory.begin() as s:
                registry_jobs.release(s, job_id, owner)
        print(job_id, outcome.state.value, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
