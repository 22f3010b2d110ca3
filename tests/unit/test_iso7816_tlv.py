import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardsvc.iso7816.errors import TlvError
from cardsvc.iso7816.tlv import Tlv, encode_length, encode_tlv, parse_single, parse_tlvs, tlv_map


@pytest.mark.parametrize(
    ("length", "hexbytes"),
    [(0, "00"), (127, "7F"), (128, "8180"), (255, "81FF"), (256, "820100"), (65535, "82FFFF"),
     (65536, "83010000")],
)
def test_minimal_length_encoding(length: int, hexbytes: str) -> None:
    assert encode_length(length).hex().upper() == hexbytes


def test_nested_objects_report_absolute_offsets() -> None:
    raw = encode_tlv(0x5F20, b"abc") + encode_tlv(0x7F49, encode_tlv(0x86, b"x" * 200))
    outer = parse_tlvs(raw)
    assert [(t.tag, t.offset) for t in outer] == [(0x5F20, 0), (0x7F49, 6)]
    inner = outer[1].children()
    assert inner == [Tlv(0x86, b"x" * 200, 10)]


@pytest.mark.parametrize(
    ("hexbytes", "message"),
    [
        ("5F", "malformed TLV at offset 0: data ends inside the tag or length field"),
        ("5F2005AABB", "malformed TLV at offset 0 in tag 5F20: value of 5 bytes runs past the end (2 bytes left)"),
        ("0180", "malformed TLV at offset 1 in tag 01: indefinite length (80) is not allowed"),
        ("018400000001", "malformed TLV at offset 1 in tag 01: length field of 4 bytes is more than 3"),
        ("5F2001AA00", "malformed TLV at offset 4: tag byte 00 is not a valid first tag byte"),
        ("1F8001AA", "malformed TLV at offset 0: tag continuation byte 80 is not minimal"),
    ],
)
def test_malformed_tlv_names_offset_and_tag(hexbytes: str, message: str) -> None:
    with pytest.raises(TlvError) as info:
        parse_tlvs(bytes.fromhex(hexbytes))
    assert str(info.value) == message


def test_padding_only_when_allowed_and_duplicates_refused() -> None:
    raw = encode_tlv(0x80, b"\x01") + b"\x00\x00\xFF"
    assert len(parse_tlvs(raw, allow_padding=True)) == 1
    with pytest.raises(TlvError, match="repeated"):
        tlv_map(encode_tlv(0x80, b"") + encode_tlv(0x80, b""))
    with pytest.raises(TlvError, match="expected one data object, found 2"):
        parse_single(encode_tlv(0x80, b"") + encode_tlv(0x81, b""))
    with pytest.raises(TlvError, match="primitive data object has no children"):
        Tlv(0x80, b"").children()


tags = st.sampled_from([0x42, 0x5F20, 0x5F2B, 0x9F1F, 0x80, 0x8C, 0xDF8101])


@given(st.lists(st.tuples(tags, st.binary(max_size=300)), max_size=8))
def test_round_trip(objects: list[tuple[int, bytes]]) -> None:
    raw = b"".join(encode_tlv(t, v) for t, v in objects)
    assert [(t.tag, t.value) for t in parse_tlvs(raw)] == objects


@given(st.binary(max_size=64))
def test_any_bytes_parse_or_raise_tlv_error(raw: bytes) -> None:
    try:
        objects = parse_tlvs(raw)
    except TlvError as exc:
        assert 0 <= exc.offset <= len(raw)
    else:
        assert sum(len(o.encode()) for o in objects) <= len(raw)
