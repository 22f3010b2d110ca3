"""CardSession against the in-process virtual card: files, records, long data, APDU economy."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.errors import (
    CardError,
    ConditionsNotSatisfied,
    FileExists,
    FileNotFound,
    FileTerminated,
    NotEnoughMemory,
    RecordNotFound,
    SecurityStatusNotSatisfied,
)
from cardsvc.iso7816.fcp import (
    ALWAYS,
    NEVER,
    AccessCondition,
    EfOp,
    Fcp,
    FileStructure,
    LifeCycle,
    SecurityAttributes,
)
from cardsvc.iso7816.tlv import parse_single
from cardsvc.iso7816.traffic import TRAFFIC
from cardsvc.protocol import LeCache
from cardsvc.session import CardSession
from cardsvc.transport.scripted import RecordingConnection
from simulator import InProcessConnection, VirtualCard
from tests.card_support import grant

AID = bytes.fromhex("D156000001010001")
BIG = 20_000


def pattern(n: int, seed: int = 7) -> bytes:
    return bytes((i * seed + i // 256) % 256 for i in range(n))


def open_session(card: VirtualCard, **kwargs: object) -> tuple[CardSession, RecordingConnection]:
    wire = RecordingConnection(InProcessConnection(card))
    return CardSession(wire, **kwargs), wire  # type: ignore[arg-type]


@pytest.fixture
def card() -> VirtualCard:
    """A card holding ADF permit: EF 0101 (20,000 bytes, SFI 1), linear variable EF 0102 (SFI 2),
    linear fixed EF 0103 (SFI 3), cyclic EF 0104 (SFI 4)."""
    card = VirtualCard.blank()
    session, _ = open_session(card)
    session.create_file(Fcp(0xDF01, FileStructure.DF, df_name=AID))
    session.create_file(Fcp(0x0101, FileStructure.TRANSPARENT, size=BIG, sfi=1))
    session.select_aid(AID)
    session.create_file(Fcp(0x0102, FileStructure.LINEAR_VARIABLE, record_length=200, record_count=20, sfi=2))
    session.select_aid(AID)
    session.create_file(Fcp(0x0103, FileStructure.LINEAR_FIXED, record_length=8, record_count=3, sfi=3))
    session.select_aid(AID)
    session.create_file(Fcp(0x0104, FileStructure.CYCLIC, record_length=4, record_count=2, sfi=4))
    return card


def test_card_advertises_extended_length_and_chaining(card: VirtualCard) -> None:
    session, _ = open_session(card)
    assert (session.extended, session.chaining, session.max_le) == (True, True, 65536)


def test_20000_bytes_extended_one_apdu_each_way(card: VirtualCard) -> None:
    session, wire = open_session(card)
    session.select_aid(AID)
    wire.reset_counts()
    data = pattern(BIG)
    session.update_binary(data, sfi=1)
    assert len(wire.commands) == 1 and len(wire.commands[0]) == 4 + 3 + BIG  # extended Lc
    assert session.read_binary(sfi=1) == data
    assert len(wire.commands) == 2 and wire.bytes_received == BIG  # no byte read twice


def test_20000_bytes_short_apdus_with_chaining(card: VirtualCard) -> None:
    session, wire = open_session(card, extended=False)
    session.select_aid(AID)
    wire.reset_counts()
    data = pattern(BIG, seed=13)
    session.update_binary(data, sfi=1)
    assert len(wire.commands) == 79  # ceil(20000 / 255) chained short commands
    assert all(len(c) <= 5 + 255 for c in wire.commands)
    assert [c[0] for c in wire.commands] == [0x10] * 78 + [0x00]
    wire.reset_counts()
    assert session.read_binary(sfi=1) == data
    assert len(wire.commands) == 79 and wire.bytes_received == BIG  # ceil(20000 / 256), each byte once


def test_both_forms_write_the_same_card_content(card: VirtualCard) -> None:
    data = pattern(BIG, seed=3)
    short, _ = open_session(card, extended=False)
    short.select_aid(AID)
    short.update_binary(data, sfi=1)
    extended, _ = open_session(card)
    extended.select_aid(AID)
    assert extended.read_binary(sfi=1) == data
    assert extended.read_binary(sfi=1, offset=19_990, length=50) == data[19_990:]


def test_offsets_beyond_32767_use_odd_ins_both_ways() -> None:
    card = VirtualCard.blank()
    session, wire = open_session(card)
    session.create_file(Fcp(0x0105, FileStructure.TRANSPARENT, size=40_000, sfi=5))
    tail = pattern(5000, seed=11)
    wire.reset_counts()
    session.update_binary(tail, offset=35_000, sfi=5)
    assert wire.commands[0][1] == 0xD7  # SFI with offset > 255 and > 32767: odd INS, DO 54 + DO 53
    assert session.read_binary(sfi=5, offset=35_000) == tail
    assert session.read_binary(offset=32_760, length=10) == bytes(10)  # not yet written
    short, _ = open_session(card, extended=False)
    assert short.read_binary(sfi=5, offset=34_990, length=600) == bytes(10) + tail[:590]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(0, BIG - 1), size=st.integers(1, 3000), extended=st.booleans(),
       adaptive=st.sampled_from([None, 223, 128]))
def test_any_slice_round_trips(card: VirtualCard, offset: int, size: int, extended: bool,
                               adaptive: int | None) -> None:
    size = min(size, BIG - offset)
    cache = LeCache()
    session, wire = open_session(card, extended=extended, le_cache=cache)
    if adaptive is not None:
        cache.lower(session.connection.atr, adaptive)  # as if the card had refused larger Le
    session.select_aid(AID)
    data = pattern(size, seed=offset % 200 + 1)
    session.update_binary(data, offset=offset, sfi=1)
    wire.reset_counts()
    assert session.read_binary(sfi=1, offset=offset, length=size) == data
    assert payload(wire) == size  # no byte read twice, none beyond the slice


def payload(wire: RecordingConnection) -> int:
    """File bytes received: response data, minus the DO 53 wrapper of odd-INS READ BINARY answers."""
    return sum(len(parse_single(data).value) if cmd[1] == 0xB1 else len(data)
               for cmd, (data, _) in zip(wire.commands, wire.responses, strict=True))


class SmallBufferReader:
    """The virtual card behind a 192-byte response buffer: READ BINARY with a larger Le gets 6700."""

    def __init__(self, card: VirtualCard) -> None:
        self.inner = InProcessConnection(card)
        self.atr = self.inner.atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        command = CommandApdu.parse(apdu)
        if command.ins == 0xB0 and command.le is not None and command.le > 192:
            return b"", 0x6700
        return self.inner.transmit(apdu)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize(("extended", "refusals"), [(False, 2), (True, 10)])
def test_adaptive_le_finds_the_cards_limit_once(card: VirtualCard, extended: bool, refusals: int) -> None:
    data = pattern(BIG, seed=5)
    writer, _ = open_session(card)
    writer.select_aid(AID)
    writer.update_binary(data, sfi=1)
    cache = LeCache()
    first = RecordingConnection(SmallBufferReader(card))  # type: ignore[arg-type]
    session = CardSession(first, extended=extended, le_cache=cache)
    session.select_aid(AID)
    first.reset_counts()
    assert session.read_binary(sfi=1) == data
    # 256 → 223 → 192 (short) or 65536 → … → 256 → 223 → 192 (extended), then 192-byte reads.
    assert sum(sw == 0x6700 for _, sw in first.responses) == refusals
    assert len(first.commands) == refusals + -(-BIG // 192)
    again = RecordingConnection(SmallBufferReader(card))  # type: ignore[arg-type]
    session = CardSession(again, extended=extended, le_cache=cache)  # same card (ATR): remembered
    session.select_aid(AID)
    again.reset_counts()
    assert session.read_binary(sfi=1) == data
    assert len(again.commands) == -(-BIG // 192) and again.bytes_received == BIG


def test_records_append_read_update(card: VirtualCard) -> None:
    session, _ = open_session(card, extended=False)
    session.select_aid(AID)
    assert session.read_records(sfi=2) == []
    entries = [f"endorsement {i}".encode() * (i + 1) for i in range(5)]
    for entry in entries:
        session.append_record(entry, sfi=2)
    assert session.read_records(sfi=2) == entries
    session.update_record(2, b"corrected", sfi=2)
    assert session.read_record(2, sfi=2) == b"corrected"
    with pytest.raises(RecordNotFound, match="READ RECORD 9"):
        session.read_record(9, sfi=2)


def test_linear_fixed_full_and_cyclic_wraps(card: VirtualCard) -> None:
    session, _ = open_session(card)
    session.select_aid(AID)
    for i in range(3):
        session.append_record(bytes([i]) * 8, sfi=3)
    with pytest.raises(NotEnoughMemory, match="APPEND RECORD"):
        session.append_record(b"\xff" * 8, sfi=3)
    for i in range(3):
        session.append_record(bytes([i]) * 4, sfi=4)
    assert session.read_records(sfi=4) == [b"\x02" * 4, b"\x01" * 4]  # record 1 is the newest


def test_select_forms_and_fcp(card: VirtualCard) -> None:
    session, _ = open_session(card)
    assert Fcp.parse(session.select_aid(AID, fci=True)).df_name == AID
    fcp = Fcp.parse(session.select_path([0x3F00, 0xDF01, 0x0101], fcp=True))
    assert (fcp.fid, fcp.size, fcp.sfi) == (0x0101, BIG, 1)
    session.select_mf()
    session.select_fid(0xDF01)
    assert session.file_info(0x0102).record_length == 200
    with pytest.raises(FileNotFound, match="SELECT FID 0999: 6A82"):
        session.select_fid(0x0999)


def test_file_management_and_life_cycle(card: VirtualCard) -> None:
    session, _ = open_session(card)
    session.select_aid(AID)
    session.create_file(Fcp(0x0106, FileStructure.TRANSPARENT, size=16, sfi=6))
    with pytest.raises(FileExists):
        session.create_file(Fcp(0x0106, FileStructure.TRANSPARENT, size=16))
    session.update_binary(b"x" * 16, sfi=6)
    session.deactivate_file(0x0106)
    with pytest.raises(ConditionsNotSatisfied, match="READ BINARY SFI 06"):
        session.read_binary(sfi=6)
    session.activate_file(0x0106)
    assert session.read_binary(sfi=6) == b"x" * 16
    session.terminate_file(0x0106)
    with pytest.raises(FileTerminated, match="SELECT FID 0106: 6285") as terminated:
        session.file_info(0x0106)  # selected, with the warning 6285 and the FCP in the error's data
    assert Fcp.parse(terminated.value.data).lifecycle == LifeCycle.TERMINATED
    with pytest.raises(ConditionsNotSatisfied):
        session.read_binary(sfi=6)
    session.select_aid(AID)
    session.delete_file(0x0106)
    with pytest.raises(FileNotFound):
        session.select_fid(0x0106)


def test_access_conditions_surface_as_typed_errors() -> None:
    card = VirtualCard.blank(None)  # a plain, ACTIVATED MF: the EF's rules bind once it is activated
    session, _ = open_session(card)
    rules = SecurityAttributes({EfOp.READ: AccessCondition(key_ref=3), EfOp.UPDATE: NEVER,
                                EfOp.ACTIVATE: ALWAYS})
    session.create_file(Fcp(0x0107, FileStructure.TRANSPARENT, size=8, sfi=7, security=rules,
                            lifecycle=LifeCycle.INITIALISATION))
    session.update_binary(b"personal", sfi=7)  # allowed while being personalised
    session.activate_file(0x0107)
    with pytest.raises(SecurityStatusNotSatisfied, match="READ BINARY SFI 07 offset 0: 6982"):
        session.read_binary(sfi=7)
    with pytest.raises(SecurityStatusNotSatisfied, match="UPDATE BINARY"):
        session.update_binary(b"changed!", sfi=7)
    grant(card, 3)
    assert session.read_binary(sfi=7) == b"personal"


def test_data_objects_and_send(card: VirtualCard) -> None:
    session, _ = open_session(card)
    # EF.ATR (2F01) holds the extended-length information DO 7F66 (ISO 7816-4 §12.7.1).
    session.select_fid(0x2F01)
    assert session.read_binary()[:2] == b"\x7f\x66"
    response = session.send(CommandApdu(0x00, 0xA4, 0x00, 0x0C, b"\x3f\x00"))
    assert response.sw == 0x9000


def test_power_loss_is_a_card_error_not_a_crash(card: VirtualCard) -> None:
    session, _ = open_session(card)
    session.select_aid(AID)
    card.power_off()
    with pytest.raises(CardError, match="not powered"):
        session.read_binary(sfi=1, length=4)


def test_traffic_log_through_the_card(card: VirtualCard, caplog: pytest.LogCaptureFixture) -> None:
    session, _ = open_session(card)
    with caplog.at_level(TRAFFIC, logger="cardsvc.protocol"):
        session.select_aid(AID)
    messages = [r.getMessage() for r in caplog.records if r.levelno == TRAFFIC]
    assert messages == ["> 00 A4 04 0C 08 D1 56 00 00 01 01 00 01", "< 9000"]
    # The level is a number below DEBUG; its name is not ours alone (uvicorn names level 5 "TRACE").
    assert TRAFFIC < logging.DEBUG
