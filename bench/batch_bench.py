"""A batch of 50 cards across both vpcd readers (cardsvc.issuance.batch.run_batch through the registry's
job state machine): cards per minute, beside what card handling alone allows.

Every card is a blank `python -m simulator` process put into the reader and pulled when done (what an
operator's hands do at a real station). The ceiling is measured in the same run: the same insert →
connect → pull cycle with nothing written, on both readers at once — the batch cannot beat its card
handling, whatever the issuance costs. (pcscd notices a card by polling about every 400 ms, so both
figures scatter by several percent from run to run.)
"""

from __future__ import annotations

import itertools
import tempfile
import threading
import time
from pathlib import Path

from bench.env import BenchEnv, bench_permit, renumbered
from bench.report import Figure, not_run
from cardsvc.iso7816.errors import CardError
from cardsvc.issuance.batch import run_batch
from cardsvc.issuance.demo import register_permit
from cardsvc.issuance.jobs import IssuanceService, IssueOutcome, IssueRequest
from cardsvc.layout import builtin_layout
from cardsvc.registry import Actor, make_engine, migrate, session_factory
from cardsvc.transport.base import Connection
from simulator import VirtualCard

SECTION = "batch"
ACTOR = Actor(station_id="BENCH-PRINT-01", operator="bench", role="print_station")
_serial = itertools.count(1)


class VpcdFeed:
    """One vpcd reader: a fresh blank virtual card process per request, pulled when done."""

    def __init__(self, port: int, directory: Path) -> None:
        from devtools.pcsc_stack import READERS, SimulatorCard

        self._card_type = SimulatorCard
        self.port = port
        self.reader = READERS[port]
        self.directory = directory
        self._current: SimulatorCard | None = None

    @property
    def name(self) -> str:
        return self.reader

    def next_card(self) -> Connection:
        from cardsvc.transport.pcsc import connect

        image = self.directory / f"card-{self.port}-{next(_serial)}.cbor"
        VirtualCard.blank().save(image)
        self._current = self._card_type(image, self.port)
        self._current.insert()
        return connect(self.reader, exclusive=True, wait=5.0)

    def release(self, connection: Connection, outcome: IssueOutcome | None) -> None:
        connection.close()
        if self._current is not None:
            self._current.remove()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.remove()
            self._current = None


def handling_ceiling(directory: Path, cards_per_reader: int = 8) -> float:
    """Cards per minute of insert → connect → pull alone, both readers at once."""
    from devtools.pcsc_stack import READERS

    feeds = [VpcdFeed(port, directory) for port in sorted(READERS)]

    def cycle(feed: VpcdFeed) -> None:
        for _ in range(cards_per_reader):
            feed.release(feed.next_card(), None)

    threads = [threading.Thread(target=cycle, args=(f,)) for f in feeds]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(feeds) * cards_per_reader * 60 / (time.perf_counter() - start)


def measure(env: BenchEnv, cards: int = 50) -> list[Figure]:
    from devtools.pcsc_stack import unavailable_reason, wait_readers_free

    reason = unavailable_reason() or wait_readers_free()
    if reason is not None:
        return [not_run(SECTION, f"{cards} cards across both vpcd readers", "cards/min", reason)]
    try:
        return _measure(env, cards)
    except CardError as exc:  # e.g. another process took a reader mid-run
        return [not_run(SECTION, f"{cards} cards across both vpcd readers", "cards/min", str(exc))]


def _measure(env: BenchEnv, cards: int) -> list[Figure]:
    from devtools.pcsc_stack import READERS, PcscService

    layout = builtin_layout("zz")
    base = bench_permit(layout, 77)
    permits = [renumbered(base, layout, 2000 + n) for n in range(cards)]
    with tempfile.TemporaryDirectory(prefix="cardsvc-batch-") as tmp:
        directory = Path(tmp)
        url = f"sqlite:///{directory / 'registry.sqlite3'}"
        migrate(url)
        engine = make_engine(url)
        try:
            factory = session_factory(engine)
            for permit in permits:
                register_permit(factory, ACTOR, permit, layout)
            requests = [IssueRequest(p, layout, f"bench-{p.card_number}") for p in permits]
            with PcscService(log_path=directory / "pcscd.log"):
                ceiling = handling_ceiling(directory)
                feeds = [VpcdFeed(port, directory) for port in sorted(READERS)]
                try:
                    result = run_batch(IssuanceService(factory, ACTOR, env.keys), requests, feeds)
                finally:
                    for feed in feeds:
                        feed.close()
        finally:
            engine.dispose()
    rate = result.issued * 60 / result.seconds if result.seconds else float("nan")
    per_reader = ", ".join(f"{name.split()[-1]}: {n}" for name, n in sorted(result.per_reader().items()))
    errors = list(result.errors.values()) + [o.error or "" for o in result.outcomes.values() if not o.issued]
    return [Figure(SECTION, f"{cards} cards (ZZ, 15 KB photo) across both vpcd readers", rate, "cards/min",
                   reference=ceiling,
                   reference_name="card handling alone (insert, connect, pull; pcscd polls ~400 ms): ratio ≈ 1 "
                                  "means issuing adds nothing the card handling does not already take",
                   note=f"{result.issued}/{cards} issued in {result.seconds:.1f} s (reader {per_reader})"
                        + (f"; {len(errors)} failed: {errors[0]}" if errors else ""))]
