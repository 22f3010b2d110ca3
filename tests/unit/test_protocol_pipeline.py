"""The APDU processors against a scripted connection: golden wire bytes for every rule."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.iso7816.apdu import CommandApdu, ResponseApdu
from cardsvc.iso7816.errors import CardError, MalformedResponseError
from cardsvc.iso7816.traffic import TRAFFIC
from cardsvc.protocol import (
    AdaptiveLe,
    ExactLeRetry,
    ExtendedOrChaining,
    GetResponse,
    LeCache,
    PipelineError,
    TrafficLogger,
    build_pipeline,
    mask_command,
    next_le_step,
)
from cardsvc.transport.base import split_response
from cardsvc.transport.scripted import ScriptedConnection, ScriptMismatch

ATR_A = bytes.fromhex("3b00")
ATR_B = bytes.fromhex("3b01")


def update(data: bytes, cla: int = 0x00) -> CommandApdu:
    return CommandApdu(cla, 0xD6, 0x00, 0x00, data)


# --- ExtendedOrChaining ----------------------------------------------------------------------------

def test_extended_sends_20000_bytes_in_one_apdu() -> None:
    data = bytes(range(256)) * 78 + bytes(32)  # 20000 bytes
    conn = ScriptedConnection([(bytes.fromhex("00D60000004E20") + data, "9000")])
    response = ExtendedOrChaining(conn, extended=True).send(update(data))
    assert response == ResponseApdu(b"", 0x9000)
    assert conn.done


def test_extended_mode_still_uses_short_encoding_when_it_fits() -> None:
    conn = ScriptedConnection([("00A4000C023F00", "9000")])
    ExtendedOrChaining(conn, extended=True).send(CommandApdu(0, 0xA4, 0, 0x0C, b"\x3f\x00"))
    assert conn.done


def test_short_mode_chains_600_bytes_with_cla_b5_on_all_but_last() -> None:
    data = bytes(range(200)) * 3
    conn = ScriptedConnection([
        (bytes.fromhex("10D60000FF") + data[:255], "9000"),
        (bytes.fromhex("10D60000FF") + data[255:510], "9000"),
        (bytes.fromhex("00D600005A") + data[510:], "9000"),
    ])
    assert ExtendedOrChaining(conn, extended=False).send(update(data)).sw == 0x9000
    assert conn.done


def test_chain_keeps_logical_channel_bits_and_le_goes_on_the_last_command_only() -> None:
    data = bytes(300)
    conn = ScriptedConnection([
        (bytes.fromhex("13880000FF") + data[:255], "9000"),
        (bytes.fromhex("038800002D") + data[255:] + b"\x00", "0102039000"),
    ])
    response = ExtendedOrChaining(conn, extended=False).send(CommandApdu(0x03, 0x88, 0, 0, data, le=256))
    assert response == ResponseApdu(b"\x01\x02\x03", 0x9000)


def test_chain_refused_midway_stops_and_reports_the_cards_answer() -> None:
    conn = ScriptedConnection([(bytes.fromhex("10D60000FF") + bytes(255), "6884")])
    response = ExtendedOrChaining(conn, extended=False).send(update(bytes(600)))
    assert response.sw == 0x6884
    assert conn.done  # no further fragment was sent


def test_extended_chaining_above_max_data() -> None:
    data = bytes(range(250)) * 4
    conn = ScriptedConnection([
        (bytes.fromhex("10D6000000" "0190") + data[:400], "9000"),
        (bytes.fromhex("10D6000000" "0190") + data[400:800], "9000"),
        (bytes.fromhex("00D60000C8") + data[800:], "9000"),
    ])
    ExtendedOrChaining(conn, extended=True, max_data=400).send(update(data))
    assert conn.done


def test_proprietary_cla_cannot_be_chained() -> None:
    conn = ScriptedConnection([])
    with pytest.raises(PipelineError, match="proprietary CLA 80"):
        ExtendedOrChaining(conn, extended=False).send(update(bytes(256), cla=0x80))
    assert conn.sent == []


def test_short_mode_caps_le_at_256() -> None:
    conn = ScriptedConnection([("00B0000000", "AA" * 256 + "9000")])
    response = ExtendedOrChaining(conn, extended=False).send(CommandApdu(0, 0xB0, 0, 0, le=65536))
    assert len(response.data) == 256


def test_invalid_max_data_is_refused() -> None:
    with pytest.raises(ValueError, match="max_data"):
        ExtendedOrChaining(ScriptedConnection([]), extended=False, max_data=0)


@pytest.mark.parametrize(("response", "message"), [
    ("1234", "INS B0: SW1 12 is not a status byte"),
    ("AA", "too short"),  # the connection itself refuses fewer than two bytes
    ("0102039000", "INS B0: card returned 3 data bytes for Le=2"),
])
def test_malformed_card_responses_are_clear_errors(response: str, message: str) -> None:
    class Raw:
        atr = ATR_A

        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            return split_response(bytes.fromhex(response))

        def close(self) -> None: ...

    with pytest.raises(CardError, match=message):
        ExtendedOrChaining(Raw(), extended=False).send(  # type: ignore[arg-type]
            CommandApdu(0, 0xB0, 0, 0, le=2))


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 1200), extended=st.booleans(), cap=st.integers(1, 500))
def test_chaining_reassembles_exactly(size: int, extended: bool, cap: int) -> None:
    """Whatever the split, the card sees the data once, in order, with b5 on all but the last."""
    data = bytes(i % 251 for i in range(size))

    class Recorder:
        atr = ATR_A

        def __init__(self) -> None:
            self.fragments: list[CommandApdu] = []

        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            self.fragments.append(CommandApdu.parse(apdu))
            return b"", 0x9000

        def close(self) -> None: ...

    rec = Recorder()
    ExtendedOrChaining(rec, extended=extended, max_data=cap).send(update(data))  # type: ignore[arg-type]
    limit = min(cap, 65528 if extended else 255)
    assert b"".join(f.data for f in rec.fragments) == data
    assert all(f.chained for f in rec.fragments[:-1]) and not rec.fragments[-1].chained
    assert all(len(f.data) <= limit for f in rec.fragments)
    assert len(rec.fragments) == max(1, -(-size // limit))


# --- GetResponse and ExactLeRetry -----------------------------------------------------------------------

def _stack(conn: ScriptedConnection, extended: bool = False) -> GetResponse:
    return GetResponse(ExactLeRetry(ExtendedOrChaining(conn, extended=extended)))


def test_get_response_loop_concatenates() -> None:
    conn = ScriptedConnection([
        ("00A4040C05D156000001", "6110"),
        ("00C0000010", "11" * 16 + "6100"),
        ("00C0000000", "22" * 256 + "6105"),
        ("00C0000005", "3333333333" "9000"),
    ])
    response = _stack(conn).send(CommandApdu(0, 0xA4, 4, 0x0C, bytes.fromhex("D156000001")))
    assert response.data == b"\x11" * 16 + b"\x22" * 256 + b"\x33" * 5
    assert response.sw == 0x9000
    assert conn.done


def test_get_response_keeps_channel_and_drops_chaining_and_sm_bits() -> None:
    conn = ScriptedConnection([("0DCA006600", "6102"), ("01C0000002", "ABCD9000")])
    response = _stack(conn).send(CommandApdu(0x0D, 0xCA, 0x00, 0x66, le=256))
    assert response == ResponseApdu(b"\xab\xcd", 0x9000)


def test_get_response_ending_in_an_error_reports_it_with_the_data_so_far() -> None:
    conn = ScriptedConnection([("00CA006600", "01026104"), ("00C0000004", "6F00")])
    response = _stack(conn).send(CommandApdu(0, 0xCA, 0, 0x66, le=256))
    assert response == ResponseApdu(b"\x01\x02", 0x6F00)


def test_endless_61xx_is_a_malformed_response() -> None:
    class Endless:
        atr = ATR_A

        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            return b"\x00", 0x6101

        def close(self) -> None: ...

    with pytest.raises(MalformedResponseError, match="61xx"):
        GetResponse(ExactLeRetry(ExtendedOrChaining(Endless(), extended=False))).send(  # type: ignore[arg-type]
            CommandApdu(0, 0xCA, 0, 0x66, le=256))


def test_6cxx_resends_with_exact_le() -> None:
    conn = ScriptedConnection([("00B0000000", "6C10"), ("00B0000010", "55" * 16 + "9000")])
    response = _stack(conn).send(CommandApdu(0, 0xB0, 0, 0, le=256))
    assert response == ResponseApdu(b"\x55" * 16, 0x9000)


def test_6c00_means_256_and_a_second_6c_is_returned_not_looped() -> None:
    conn = ScriptedConnection([("00CA010104", "6C00"), ("00CA010100", "6C08")])
    response = _stack(conn).send(CommandApdu(0, 0xCA, 1, 1, le=4))
    assert response.sw == 0x6C08
    assert conn.done


def test_6cxx_then_61xx() -> None:
    conn = ScriptedConnection([
        ("00CA006600", "6C20"), ("00CA006620", "6102"), ("00C0000002", "01029000"),
    ])
    assert _stack(conn).send(CommandApdu(0, 0xCA, 0, 0x66, le=256)).data == b"\x01\x02"


# --- AdaptiveLe ------------------------------------------------------------------------------------

def test_adaptive_le_steps_down_and_remembers_per_card() -> None:
    cache = LeCache()
    conn = ScriptedConnection([
        ("00B0000000", "6700"),  # 256 refused
        ("00B00000DF", "6700"),  # 223 refused
        ("00B00000C0", "AB" * 192 + "9000"),  # 192 taken
        ("00B000C0C0", "CD" * 192 + "9000"),  # next read starts at 192 straight away
    ], atr=ATR_A)
    top = AdaptiveLe(_stack(conn), cache, ATR_A, ceiling=256)
    assert len(top.send(CommandApdu(0, 0xB0, 0, 0, le=256)).data) == 192
    assert top.max_le == 192
    assert len(top.send(CommandApdu(0, 0xB0, 0, 0xC0, le=256)).data) == 192
    assert conn.done
    # Another card (another ATR) sharing the cache starts from the top again.
    other = AdaptiveLe(_stack(ScriptedConnection([("00B0000000", "00" * 256 + "9000")])), cache, ATR_B,
                       ceiling=256)
    assert len(other.send(CommandApdu(0, 0xB0, 0, 0, le=256)).data) == 256
    assert cache.get(ATR_A) == 192 and cache.get(ATR_B) is None


def test_adaptive_le_does_not_learn_from_a_small_read() -> None:
    cache = LeCache()
    conn = ScriptedConnection([("00B000000A", "00" * 10 + "9000")])
    AdaptiveLe(_stack(conn), cache, ATR_A, ceiling=256).send(CommandApdu(0, 0xB0, 0, 0, le=10))
    assert len(cache) == 0


def test_adaptive_le_leaves_other_commands_alone() -> None:
    conn = ScriptedConnection([("00B2010C00", "6700")])
    top = AdaptiveLe(_stack(conn), LeCache(), ATR_A, ceiling=256)
    assert top.send(CommandApdu(0, 0xB2, 1, 0x0C, le=256)).sw == 0x6700
    assert conn.done


def test_adaptive_le_gives_up_below_128() -> None:
    conn = ScriptedConnection([
        ("00B0000000", "6700"), ("00B00000DF", "6700"), ("00B00000C0", "6700"), ("00B0000080", "6700"),
    ])
    top = AdaptiveLe(_stack(conn), LeCache(), ATR_A, ceiling=256)
    assert top.send(CommandApdu(0, 0xB0, 0, 0, le=256)).sw == 0x6700
    assert conn.done


def test_adaptive_le_extended_falls_through_the_ladder() -> None:
    conn = ScriptedConnection([
        ("00B00000000000", "6700"),  # 65536
        ("00B00000008000", "6700"),  # 32768
        ("00B00000004000", "11" * 100 + "6282"),  # 16384: the file ends after 100 bytes
    ])
    top = AdaptiveLe(_stack(conn, extended=True), LeCache(), ATR_A, ceiling=65536)
    response = top.send(CommandApdu(0, 0xB0, 0, 0, le=65536))
    assert response.sw == 0x6282 and len(response.data) == 100
    assert top.max_le == 16384


@pytest.mark.parametrize(("le", "expected"), [(65536, 32768), (257, 256), (256, 223), (223, 192),
                                              (192, 128), (200, 192), (128, None), (5, None)])
def test_le_ladder(le: int, expected: int | None) -> None:
    assert next_le_step(le) == expected


# --- TrafficLogger ---------------------------------------------------------------------------------

def test_traffic_is_logged_below_debug_with_pins_and_keys_masked(caplog: pytest.LogCaptureFixture) -> None:
    conn = ScriptedConnection([
        ("00A4000C023F00", "9000"),
        ("0020000108313233343536FFFF", "9000"),  # VERIFY PIN 123456
        ("0082000010" + "A5" * 16 + "00", "6110"),  # EXTERNAL/MUTUAL AUTHENTICATE with a cryptogram
        ("00C0000010", "5A" * 16 + "9000"),  # card cryptogram fetched by GET RESPONSE
        ("00B0000004", "DEADBEEF9000"),
    ])
    with caplog.at_level(TRAFFIC, logger="cardsvc.protocol"):
        top = build_pipeline(conn, extended=False)
        top.send(CommandApdu(0, 0xA4, 0, 0x0C, b"\x3f\x00"))
        top.send(CommandApdu(0, 0x20, 0, 1, b"123456\xff\xff"))
        top.send(CommandApdu(0, 0x82, 0, 0, b"\xa5" * 16, le=256))
        top.send(CommandApdu(0, 0xB0, 0, 0, le=4))
    lines = [r.getMessage() for r in caplog.records if r.levelno == TRAFFIC]
    text = "\n".join(lines)
    assert "> 00 A4 00 0C 02 3F 00" in lines
    assert "< 9000" in lines
    assert "> 00 20 00 01 <8 bytes masked>" in lines
    assert "31 32 33" not in text and "A5 A5" not in text and "5A 5A" not in text
    assert "< <16 bytes masked> 9000" in lines
    # Issue 13: file contents never reach the trace, secret or not (was "< DE AD BE EF 9000").
    assert "< <4 bytes masked> 9000" in lines and "DE AD" not in text
    assert TRAFFIC < logging.DEBUG  # by number: uvicorn renames level 5 "TRACE" when it configures logging


def test_traffic_logger_masks_every_fragment_of_a_chained_secret(caplog: pytest.LogCaptureFixture) -> None:
    key = bytes(range(256)) + b"\x77" * 44
    conn = ScriptedConnection([
        (bytes.fromhex("10D80000FF") + key[:255], "9000"),
        (bytes.fromhex("00D800002D") + key[255:], "9000"),
    ])
    with caplog.at_level(TRAFFIC, logger="cardsvc.protocol"):
        build_pipeline(conn, extended=False).send(CommandApdu(0, 0xD8, 0, 0, key))
    lines = [r.getMessage() for r in caplog.records if r.levelno == TRAFFIC]
    assert lines == ["> 10 D8 00 00 <255 bytes masked>", "< 9000", "> 00 D8 00 00 <45 bytes masked>", "< 9000"]


def test_traffic_logger_is_silent_and_transparent_when_level_is_off(caplog: pytest.LogCaptureFixture) -> None:
    conn = ScriptedConnection([("0020000102AAAA", "63C2")])
    with caplog.at_level(logging.DEBUG, logger="cardsvc.protocol"):
        data, sw = TrafficLogger(conn).transmit(bytes.fromhex("0020000102AAAA"))
    assert (data, sw) == (b"", 0x63C2)
    assert not [r for r in caplog.records if r.levelno == TRAFFIC]


@pytest.mark.parametrize(("apdu", "shown"), [
    ("00200001", "00 20 00 01"),
    ("0020000100", "00 20 00 01 00"),
    ("0020000102AAAA", "00 20 00 01 <2 bytes masked>"),
    ("0082000004AABBCCDD00", "00 82 00 00 <4 bytes masked> Le=256"),
    ("0082000003AA", "00 82 00 00 <2 bytes masked>"),  # unparseable: everything after the header
])
def test_mask_command(apdu: str, shown: str) -> None:
    assert mask_command(bytes.fromhex(apdu)) == shown


def test_scripted_connection_reports_a_mismatch() -> None:
    conn = ScriptedConnection([("00A4000C023F00", "9000")])
    with pytest.raises(ScriptMismatch, match="step 0: expected 00A4000C023F00, got 00A4000C022F00"):
        conn.transmit(bytes.fromhex("00A4000C022F00"))
