"""Card-event monitor and PC/SC error translation, without a PC/SC service (fake status source)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from cardsvc.iso7816.errors import CardError
from cardsvc.transport.base import ReaderStatus, split_response
from cardsvc.transport.errors import (
    CardRemovedError,
    CardWaitTimeout,
    NoCardError,
    ReaderUnavailableError,
    TransportError,
)
from cardsvc.transport.monitor import CardEvent, CardEventKind, CardMonitor, diff

ATR = bytes.fromhex("3B8501807300C0")


def st(name: str, present: bool, events: int = 0, atr: bytes = ATR) -> ReaderStatus:
    return ReaderStatus(name, present, atr if present else b"", events=events, raw_state=events << 16 | 1)


class FakeSource:
    """Plays a list of reader worlds, one per wait; then blocks until cancelled like SCardCancel."""

    def __init__(self, worlds: list[list[ReaderStatus]], fail_after: Exception | None = None) -> None:
        self.worlds = worlds
        self.index = 0
        self.fail_after = fail_after
        self.cancelled = threading.Event()
        self.closed = False

    def _world(self) -> list[ReaderStatus]:
        return self.worlds[min(self.index, len(self.worlds) - 1)]

    def reader_names(self) -> list[str]:
        if self.index >= len(self.worlds) and self.fail_after is not None:
            raise self.fail_after
        return [s.name for s in self._world()]

    def statuses(self, names: Sequence[str] | None = None) -> list[ReaderStatus]:
        return [s for s in self._world() if names is None or s.name in names]

    def wait_for_change(self, known: Sequence[ReaderStatus], timeout: float) -> list[ReaderStatus] | None:
        if self.index + 1 < len(self.worlds):
            self.index += 1
            names = {k.name for k in known}
            return [s for s in self._world() if s.name in names]
        self.index = len(self.worlds)
        self.cancelled.wait(timeout)
        return None

    def cancel(self) -> None:
        self.cancelled.set()

    def close(self) -> None:
        self.closed = True


def drain(monitor: CardMonitor, count: int) -> list[CardEvent]:
    events: list[CardEvent] = []
    for _ in range(count):
        event = monitor.get(timeout=2)
        assert event is not None, f"only {len(events)} of {count} events arrived: {events}"
        events.append(event)
    return events


def test_insert_remove_and_reinsert_between_looks() -> None:
    source = FakeSource([
        [st("R0", False), st("R1", True, 1)],
        [st("R0", True, 1), st("R1", True, 1)],
        [st("R0", False, 2), st("R1", True, 1)],
        [st("R0", False, 2), st("R1", True, 3, atr=b"\x3b\x00")],  # pulled and re-inserted unseen
    ])
    seen: list[CardEvent] = []
    with CardMonitor(source_factory=lambda: source, poll=0.05, on_event=seen.append) as monitor:
        events = drain(monitor, 5)
        assert monitor.get(timeout=0.1) is None
    assert events == [
        CardEvent(CardEventKind.INSERTED, "R1", ATR),  # already present at start
        CardEvent(CardEventKind.INSERTED, "R0", ATR),
        CardEvent(CardEventKind.REMOVED, "R0"),
        CardEvent(CardEventKind.REMOVED, "R1"),
        CardEvent(CardEventKind.INSERTED, "R1", b"\x3b\x00"),
    ]
    assert seen == events
    assert source.closed and source.cancelled.is_set()


def test_exit_stops_and_joins_the_watcher_thread() -> None:
    source = FakeSource([[st("R0", False)]])
    before = set(threading.enumerate())
    with CardMonitor(source_factory=lambda: source, poll=5.0, report_present=False) as monitor:
        assert any(t.name == "card-monitor" for t in threading.enumerate())
        assert monitor.get(timeout=0.05) is None
    assert set(threading.enumerate()) == before  # cancelled, not left to time out
    assert source.closed


def test_readers_appearing_and_vanishing() -> None:
    source = FakeSource([
        [st("R0", False)],
        [st("R0", False), st("R1", True, 1)],
        [st("R0", False)],
    ])
    with CardMonitor(source_factory=lambda: source, poll=0.05) as monitor:
        events = drain(monitor, 4)
    assert [(e.kind, e.reader) for e in events] == [
        (CardEventKind.READER_ADDED, "R1"), (CardEventKind.INSERTED, "R1"),
        (CardEventKind.REMOVED, "R1"), (CardEventKind.READER_REMOVED, "R1"),
    ]


def test_wait_for_skips_other_events_and_times_out_with_a_clear_error() -> None:
    source = FakeSource([[st("R0", False), st("R1", False)], [st("R0", True, 1), st("R1", True, 1)]])
    with CardMonitor(source_factory=lambda: source, poll=0.05) as monitor:
        event = monitor.wait_for(CardEventKind.INSERTED, "R1", timeout=2)
        assert event == CardEvent(CardEventKind.INSERTED, "R1", ATR)
        with pytest.raises(CardWaitTimeout, match=r"no 'removed' event in reader 'R1' within 0\.2 s"):
            monitor.wait_for(CardEventKind.REMOVED, "R1", timeout=0.2)


def test_unknown_reader_fails_the_with_statement() -> None:
    source = FakeSource([[st("R0", False)]])
    with pytest.raises(ReaderUnavailableError, match="no reader named"), \
            CardMonitor(["Nope"], source_factory=lambda: source):
        pass
    assert source.closed


def test_service_failure_reaches_the_consumer() -> None:
    source = FakeSource([[st("R0", False)], [st("R0", True, 1)]],
                        fail_after=ReaderUnavailableError("pcscd went away"))
    with CardMonitor(source_factory=lambda: source, poll=0.05) as monitor:
        assert monitor.wait_for(CardEventKind.INSERTED, timeout=2).reader == "R0"
        with pytest.raises(ReaderUnavailableError, match="pcscd went away"):
            monitor.get(timeout=2)


def test_a_failing_callback_does_not_kill_the_monitor() -> None:
    source = FakeSource([[st("R0", False)], [st("R0", True, 1)], [st("R0", False, 2)]])

    def explode(event: CardEvent) -> None:
        raise RuntimeError("callback bug")

    with CardMonitor(source_factory=lambda: source, poll=0.05, on_event=explode) as monitor:
        assert [e.kind for e in drain(monitor, 2)] == [CardEventKind.INSERTED, CardEventKind.REMOVED]


@pytest.mark.parametrize(("old", "new", "kinds"), [
    (st("R", False), st("R", False), []),
    (st("R", False), st("R", True, 1), [CardEventKind.INSERTED]),
    (st("R", True, 1), st("R", False, 2), [CardEventKind.REMOVED]),
    (st("R", True, 1), st("R", True, 1), []),
    (st("R", True, 1), st("R", True, 3), [CardEventKind.REMOVED, CardEventKind.INSERTED]),
])
def test_diff(old: ReaderStatus, new: ReaderStatus, kinds: list[CardEventKind]) -> None:
    assert [e.kind for e in diff(old, new)] == kinds


# --- error translation (pcsc.py; pyscard is a core dependency, no pcscd needed) --------------------

@pytest.mark.parametrize(("hresult", "cls", "text"), [
    (0x80100069, CardRemovedError, "removed"),
    (0x80100068, CardRemovedError, "reset"),
    (0x8010000C, NoCardError, "No smart card"),
    (0x80100009, ReaderUnavailableError, "Unknown reader"),
    (0x8010001D, ReaderUnavailableError, "0x8010001D"),
    (0x8010002E, ReaderUnavailableError, "0x8010002E"),
    (0x8010000B, TransportError, "Sharing violation"),
])
def test_pcsc_errors_become_ours(hresult: int, cls: type[TransportError], text: str) -> None:
    from cardsvc.transport.pcsc import translate

    error = translate(hresult, "transmitting", "Virtual PCD 00 00")
    assert type(error) is cls and isinstance(error, CardError)
    assert "transmitting on reader 'Virtual PCD 00 00'" in str(error) and text in str(error)
    # pyscard may hand the same code back as a signed 32-bit int.
    assert type(translate(hresult - (1 << 32), "x")) is cls


def test_split_response() -> None:
    assert split_response(b"\x01\x02\x90\x00") == (b"\x01\x02", 0x9000)
    with pytest.raises(TransportError, match="too short: 1 byte"):
        split_response(b"\x90")


def test_reader_choice_by_exact_name_unique_prefix_or_first_card() -> None:
    from cardsvc.transport.pcsc import _pick_reader

    readers = [st("Virtual PCD 00 00", False), st("Virtual PCD 00 01", True, 1)]
    assert _pick_reader(readers, None) == readers[1]  # first reader holding a card
    assert _pick_reader(readers[:1], None) is None
    assert _pick_reader(readers, "Virtual PCD 00 00") == readers[0]
    assert _pick_reader([readers[0], st("ACS ACR38U 00 00", True)], "ACS") is not None  # unique prefix
    with pytest.raises(ReaderUnavailableError, match="ambiguous"):
        _pick_reader(readers, "Virtual PCD")
    with pytest.raises(ReaderUnavailableError, match=r"no reader named 'ACS'; readers: \['Virtual"):
        _pick_reader(readers, "ACS")
