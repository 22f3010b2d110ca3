"""Card-event monitor: card inserted/removed and reader added/removed, as a context manager.

No global singleton and no stray thread: the watcher thread exists only inside ``with CardMonitor()``
and is cancelled (``SCardCancel``) and joined on exit. Events are read from the monitor
(``get``/``wait_for``/iteration) or pushed to an ``on_event`` callback run on the watcher thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Protocol, Self

from cardsvc.transport.base import ReaderStatus
from cardsvc.transport.errors import CardWaitTimeout, ReaderUnavailableError, TransportError

logger = logging.getLogger(__name__)


class CardEventKind(Enum):
    INSERTED = "inserted"
    REMOVED = "removed"
    READER_ADDED = "reader added"
    READER_REMOVED = "reader removed"


@dataclass(frozen=True, slots=True)
class CardEvent:
    kind: CardEventKind
    reader: str
    atr: bytes = b""  # the inserted card's ATR (INSERTED only)


class StatusSource(Protocol):
    """What the monitor needs from PC/SC; ``cardsvc.transport.pcsc.PcscContext`` provides it."""

    def reader_names(self) -> list[str]: ...
    def statuses(self, names: Sequence[str] | None = None) -> list[ReaderStatus]: ...
    def wait_for_change(self, known: Sequence[ReaderStatus], timeout: float) -> list[ReaderStatus] | None: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...


def _default_source() -> StatusSource:
    from cardsvc.transport.pcsc import PcscContext  # imported late: only a real monitor needs pyscard

    return PcscContext()


def diff(old: ReaderStatus, new: ReaderStatus) -> list[CardEvent]:
    """The card events between two statuses of the same reader."""
    if old.present and not new.present:
        return [CardEvent(CardEventKind.REMOVED, new.name)]
    if new.present and not old.present:
        return [CardEvent(CardEventKind.INSERTED, new.name, new.atr)]
    if new.present and (new.events != old.events or new.atr != old.atr):
        # Pulled and put back (or swapped) between two looks: report both halves.
        return [CardEvent(CardEventKind.REMOVED, new.name), CardEvent(CardEventKind.INSERTED, new.name, new.atr)]
    return []


class CardMonitor:
    """Watch readers for card and reader events while the ``with`` block runs.

    ``readers``: names to watch (default: every reader, including readers that appear later).
    ``report_present``: start with an INSERTED event for each card already in a watched reader.
    ``poll``: longest single wait, so newly attached readers are seen within that time.
    """

    def __init__(
        self,
        readers: Sequence[str] | None = None,
        *,
        report_present: bool = True,
        poll: float = 0.5,
        on_event: Callable[[CardEvent], None] | None = None,
        source_factory: Callable[[], StatusSource] = _default_source,
    ) -> None:
        self._wanted = None if readers is None else list(readers)
        self._report_present = report_present
        self._poll = poll
        self._on_event = on_event
        self._source_factory = source_factory
        self._source: StatusSource | None = None
        self._queue: queue.Queue[CardEvent | BaseException] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._known: dict[str, ReaderStatus] = {}

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        if self._thread is not None:
            raise TransportError("this CardMonitor is already running")
        source = self._source_factory()
        try:
            # The first look is synchronous so "no pcscd" or "no such reader" fails the with-statement.
            for status in source.statuses(self._names(source)):
                self._known[status.name] = status
                if self._report_present and status.present:
                    self._emit(CardEvent(CardEventKind.INSERTED, status.name, status.atr))
        except BaseException:
            source.close()
            raise
        self._source = source
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="card-monitor", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the watcher thread, wait for it, release the PC/SC context. Idempotent."""
        self._stop.set()
        thread, source = self._thread, self._source
        if source is not None:
            source.cancel()
        if thread is not None:
            thread.join(timeout=self._poll + 5.0)
            if thread.is_alive():  # pragma: no cover - only if PC/SC ignores SCardCancel
                logger.warning("card monitor thread did not stop")
        if source is not None:
            source.close()
        self._thread = self._source = None

    # -- consuming events --------------------------------------------------------------------------
    def get(self, timeout: float | None = None) -> CardEvent | None:
        """The next event, or None after ``timeout`` seconds; re-raises a failure of the watcher."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def __iter__(self) -> Iterator[CardEvent]:
        """Events as they come, until the monitor is closed."""
        while not self._stop.is_set() or not self._queue.empty():
            event = self.get(timeout=self._poll)
            if event is not None:
                yield event

    def wait_for(self, kind: CardEventKind, reader: str | None = None, timeout: float = 5.0) -> CardEvent:
        """Consume events until one of ``kind`` (in ``reader`` if given) arrives; others are dropped."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            event = self.get(timeout=remaining)
            if event is not None and event.kind is kind and reader in (None, event.reader):
                return event
        where = f" in reader {reader!r}" if reader else ""
        raise CardWaitTimeout(f"no '{kind.value}' event{where} within {timeout:.1f} s")

    # -- watcher thread ----------------------------------------------------------------------------
    def _names(self, source: StatusSource) -> list[str]:
        present = source.reader_names()
        if self._wanted is None:
            return present
        missing = [n for n in self._wanted if n not in present]
        if missing and not self._known:
            raise ReaderUnavailableError(f"no reader named {missing}; readers: {present or 'none'}")
        return [n for n in self._wanted if n in present]

    def _emit(self, event: CardEvent) -> None:
        logger.debug("card event: %s %r", event.kind.value, event.reader)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # a faulty callback must not kill the watcher
                logger.exception("card event callback failed")
        self._queue.put(event)

    def _sync_readers(self, source: StatusSource) -> None:
        names = self._names(source)
        for name in [n for n in self._known if n not in names]:
            old = self._known.pop(name)
            if old.present:
                self._emit(CardEvent(CardEventKind.REMOVED, name))
            self._emit(CardEvent(CardEventKind.READER_REMOVED, name))
        added = [n for n in names if n not in self._known]
        if added:
            for status in source.statuses(added):
                self._known[status.name] = status
                self._emit(CardEvent(CardEventKind.READER_ADDED, status.name))
                if status.present:
                    self._emit(CardEvent(CardEventKind.INSERTED, status.name, status.atr))

    def _run(self) -> None:
        source = self._source
        assert source is not None
        try:
            while not self._stop.is_set():
                self._sync_readers(source)
                if not self._known:
                    self._stop.wait(self._poll)
                    continue
                try:
                    changed = source.wait_for_change(list(self._known.values()), self._poll)
                except ReaderUnavailableError:
                    # A reader vanished during the wait: the next listing reports it.
                    self._stop.wait(0.05)
                    continue
                for new in changed or []:
                    old = self._known.get(new.name)
                    if old is None:
                        continue
                    self._known[new.name] = new
                    for event in diff(old, new):
                        self._emit(event)
        except TransportError as exc:
            if not self._stop.is_set():
                logger.warning("card monitor stopped: %s", exc)
                self._queue.put(exc)
