"""CardSession's typed commands as golden APDU bytes, against a scripted connection."""

from __future__ import annotations

import pytest

from cardsvc.iso7816.apdu import CommandApdu, ResponseApdu
from cardsvc.iso7816.atr import build_historical_bytes
from cardsvc.iso7816.errors import (
    ConditionsNotSatisfied,
    FileNotFound,
    MalformedResponseError,
    RecordNotFound,
    SecurityStatusNotSatisfied,
    WrongLength,
    WrongParameters,
)
from cardsvc.iso7816.fcp import AccessCondition, EfOp, Fcp, FileStructure, SecurityAttributes
from cardsvc.protocol import LeCache, PipelineError, Processor
from cardsvc.session import CardSession
from cardsvc.transport.errors import CardRemovedError
from cardsvc.transport.scripted import REMOVED, ScriptedConnection


def make_atr(extended: bool, chaining: bool = True) -> bytes:
    """3B, T0 (TD1 + 5 historical bytes), TD1 = T=1, historical bytes, TCK (ISO 7816-3 §8.2)."""
    body = bytes((0x85, 0x01)) + build_historical_bytes(extended_length=extended, command_chaining=chaining)
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes((tck,))


EXT_ATR = make_atr(extended=True)
SHORT_ATR = make_atr(extended=False)


def session(steps: list[tuple[str | bytes, str | bytes]], *, extended: bool = False,
            **kwargs: object) -> tuple[CardSession, ScriptedConnection]:
    conn = ScriptedConnection(steps, atr=EXT_ATR if extended else SHORT_ATR)
    return CardSession(conn, **kwargs), conn  # type: ignore[arg-type]


def test_capabilities_come_from_the_atr() -> None:
    assert CardSession(ScriptedConnection([], atr=EXT_ATR)).extended is True
    assert CardSession(ScriptedConnection([], atr=SHORT_ATR)).extended is False
    plain = CardSession(ScriptedConnection([], atr=make_atr(extended=False, chaining=False)))
    assert (plain.extended, plain.chaining, plain.max_write) == (False, False, 255)


def test_unreadable_atr_falls_back_to_short_apdus(caplog: pytest.LogCaptureFixture) -> None:
    s = CardSession(ScriptedConnection([], atr=b"\x12\x34\x56"))
    assert s.extended is False and s.max_le == 256
    assert "cannot read card capabilities" in caplog.text


# --- SELECT ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "apdu"), [
    (lambda s: s.select_mf(), "00A4000C023F00"),
    (lambda s: s.select_fid(0x2F01), "00A4000C022F01"),
    (lambda s: s.select_path([0x3F00, 0xDF01, 0xEF02]), "00A4080C04DF01EF02"),
    (lambda s: s.select_path([0xEF02], from_mf=False), "00A4090C02EF02"),
    (lambda s: s.select_path([0x3F00]), "00A4000C023F00"),
    (lambda s: s.select_aid(bytes.fromhex("D156000001")), "00A4040C05D156000001"),
])
def test_select_forms(call: object, apdu: str) -> None:
    s, conn = session([(apdu, "9000")])
    assert call(s) == b""  # type: ignore[operator]
    assert conn.done


def test_select_with_fcp_returns_and_parses_the_template() -> None:
    fcp = Fcp(0xEF01, FileStructure.TRANSPARENT, size=20000, sfi=1)
    s, conn = session([("00A4000402EF0100", fcp.encode().hex() + "9000")])
    assert s.file_info(0xEF01) == fcp
    assert conn.done


def test_select_of_a_missing_file_raises_file_not_found_naming_it() -> None:
    s, _ = session([("00A4000C02EF09", "6A82")])
    with pytest.raises(FileNotFound, match="SELECT FID EF09: 6A82 FILE_NOT_FOUND"):
        s.select_fid(0xEF09)


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: s.select_fid(0x10000), "fid must be two bytes"),
    (lambda s: s.select_aid(b""), "AID must be 1..16 bytes"),
    (lambda s: s.read_binary(sfi=31), "sfi must be 1..30"),
    (lambda s: s.read_binary(offset=-1), "offset must not be negative"),
    (lambda s: s.read_binary(length=-1), "length must not be negative"),
    (lambda s: s.update_binary(b"x", offset=-5), "offset must not be negative"),
    (lambda s: s.read_record(0), "record number must be 1..254"),
    (lambda s: s.update_record(255, b"x"), "record number must be 1..254"),
    (lambda s: s.append_record(b"x", sfi=0), "sfi must be 1..30"),
    (lambda s: s.get_challenge(0), "challenge length"),
    (lambda s: s.get_data(0x10000), "tag must fit P1-P2"),
])
def test_bad_arguments_are_refused_before_anything_is_sent(call: object, message: str) -> None:
    s, conn = session([])
    with pytest.raises(ValueError, match=message):
        call(s)  # type: ignore[operator]
    assert conn.sent == []


# --- READ BINARY -----------------------------------------------------------------------------------

def test_whole_file_by_sfi_extended_is_one_apdu() -> None:
    content = bytes(range(256)) * 40
    s, conn = session([("00B081000000" "00", content.hex() + "6282")], extended=True)
    assert s.read_binary(sfi=1) == content
    assert conn.done


def test_whole_file_by_sfi_short_reads_each_byte_once() -> None:
    content = bytes(i % 253 for i in range(600))
    s, conn = session([
        ("00B0810000", content[:256].hex() + "9000"),  # SFI 1 in P1, offset 0 in P2
        ("00B0010000", content[256:512].hex() + "9000"),  # then the current EF, 15-bit offset
        ("00B0020000", content[512:].hex() + "6282"),  # file ends: 88 bytes and 6282
    ])
    assert s.read_binary(sfi=1) == content
    assert conn.done


def test_whole_file_that_ends_on_a_chunk_boundary_stops_at_6b00() -> None:
    s, conn = session([
        ("00B0820000", "11" * 256 + "9000"),
        ("00B0010000", "6B00"),
    ])
    assert s.read_binary(sfi=2) == b"\x11" * 256
    assert conn.done


def test_short_answer_to_a_wildcard_le_is_the_end_of_the_file() -> None:
    # Le '00' asks for "up to 256": 88 bytes with 9000 ends the file without another command.
    s, conn = session([("00B0810000", "11" * 256 + "9000"), ("00B0010000", "22" * 88 + "9000")])
    assert s.read_binary(sfi=1) == b"\x11" * 256 + b"\x22" * 88
    assert conn.done
    ext, conn2 = session([("00B08100000000", "33" * 5000 + "9000")], extended=True)
    assert ext.read_binary(sfi=1) == b"\x33" * 5000
    assert conn2.done


def test_read_of_known_length_asks_for_exactly_the_rest() -> None:
    s, conn = session([
        ("00B0831000", "22" * 256 + "9000"),  # SFI 3, offset 0x10
        ("00B0011004", "33333333" "9000"),  # offset 0x110, Le 4
    ])
    assert s.read_binary(sfi=3, offset=0x10, length=260) == b"\x22" * 256 + b"\x33" * 4
    assert conn.done


def test_read_with_sfi_and_offset_above_255_uses_odd_ins_with_offset_do() -> None:
    s, conn = session([("00B10005045402010008", "53060102030405069000")])
    assert s.read_binary(sfi=5, offset=0x100, length=6) == bytes(range(1, 7))
    assert conn.done


def test_read_above_32767_uses_odd_ins_and_unwraps_do_53() -> None:
    s, conn = session([
        ("00B10000045402800000", "5381FC" + "44" * 252 + "9000"),
        ("00B1000004540280FC00", "5304" + "55" * 4 + "6282"),
    ])
    assert s.read_binary(offset=0x8000) == b"\x44" * 252 + b"\x55" * 4
    assert conn.done


def test_odd_ins_answer_that_is_not_do_53_is_a_malformed_response() -> None:
    s, _ = session([("00B10000045402800008", "5406010203040506" "9000")])
    with pytest.raises(MalformedResponseError, match="DO 53"):
        s.read_binary(offset=0x8000, length=6)


def test_read_error_names_command_file_and_offset() -> None:
    s, _ = session([("00B0830000", "6982")])
    with pytest.raises(SecurityStatusNotSatisfied, match="READ BINARY SFI 03 offset 0: 6982"):
        s.read_binary(sfi=3)


def test_read_past_the_end_with_an_offset_is_an_error() -> None:
    s, _ = session([("00B0000A00", "6B00")])
    with pytest.raises(WrongParameters, match="READ BINARY current EF offset 10: 6B00"):
        s.read_binary(offset=10)


def test_adaptive_le_is_used_by_whole_file_reads_and_shared_across_sessions() -> None:
    cache = LeCache()
    content = bytes(range(200)) * 2
    s, conn = session([
        ("00B0810000", "6700"),
        ("00B08100DF", content[:223].hex() + "9000"),
        ("00B000DFDF", content[223:].hex() + "6282"),
    ], le_cache=cache)
    assert s.read_binary(sfi=1) == content and conn.done
    again, conn2 = session([("00B08100DF", content[:223].hex() + "9000"),
                            ("00B000DFDF", content[223:].hex() + "6282")], le_cache=cache)
    assert again.read_binary(sfi=1) == content and conn2.done


# --- UPDATE BINARY ---------------------------------------------------------------------------------

def test_update_20000_bytes_extended_is_one_apdu() -> None:
    data = bytes(i % 256 for i in range(20000))
    s, conn = session([(bytes.fromhex("00D68100004E20") + data, "9000")], extended=True)
    s.update_binary(data, sfi=1)
    assert conn.done


def test_update_20000_bytes_short_is_one_chained_command() -> None:
    data = bytes(i % 256 for i in range(20000))
    steps: list[tuple[str | bytes, str | bytes]] = []
    for i in range(0, 20000, 255):
        chunk = data[i : i + 255]
        cla = 0x10 if i + 255 < 20000 else 0x00
        steps.append((bytes((cla, 0xD6, 0x81, 0x00, len(chunk))) + chunk, "9000"))
    s, conn = session(steps)
    s.update_binary(data, sfi=1)
    assert conn.done and len(conn.sent) == 79


def test_update_without_chaining_splits_into_separate_commands() -> None:
    data = bytes(300)
    s, conn = session([
        (bytes.fromhex("00D68200FF") + data[:255], "9000"),
        (bytes.fromhex("00D600FF2D") + data[255:], "9000"),
    ])
    s.chaining = False
    s.max_write = 255
    s.update_binary(data, sfi=2)
    assert conn.done


def test_update_above_32767_uses_odd_ins() -> None:
    s, conn = session([("00D700000954028000" "5303ABCDEF", "9000")])
    s.update_binary(b"\xab\xcd\xef", offset=0x8000)
    assert conn.done


def test_update_with_sfi_above_255_uses_odd_ins_with_sfi_in_p2() -> None:
    s, conn = session([("00D700070854020100" "5302ABCD", "9000")])
    s.update_binary(b"\xab\xcd", offset=0x100, sfi=7)
    assert conn.done


def test_update_of_nothing_sends_nothing() -> None:
    s, conn = session([])
    s.update_binary(b"", sfi=1)
    assert conn.sent == []


# --- records ---------------------------------------------------------------------------------------

def test_record_commands() -> None:
    s, conn = session([
        ("00E2002003A1A2A3", "9000"),  # APPEND RECORD, SFI 4 → P2 = 4 << 3
        ("00B2012400", "A1A2A39000"),  # READ RECORD 1, SFI 4, P2 b3-b1 = 100
        ("00DC012403B1B2B3", "9000"),  # UPDATE RECORD 1
        ("00B2010400", "B1B2B39000"),  # READ RECORD 1 of the current EF
    ])
    s.append_record(b"\xa1\xa2\xa3", sfi=4)
    assert s.read_record(1, sfi=4) == b"\xa1\xa2\xa3"
    s.update_record(1, b"\xb1\xb2\xb3", sfi=4)
    assert s.read_record(1) == b"\xb1\xb2\xb3"
    assert conn.done


def test_read_records_until_record_not_found() -> None:
    s, conn = session([
        ("00B2012C00", "019000"), ("00B2022C00", "02029000"), ("00B2032C00", "6A83"),
    ])
    assert s.read_records(sfi=5) == [b"\x01", b"\x02\x02"]
    assert conn.done


def test_read_records_of_empty_file_and_missing_record() -> None:
    s, _ = session([("00B2010C00", "6A83"), ("00B2090C00", "6A83")])
    assert s.read_records(sfi=1) == []
    with pytest.raises(RecordNotFound, match="READ RECORD 9"):
        s.read_record(9, sfi=1)


# --- file management, challenge, data objects ------------------------------------------------------

def test_file_management_commands() -> None:
    fcp = Fcp(0xEF05, FileStructure.LINEAR_FIXED, record_length=32, record_count=10, sfi=5,
              security=SecurityAttributes({EfOp.READ: AccessCondition()}))
    raw = fcp.encode()
    s, conn = session([
        (bytes((0x00, 0xE0, 0x00, 0x00, len(raw))) + raw, "9000"),
        ("00040000", "9000"),
        ("0044000002EF05", "9000"),
        ("00E8000002EF05", "9000"),
        ("00E60000", "9000"),
        ("00E4000002EF05", "6985"),
    ])
    s.create_file(fcp)
    s.deactivate_file()
    s.activate_file(0xEF05)
    s.terminate_file(0xEF05)
    s.terminate_file(df=True)
    with pytest.raises(ConditionsNotSatisfied, match="DELETE FILE FID EF05: 6985"):
        s.delete_file(0xEF05)
    assert conn.done


def test_challenge_and_data_objects() -> None:
    s, conn = session([
        ("0084000008", "0102030405060708" "9000"),
        ("00CA006600", "7F66089000"),
        ("00DA010103AABBCC", "9000"),
        ("0084000010", "0102" "9000"),
    ])
    assert s.get_challenge() == bytes(range(1, 9))
    assert s.get_data(0x66) == b"\x7f\x66\x08"
    s.put_data(0x0101, b"\xaa\xbb\xcc")
    with pytest.raises(MalformedResponseError, match="2 bytes, asked for 16"):
        s.get_challenge(16)
    assert conn.done


def test_wrong_length_and_card_removal_propagate() -> None:
    s, _ = session([("0084000008", "6700"), ("0084000008", REMOVED)])
    with pytest.raises(WrongLength):
        s.get_challenge()
    with pytest.raises(CardRemovedError):
        s.get_challenge()


def test_session_is_a_context_manager_that_closes_the_connection() -> None:
    conn = ScriptedConnection([], atr=SHORT_ATR)
    with CardSession(conn) as s:
        assert s.connection is conn
    assert conn.closed


def test_an_added_layer_sees_logical_commands_and_chaining_splits_its_output() -> None:
    """A stand-in for secure messaging: marks CLA b4-b3 and appends 300 bytes, so the short
    pipeline must chain what the layer produced; removing the layer restores plain commands."""
    seen: list[CommandApdu] = []

    class Marker:
        def __init__(self, inner: Processor) -> None:
            self.inner = inner

        def send(self, command: CommandApdu) -> ResponseApdu:
            seen.append(command)
            wrapped = CommandApdu(command.cla | 0x0C, command.ins, command.p1, command.p2, command.data + bytes(300))
            return self.inner.send(wrapped)

    s, conn = session([
        (bytes.fromhex("1CD68100FF") + b"\x01\x02" + bytes(253), "9000"),
        (bytes.fromhex("0CD681002F") + bytes(47), "9000"),
        ("00D681000101", "9000"),
    ])
    layer = s.add_layer(Marker)
    assert isinstance(layer, Marker)
    s.update_binary(b"\x01\x02", sfi=1)
    assert seen == [CommandApdu(0x00, 0xD6, 0x81, 0x00, b"\x01\x02")]
    s.remove_layer()
    s.update_binary(b"\x01", sfi=1)
    assert conn.done
    with pytest.raises(PipelineError, match="no added layer"):
        s.remove_layer()
