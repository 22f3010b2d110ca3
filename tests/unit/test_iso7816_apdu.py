"""Golden vectors for the seven command-APDU encodings (ISO 7816-3 §12.1.3) and their decoding."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardsvc.iso7816.apdu import CommandApdu, ResponseApdu
from cardsvc.iso7816.errors import MalformedApduError, MalformedResponseError
from cardsvc.iso7816.sw import SW

GOLDEN = [
    # (apdu, extended, bytes)
    (CommandApdu(0x00, 0x44, 0x00, 0x00), False, "00440000"),
    (CommandApdu(0x00, 0x84, 0x00, 0x00, le=8), False, "0084000008"),
    (CommandApdu(0x00, 0xB0, 0x81, 0x00, le=256), False, "00B0810000"),
    (CommandApdu(0x00, 0xA4, 0x00, 0x0C, bytes.fromhex("3F00")), False, "00A4000C023F00"),
    (CommandApdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("D156000001"), 256), False, "00A4040005D15600000100"),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=65536), True, "00B00000000000"),
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=1000), True, "00B000000003E8"),
    (CommandApdu(0x00, 0xD6, 0x00, 0x00, b"\xAA" * 300), True, "00D60000" + "00012C" + "AA" * 300),
    (CommandApdu(0x00, 0xD6, 0x00, 0x00, b"\xAA" * 2, 300), True, "00D6000000" + "0002AAAA" + "012C"),
]


@pytest.mark.parametrize(("apdu", "extended", "hexbytes"), GOLDEN)
def test_golden_encoding_and_decoding(apdu: CommandApdu, extended: bool, hexbytes: str) -> None:
    raw = bytes.fromhex(hexbytes)
    assert apdu.encode() == raw
    parsed = CommandApdu.parse(raw)
    assert (parsed.cla, parsed.ins, parsed.p1, parsed.p2, parsed.data, parsed.le) == (
        apdu.cla, apdu.ins, apdu.p1, apdu.p2, apdu.data, apdu.le)
    assert parsed.is_extended is extended


def test_forced_extended_encoding_of_small_apdu() -> None:
    apdu = CommandApdu(0x00, 0xB0, 0x00, 0x00, le=16)
    assert apdu.encode(extended=True).hex().upper() == "00B00000000010"
    with pytest.raises(ValueError, match="short APDU limits"):
        CommandApdu(0x00, 0xD6, 0, 0, b"\x00" * 256).encode(extended=False)


@pytest.mark.parametrize(
    ("hexbytes", "sw", "fragment"),
    [
        ("00B0", SW.WRONG_LENGTH, "a header needs 4"),
        ("00D6000005AABB", SW.WRONG_LENGTH, "Lc is 5 but 2 bytes follow"),
        ("00D600000000", SW.WRONG_LENGTH, "neither short Le nor extended"),
        ("00D600000000000000", SW.WRONG_LENGTH, "extended Lc of 0"),
        ("00D6000000000AAA", SW.WRONG_LENGTH, "extended Lc is 10 but 1 bytes follow"),
        ("FFA40000", SW.CLA_NOT_SUPPORTED, "reserved for PPS"),
        ("00600000", SW.INS_NOT_SUPPORTED, "INS 60 is invalid"),
        ("00930000", SW.INS_NOT_SUPPORTED, "INS 93 is invalid"),
    ],
)
def test_malformed_commands_name_the_reason_and_status_word(hexbytes: str, sw: int, fragment: str) -> None:
    with pytest.raises(MalformedApduError) as info:
        CommandApdu.parse(bytes.fromhex(hexbytes))
    assert info.value.sw == sw
    assert fragment in str(info.value)


def test_case_and_flags() -> None:
    assert CommandApdu(0x10, 0xD6, 0, 0, b"x").chained
    assert CommandApdu(0x0C, 0xD6, 0, 0, b"x", 256).secure_messaging
    assert [CommandApdu(0, 1, 0, 0).case, CommandApdu(0, 1, 0, 0, le=1).case,
            CommandApdu(0, 1, 0, 0, b"a").case, CommandApdu(0, 1, 0, 0, b"a", 1).case] == [1, 2, 3, 4]


@pytest.mark.parametrize("field", ["cla", "ins", "p1", "p2"])
def test_header_bytes_are_range_checked(field: str) -> None:
    kwargs = {"cla": 0, "ins": 0xA4, "p1": 0, "p2": 0, field: 256}
    with pytest.raises(ValueError, match=field):
        CommandApdu(**kwargs)


@given(
    cla=st.integers(0, 0xFE), ins=st.integers(0, 0xFF).filter(lambda i: i & 0xF0 not in (0x60, 0x90)),
    p1=st.integers(0, 255), p2=st.integers(0, 255), data=st.binary(max_size=600),
    le=st.one_of(st.none(), st.integers(1, 65536)), force=st.booleans(),
)
def test_encode_parse_round_trip(cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None,
                                 force: bool) -> None:
    apdu = CommandApdu(cla, ins, p1, p2, data, le)
    parsed = CommandApdu.parse(apdu.encode(extended=True if force else None))
    assert (parsed.data, parsed.le, parsed.cla, parsed.ins, parsed.p1, parsed.p2) == (data, le, cla, ins, p1, p2)


@given(st.binary(max_size=300))
def test_parse_of_any_bytes_returns_or_raises_malformed(raw: bytes) -> None:
    try:
        parsed = CommandApdu.parse(raw)
    except MalformedApduError as exc:
        assert exc.sw in (SW.WRONG_LENGTH, SW.CLA_NOT_SUPPORTED, SW.INS_NOT_SUPPORTED)
    else:
        assert parsed.encode(extended=parsed.is_extended) == raw


def test_response_parsing() -> None:
    r = ResponseApdu.parse(bytes.fromhex("0102039000"))
    assert r.data == b"\x01\x02\x03" and r.ok and r.encode() == bytes.fromhex("0102039000")
    assert ResponseApdu.parse(bytes.fromhex("6A82")).sw == SW.FILE_NOT_FOUND
    with pytest.raises(MalformedResponseError, match="no status word"):
        ResponseApdu.parse(b"\x90")
    with pytest.raises(MalformedResponseError, match="SW1 12"):
        ResponseApdu.parse(bytes.fromhex("1234"))
