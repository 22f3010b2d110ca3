"""Field codecs of the closed encoding list (layout/fields.py): both directions and their errors."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.layout.errors import FieldValueError
from cardsvc.layout.fields import FieldCodec, Value
from cardsvc.layout.schema import FieldDecl


def codec(encoding: str, layout_charset: str = "gb18030", **kw: object) -> FieldCodec:
    decl = FieldDecl.model_validate({"field": "f", "tag": "DF01", "encoding": encoding, **kw})
    return FieldCodec.compile(decl, layout_charset)


@pytest.mark.parametrize(("encoding", "kw", "charset", "value", "raw"), [
    ("text", {"max_length": 20}, "gb18030", "买买提·艾力", bytes.fromhex("C2F2C2F2CCE1A1A4B0ACC1A6")),
    ("text", {"max_length": 20}, "utf-8", "王𠈌", "王𠈌".encode()),
    ("text", {"max_length": 20, "charset": "utf-16-be"}, "gb18030", "A", b"\x00A"),
    ("ascii", {"max_length": 18}, "gb18030", "11010519491231002X", b"11010519491231002X"),
    ("numeric", {"digits": 1}, "gb18030", "9", b"\x09"),
    ("numeric", {"digits": 6}, "gb18030", "411202", bytes.fromhex("411202")),
    ("numeric", {"digits": 3}, "gb18030", "123", bytes.fromhex("0123")),  # EMV 'n': leading 0 nibble
    ("date-bcd", {}, "gb18030", date(2024, 2, 29), bytes.fromhex("20240229")),
    ("date-ascii", {}, "gb18030", date(1949, 12, 31), b"19491231"),
    ("bytes", {"max_length": 4}, "gb18030", b"\x00\xff", b"\x00\xff"),
    ("jpeg", {"max_length": 9}, "gb18030", b"\xff\xd8\x00\xff\xd9", b"\xff\xd8\x00\xff\xd9"),
])
def test_both_directions(encoding: str, kw: dict[str, object], charset: str, value: Value, raw: bytes) -> None:
    c = codec(encoding, charset, **kw)
    assert c.encode(value) == raw
    assert c.decode(raw) == value


@pytest.mark.parametrize(("encoding", "kw", "raw", "reason"), [
    ("text", {"max_length": 8}, b"\xff\xfe", "byte 0 is not valid gb18030"),
    ("text", {"max_length": 8}, b"a\x07", "control character U+0007 is not allowed in text"),
    ("ascii", {"max_length": 8}, b"ab\x80", "byte 2 (80) is not printable ASCII"),
    ("numeric", {"digits": 2}, b"\x1a", "BCD bytes 1A hold a nibble above 9"),
    ("numeric", {"digits": 3}, b"\x11\x23", "pad nibble of BCD 1123 must be 0"),
    ("numeric", {"digits": 2}, b"\x01\x02", "must be 1 bytes, got 2"),
    ("date-bcd", {}, bytes.fromhex("20230229"), "date 20230229 is not a calendar date"),
    ("date-bcd", {}, bytes.fromhex("202302"), "must be 4 bytes, got 3"),
    ("date-ascii", {}, b"2023-1-1", "date '2023-1-1' is not 8 digits"),
    ("jpeg", {"max_length": 9}, b"\xff\xd8\x00", "JPEG must end with EOI marker FFD9"),
    ("bytes", {"max_length": 2}, b"abc", "3 bytes exceed the layout's limit of 2"),
])
def test_decode_errors(encoding: str, kw: dict[str, object], raw: bytes, reason: str) -> None:
    with pytest.raises(FieldValueError) as err:
        codec(encoding, **kw).decode(raw)  # type: ignore[arg-type]
    assert (err.value.field, err.value.reason) == ("f", reason)


@pytest.mark.parametrize(("encoding", "kw", "value", "reason"), [
    ("text", {"max_length": 4}, "买买提", "6 bytes exceed the layout's limit of 4"),
    ("numeric", {"digits": 6}, "41120", "must be exactly 6 digits, got '41120'"),
    ("numeric", {"digits": 2}, "٣٤", "must be exactly 2 digits, got '٣٤'"),  # non-ASCII digits
    ("date-bcd", {}, "2024-01-01", "expected a date, got str"),
    ("bytes", {"max_length": 4}, "text", "expected bytes, got str"),
])
def test_encode_errors(encoding: str, kw: dict[str, object], value: Value, reason: str) -> None:
    with pytest.raises(FieldValueError) as err:
        codec(encoding, **kw).encode(value)  # type: ignore[arg-type]
    assert err.value.reason == reason


@given(st.dates(date(1, 1, 1), date(9999, 12, 31)))
@settings(max_examples=100)
def test_dates_round_trip(day: date) -> None:
    for enc in ("date-bcd", "date-ascii"):
        c = codec(enc)
        assert c.decode(c.encode(day)) == day


@given(st.text("0123456789", min_size=5, max_size=5))
@settings(max_examples=50)
def test_odd_digit_counts_round_trip(digits: str) -> None:
    c = codec("numeric", digits=5)
    assert len(c.encode(digits)) == 3 and c.decode(c.encode(digits)) == digits
