"""The session through the real stack: pyscard → pcscd → vpcd → simulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from smartcard.Exceptions import SmartcardException

from cardsvc.iso7816.errors import CardError
from cardsvc.iso7816.fcp import Fcp, FileStructure
from cardsvc.session import CardSession
from cardsvc.transport.errors import (
    CardRemovedError,
    NoCardError,
    ReaderUnavailableError,
    TransportError,
)
from cardsvc.transport.monitor import CardEventKind, CardMonitor
from cardsvc.transport.pcsc import connect, list_readers
from cardsvc.transport.scripted import RecordingConnection
from devtools.pcsc_stack import SimulatorCard
from simulator import VirtualCard

InsertCard = Callable[..., SimulatorCard]  # the insert_card fixture (tests/pcsc/conftest.py)
AID = bytes.fromhex("D156000001010001")
SIZE = 20_000


def pattern(n: int, seed: int) -> bytes:
    return bytes((i * seed + i // 251) % 256 for i in range(n))


def personalise(session: CardSession) -> None:
    """ADF permit with a 20,000-byte transparent EF (SFI 1) and a linear variable record EF (SFI 2)."""
    session.create_file(Fcp(0xDF01, FileStructure.DF, df_name=AID))
    session.create_file(Fcp(0x0101, FileStructure.TRANSPARENT, size=SIZE, sfi=1))
    session.select_aid(AID)
    session.create_file(Fcp(0x0102, FileStructure.LINEAR_VARIABLE, record_length=128, record_count=12, sfi=2))


def test_vpcd_readers_are_listed(reader_names: dict[int, str]) -> None:
    names = {r.name for r in list_readers()}
    assert set(reader_names.values()) <= names


def test_adf_with_20000_bytes_extended_then_short_with_chaining(insert_card: InsertCard) -> None:
    sim = insert_card()
    with RecordingConnection(connect(sim.reader)) as wire:
        session = CardSession(wire)
        assert session.extended, "the virtual card's ATR advertises extended length"
        personalise(session)

        # Extended length: one command carries all 20,000 bytes; one READ BINARY by SFI reads them.
        session.select_aid(AID)
        first = pattern(SIZE, 7)
        wire.reset_counts()
        session.update_binary(first, sfi=1)
        assert [len(c) for c in wire.commands] == [4 + 3 + SIZE]
        wire.reset_counts()
        assert session.read_binary(sfi=1) == first
        assert len(wire.commands) == 1 and wire.bytes_received == SIZE

        # Forced to short APDUs: the same logical write becomes 79 chained commands (CLA b5).
        short = CardSession(wire, extended=False)
        short.select_aid(AID)
        second = pattern(SIZE, 31)
        wire.reset_counts()
        short.update_binary(second, sfi=1)
        assert len(wire.commands) == 79
        assert all(len(c) <= 260 for c in wire.commands)
        assert [c[0] & 0x10 for c in wire.commands] == [0x10] * 78 + [0]
        wire.reset_counts()
        assert short.read_binary(sfi=1) == second
        assert len(wire.commands) == 79 and wire.bytes_received == SIZE

        # Records: append, then read every record back by SFI.
        records = [f"签注 {year}: 河南省郑州市金水区".encode() for year in range(2020, 2026)]
        for record in records:
            short.append_record(record, sfi=2)
        assert short.read_records(sfi=2) == records
        assert session.read_record(3, sfi=2) == records[2]


def test_card_removed_mid_session_raises_our_error(insert_card: InsertCard) -> None:
    sim = insert_card()
    connection = connect(sim.reader)
    session = CardSession(connection)
    personalise(session)
    session.select_aid(AID)
    session.update_binary(b"before the pull", sfi=1)
    sim.toggle()  # pulled (SIGUSR1: the simulator closes its socket to vpcd)
    with pytest.raises(CardRemovedError, match="removed") as removed:
        session.read_binary(sfi=1, length=15)
    assert isinstance(removed.value, TransportError) and isinstance(removed.value, CardError)
    assert not isinstance(removed.value, SmartcardException)
    connection.close()
    with pytest.raises(NoCardError, match="no card in reader"):
        connect(sim.reader)
    sim.toggle()  # pushed back: the card kept what was written before the pull
    with CardSession(connect(sim.reader, wait=5)) as again:
        again.select_aid(AID)
        assert again.read_binary(sfi=1, length=15) == b"before the pull"


def test_card_process_killed_mid_session(insert_card: InsertCard) -> None:
    sim = insert_card()
    session = CardSession(connect(sim.reader))
    session.select_mf()
    sim.remove()
    with pytest.raises(CardRemovedError):
        session.select_mf()
    session.close()


def test_exclusive_connection_keeps_others_out(insert_card: InsertCard) -> None:
    sim = insert_card()
    with connect(sim.reader), pytest.raises(TransportError, match=r"[Ss]haring violation"):
        connect(sim.reader)
    with connect(sim.reader, exclusive=False) as one, connect(sim.reader, exclusive=False) as two:
        assert one.atr == two.atr == VirtualCard.blank().atr
        assert one.transmit(bytes.fromhex("00A4000C023F00")) == (b"", 0x9000)
    with pytest.raises(TransportError, match="is closed"):
        one.transmit(bytes.fromhex("00A4000C023F00"))


def test_unknown_reader_is_reader_unavailable() -> None:
    with pytest.raises(ReaderUnavailableError, match="no reader named 'No Such Reader'"):
        connect("No Such Reader")


def test_monitor_reports_insert_and_remove(insert_card: InsertCard, reader_names: dict[int, str]) -> None:
    reader = reader_names[35964]
    with CardMonitor([reader], report_present=False, poll=0.2) as monitor:
        sim = insert_card(port=35964)
        inserted = monitor.wait_for(CardEventKind.INSERTED, reader, timeout=5)
        assert inserted.atr == VirtualCard.blank().atr
        sim.toggle()
        monitor.wait_for(CardEventKind.REMOVED, reader, timeout=5)
        sim.toggle()
        monitor.wait_for(CardEventKind.INSERTED, reader, timeout=5)


def test_two_cards_in_two_readers_at_once(insert_card: InsertCard) -> None:
    cards: list[SimulatorCard] = [insert_card(port=35963), insert_card(port=35964)]
    sessions = [CardSession(connect(c.reader)) for c in cards]
    for i, session in enumerate(sessions):
        session.create_file(Fcp(0x0110, FileStructure.TRANSPARENT, size=32, sfi=16))
        session.update_binary(bytes([i + 1]) * 32, sfi=16)
    assert [s.read_binary(sfi=16) for s in sessions] == [b"\x01" * 32, b"\x02" * 32]
    for session in sessions:
        session.close()


def test_written_card_survives_the_simulator_process(insert_card: InsertCard) -> None:
    sim = insert_card()
    with CardSession(connect(sim.reader)) as session:
        personalise(session)
        session.select_aid(AID)
        session.update_binary(b"kept", offset=100, sfi=1)
    sim.remove()  # SIGTERM: the simulator saves the image
    card = VirtualCard.load(sim.card_file)
    reloaded = insert_card(card, port=35964)
    with CardSession(connect(reloaded.reader)) as session:
        session.select_aid(AID)
        assert session.read_binary(sfi=1, offset=100, length=4) == b"kept"
