"""Readers the service drives: one `ReaderHub` interface over PC/SC readers or in-process virtual ones.

The hub owns the reader event log (insert/remove, for the pages' live updates by long polling) and one
lock per reader, so an issuance and a counter read never interleave APDUs on the same card.
Virtual hubs (in-process, vpcd) are card-side wiring built outside cardsvc (`devtools.simreaders`, handed in
through `cardsvc.cardside.CardSide`); this module knows only `cardsvc.transport`.
"""

from __future__ import annotations

import abc
import collections
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from cardsvc.api.errors import ApiError
from cardsvc.transport import Connection, NoCardError, TransportError

log = logging.getLogger(__name__)


class ReaderEventKind(StrEnum):
    INSERTED = "inserted"
    REMOVED = "removed"
    READER_ADDED = "reader_added"
    READER_REMOVED = "reader_removed"


@dataclass(frozen=True, slots=True)
class ReaderInfo:
    name: str
    present: bool
    atr: bytes
    busy: bool


@dataclass(frozen=True, slots=True)
class ReaderEvent:
    seq: int
    kind: ReaderEventKind
    reader: str
    at: datetime


class EventLog:
    """Numbered reader events; `since(seq, timeout)` long-polls for newer ones (bounded memory)."""

    def __init__(self, keep: int = 1000) -> None:
        self._events: collections.deque[ReaderEvent] = collections.deque(maxlen=keep)
        self._seq = 0
        self._cond = threading.Condition()
        self._closed = False

    @property
    def last_seq(self) -> int:
        with self._cond:
            return self._seq

    def append(self, kind: ReaderEventKind, reader: str) -> ReaderEvent:
        with self._cond:
            self._seq += 1
            event = ReaderEvent(self._seq, kind, reader, datetime.now(UTC))
            self._events.append(event)
            self._cond.notify_all()
        log.debug("reader event %d: %s %s", event.seq, kind.value, reader)
        return event

    def since(self, after: int, timeout: float = 0.0) -> list[ReaderEvent]:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while True:
                found = [e for e in self._events if e.seq > after]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0 or self._closed:
                    return found
                self._cond.wait(remaining)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass(frozen=True, slots=True)
class DeskCard:
    """A virtual card on the developer's desk: in a reader, or lying beside them."""

    card_id: str
    reader: str | None
    label: str


class CardDesk(abc.ABC):
    """Dev mode: put virtual cards into readers and take them out (what a hand does with real cards)."""

    @abc.abstractmethod
    def cards(self) -> list[DeskCard]:
        """Every card on the desk."""

    @abc.abstractmethod
    def insert(self, reader: str, card_id: str | None) -> DeskCard:
        """Insert card `card_id` (None: a new blank card) into `reader`."""

    @abc.abstractmethod
    def remove(self, reader: str) -> DeskCard:
        """Take the card out of `reader`."""

    @abc.abstractmethod
    def image(self, card_id: str) -> bytes:
        """The card's image (CBOR), e.g. to upload for verification."""

    def close(self) -> None:  # noqa: B027 - optional hook, most desks hold nothing to release
        """Save the cards and stop whatever connects them (default: nothing to do)."""


class ReaderHub(abc.ABC):
    """Locks, event log and the `session(reader)` context manager; subclasses supply the links."""

    desk: CardDesk | None = None

    def __init__(self) -> None:
        self.events = EventLog()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- subclass interface -------------------------------------------------------------------------
    @abc.abstractmethod
    def _list(self) -> list[tuple[str, bool, bytes]]:
        """(name, card present, ATR) of every reader."""

    @abc.abstractmethod
    def _connect(self, reader: str) -> Connection:
        """A connection to the card in `reader`; raises NoCardError when there is none."""

    def close(self) -> None:
        if self.desk is not None:
            self.desk.close()
        self.events.close()

    # -- shared -------------------------------------------------------------------------------------
    def _lock(self, reader: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(reader, threading.Lock())

    def readers(self) -> list[ReaderInfo]:
        return [ReaderInfo(name, present, atr, self._lock(name).locked()) for name, present, atr in self._list()]

    def reader(self, name: str) -> ReaderInfo:
        for info in self.readers():
            if info.name == name:
                return info
        known = [r.name for r in self.readers()]
        raise ApiError(404, "unknown-reader", f"reader: no reader named {name!r}; readers: {known}", field="reader")

    @contextmanager
    def session(self, reader: str, *, wait: float = 0.0) -> Iterator[Connection]:
        """Exclusive use of the card in `reader` for one operation (409 when the reader is busy)."""
        self.reader(reader)  # 404 for an unknown name
        lock = self._lock(reader)
        acquired = lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)
        if not acquired:
            raise ApiError(409, "reader-busy", f"reader: {reader!r} is busy with another operation", field="reader")
        try:
            try:
                conn = self._connect(reader)
            except NoCardError:
                raise ApiError(409, "no-card", f"reader: no card in {reader!r}", field="reader") from None
            with conn:
                yield conn
        finally:
            lock.release()


class NoReaders(ReaderHub):
    """ReaderMode.NONE: the service runs without readers (registry, faces, QR, image verification)."""

    def _list(self) -> list[tuple[str, bool, bytes]]:
        return []

    def _connect(self, reader: str) -> Connection:
        raise ApiError(404, "unknown-reader", f"reader: {reader!r}: this service has no readers", field="reader")


class PcscHub(ReaderHub):
    """Readers through pcscd; a `CardMonitor` feeds the event log while the hub is open."""

    def __init__(self) -> None:
        super().__init__()
        from cardsvc.transport.monitor import CardEvent, CardEventKind, CardMonitor  # needs pyscard

        kinds = {CardEventKind.INSERTED: ReaderEventKind.INSERTED, CardEventKind.REMOVED: ReaderEventKind.REMOVED,
                 CardEventKind.READER_ADDED: ReaderEventKind.READER_ADDED,
                 CardEventKind.READER_REMOVED: ReaderEventKind.READER_REMOVED}

        def on_event(event: CardEvent) -> None:
            self.events.append(kinds[event.kind], event.reader)

        self._monitor = CardMonitor(report_present=False, on_event=on_event)
        try:
            self._monitor.__enter__()
        except TransportError as exc:
            raise ApiError(503, "readers-unavailable", f"PC/SC: {exc}") from None

    def _list(self) -> list[tuple[str, bool, bytes]]:
        from cardsvc.transport.pcsc import list_readers

        try:
            return [(s.name, s.present, s.atr) for s in list_readers()]
        except TransportError as exc:
            raise ApiError(503, "readers-unavailable", f"PC/SC: {exc}") from None

    def _connect(self, reader: str) -> Connection:
        from cardsvc.transport.pcsc import connect

        # pcscd notices an inserted card within ~0.4 s (design §5): a request right after insertion waits.
        return connect(reader, wait=1.0)

    def close(self) -> None:
        self._monitor.close()
        super().close()
