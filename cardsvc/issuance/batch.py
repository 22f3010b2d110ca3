"""A batch of issuance jobs across several readers at once: one thread per reader, one card at a time
per reader, a shared queue of requests, per-card progress.

Each reader is a `CardFeed`: it hands out a connection to the next blank card in its reader and takes the
finished card back (a station asks the operator to swap cards; tests start and stop virtual cards). A
request whose card fails is retried once on the same card (the job resumes: the partial card is wiped
or finished), then reported; the batch goes on with the next request either way.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cardsvc.iso7816.errors import CardError
from cardsvc.issuance.jobs import IssuanceService, IssueOutcome, IssueRequest
from cardsvc.protocol import LeCache
from cardsvc.registry.models import JobState
from cardsvc.session import CardSession
from cardsvc.transport.base import Connection

log = logging.getLogger(__name__)


class CardFeed(Protocol):
    """One reader of the batch."""

    @property
    def name(self) -> str: ...

    def next_card(self) -> Connection:
        """Block until a blank card is in the reader; connect to it."""
        ...

    def release(self, connection: Connection, outcome: IssueOutcome | None) -> None:
        """The card is done (issued, or failed and set aside): disconnect and let it go."""
        ...


@dataclass(frozen=True, slots=True)
class CardProgress:
    reader: str
    index: int  # position of the request in the batch
    card_number: str
    step: int
    steps: int
    what: str  # the step being done, or "issued" / "failed: …" at the end
    finished: bool = False


@dataclass(slots=True)
class BatchResult:
    outcomes: dict[int, IssueOutcome] = field(default_factory=dict)  # by request index
    readers: dict[int, str] = field(default_factory=dict)  # request index → reader that wrote it
    errors: dict[int, str] = field(default_factory=dict)  # requests that never got an outcome
    seconds: float = 0.0

    @property
    def issued(self) -> int:
        return sum(1 for o in self.outcomes.values() if o.issued)

    @property
    def failed(self) -> int:
        return len(self.outcomes) + len(self.errors) - self.issued

    def per_reader(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for index, reader in self.readers.items():
            if index in self.outcomes and self.outcomes[index].issued:
                counts[reader] = counts.get(reader, 0) + 1
        return counts


def run_batch(service: IssuanceService, requests: Sequence[IssueRequest], feeds: Sequence[CardFeed], *,
              progress: Callable[[CardProgress], None] | None = None, retries: int = 1) -> BatchResult:
    """Issue every request on the cards the feeds hand out, all readers at once."""
    if not feeds:
        raise ValueError("feeds: a batch needs at least one reader")
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(requests)):
        todo.put(index)
    result = BatchResult()
    lock = threading.Lock()
    started = time.perf_counter()

    def report(p: CardProgress) -> None:
        if progress is not None:
            with lock:  # one callback at a time: progress bars are not thread-safe
                progress(p)

    def worker(feed: CardFeed) -> None:
        le_cache = LeCache()  # per reader: the Le limits of the cards in it
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            request = requests[index]
            number = request.permit.card_number
            with lock:
                result.readers[index] = feed.name
            connection: Connection | None = None
            outcome: IssueOutcome | None = None
            try:
                connection = feed.next_card()
                session = CardSession(connection, le_cache=le_cache)

                def step(done: int, steps: int, what: str, index: int = index, number: str = number) -> None:
                    report(CardProgress(feed.name, index, number, done, steps, what))

                for _attempt in range(1 + retries):
                    outcome = service.issue(request, session, progress=step)
                    if outcome.state is not JobState.FAILED_RETRYABLE:
                        break
                    log.info("reader %s: retrying card %s after: %s", feed.name, number, outcome.error)
                assert outcome is not None
                with lock:
                    result.outcomes[index] = outcome
                what = "issued" if outcome.issued else f"failed: {outcome.error}"
                report(CardProgress(feed.name, index, number, 1, 1, what, finished=True))
            except (CardError, OSError) as exc:
                with lock:
                    result.errors[index] = f"{type(exc).__name__}: {exc}"
                report(CardProgress(feed.name, index, number, 1, 1, f"failed: {exc}", finished=True))
            finally:
                if connection is not None:
                    try:
                        feed.release(connection, outcome)
                    except (CardError, OSError) as exc:
                        log.warning("reader %s: releasing the card failed: %s", feed.name, exc)

    threads = [threading.Thread(target=worker, args=(feed,), name=f"issue-{feed.name}", daemon=True)
               for feed in feeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    return result
