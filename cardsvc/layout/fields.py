"""Field value codecs, compiled to construct from a field declaration (one per encoding, closed list).

Each codec maps a Python value (str, date, bytes) to the value bytes of the field's data object and
back; the BER-TLV wrapping is done by the EF codec. Errors are FieldValueError naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import construct as cs

from cardsvc.layout.errors import FieldValueError
from cardsvc.layout.schema import FieldDecl
from cardsvc.layout.vocabulary import Encoding

Value = str | date | bytes
_FIXED = frozenset({Encoding.NUMERIC, Encoding.DATE_BCD, Encoding.DATE_ASCII})


class _Text(cs.Adapter):  # type: ignore[misc]
    def __init__(self, charset: str) -> None:
        super().__init__(cs.GreedyBytes)
        self.charset = charset

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        try:
            text = obj.decode(self.charset)
        except UnicodeDecodeError as exc:
            raise cs.ValidationError(f"byte {exc.start} is not valid {self.charset}") from None
        _check_text(text)
        return text

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        _check_text(obj)
        try:
            return obj.encode(self.charset)
        except UnicodeEncodeError as exc:
            ch = obj[exc.start]
            raise cs.ValidationError(f"character {ch!r} (U+{ord(ch):04X}) cannot be encoded in "
                                     f"{self.charset}") from None


def _check_text(text: str) -> None:
    bad = next((c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0), None)
    if bad is not None:
        raise cs.ValidationError(f"control character U+{ord(bad):04X} is not allowed in text")


class _Ascii(cs.Adapter):  # type: ignore[misc]
    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        bad = next((i for i, b in enumerate(obj) if not 0x20 <= b <= 0x7E), None)
        if bad is not None:
            raise cs.ValidationError(f"byte {bad} ({obj[bad]:02X}) is not printable ASCII")
        return obj.decode("ascii")

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        bad = next((c for c in obj if not " " <= c <= "~"), None)
        if bad is not None:
            raise cs.ValidationError(f"character {bad!r} is not printable ASCII")
        return obj.encode("ascii")


class _Bcd(cs.Adapter):  # type: ignore[misc]
    """Packed BCD of a fixed number of digits, right-justified with a leading 0 nibble (EMV format n)."""

    def __init__(self, digits: int) -> None:
        super().__init__(cs.Bytes((digits + 1) // 2))
        self.digits = digits

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        text = obj.hex()
        if not text.isdigit():
            raise cs.ValidationError(f"BCD bytes {obj.hex().upper()} hold a nibble above 9")
        if len(text) > self.digits:
            if text[0] != "0":
                raise cs.ValidationError(f"pad nibble of BCD {obj.hex().upper()} must be 0")
            text = text[1:]
        return text

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        if len(obj) != self.digits or not obj.isascii() or not obj.isdigit():
            raise cs.ValidationError(f"must be exactly {self.digits} digits, got {obj!r}")
        return bytes.fromhex(obj.rjust(len(obj) + len(obj) % 2, "0"))


class _Date(cs.Adapter):  # type: ignore[misc]
    def __init__(self, bcd: bool) -> None:
        super().__init__(_Bcd(8) if bcd else _Ascii(cs.Bytes(8)))

    def _decode(self, obj: str, context: Any, path: str) -> date:
        if not obj.isdigit():
            raise cs.ValidationError(f"date {obj!r} is not 8 digits")
        try:
            return date(int(obj[:4]), int(obj[4:6]), int(obj[6:]))
        except ValueError:
            raise cs.ValidationError(f"date {obj} is not a calendar date") from None

    def _encode(self, obj: date, context: Any, path: str) -> str:
        if not isinstance(obj, date):
            raise cs.ValidationError(f"expected a date, got {type(obj).__name__}")
        return f"{obj.year:04d}{obj.month:02d}{obj.day:02d}"


class _Jpeg(cs.Adapter):  # type: ignore[misc]
    """JPEG interchange format markers (ITU-T T.81 Annex B): SOI FFD8 first, EOI FFD9 last."""

    def _decode(self, obj: bytes, context: Any, path: str) -> bytes:
        _check_jpeg(obj)
        return obj

    def _encode(self, obj: bytes, context: Any, path: str) -> bytes:
        _check_jpeg(obj)
        return obj


def _check_jpeg(obj: bytes) -> None:
    if not isinstance(obj, bytes | bytearray):
        raise cs.ValidationError(f"expected bytes, got {type(obj).__name__}")
    if obj[:2] != b"\xff\xd8":
        raise cs.ValidationError("JPEG must start with SOI marker FFD8")
    if obj[-2:] != b"\xff\xd9" or len(obj) < 4:
        raise cs.ValidationError("JPEG must end with EOI marker FFD9")


class _Raw(cs.Adapter):  # type: ignore[misc]
    def _decode(self, obj: bytes, context: Any, path: str) -> bytes:
        return bytes(obj)

    def _encode(self, obj: bytes, context: Any, path: str) -> bytes:
        if not isinstance(obj, bytes | bytearray):
            raise cs.ValidationError(f"expected bytes, got {type(obj).__name__}")
        return bytes(obj)


def compile_field(decl: FieldDecl, charset: str) -> cs.Construct:
    enc = decl.encoding
    if enc is Encoding.TEXT:
        return _Text(decl.charset or charset)
    if enc is Encoding.ASCII:
        return _Ascii(cs.GreedyBytes)
    if enc is Encoding.NUMERIC:
        assert decl.digits is not None
        return _Bcd(decl.digits)
    if enc in (Encoding.DATE_BCD, Encoding.DATE_ASCII):
        return _Date(bcd=enc is Encoding.DATE_BCD)
    if enc is Encoding.JPEG:
        return _Jpeg(cs.GreedyBytes)
    return _Raw(cs.GreedyBytes)


@dataclass(frozen=True)
class FieldCodec:
    """A compiled field: value <-> value bytes, with the declared length limit enforced both ways."""

    decl: FieldDecl
    construct: Any

    @classmethod
    def compile(cls, decl: FieldDecl, charset: str) -> FieldCodec:
        return cls(decl, compile_field(decl, charset))

    def encode(self, value: Value) -> bytes:
        try:
            raw: bytes = self.construct.build(value)
        except cs.ConstructError as exc:
            raise FieldValueError(self.decl.field, _reason(exc)) from None
        except (TypeError, AttributeError):
            raise FieldValueError(self.decl.field, f"wrong value type {type(value).__name__}") from None
        if len(raw) > self.decl.value_max:
            raise FieldValueError(self.decl.field, f"{len(raw)} bytes exceed the layout's limit of "
                                  f"{self.decl.value_max}")
        return raw

    def decode(self, raw: bytes) -> Value:
        """Raises FieldValueError; the EF codec adds the offset and tag."""
        if self.decl.encoding in _FIXED and len(raw) != self.decl.value_max:
            raise FieldValueError(self.decl.field, f"must be {self.decl.value_max} bytes, got {len(raw)}")
        if len(raw) > self.decl.value_max:
            raise FieldValueError(self.decl.field, f"{len(raw)} bytes exceed the layout's limit of "
                                  f"{self.decl.value_max}")
        try:
            value: Value = self.construct.parse(raw)
        except cs.ConstructError as exc:
            raise FieldValueError(self.decl.field, _reason(exc)) from None
        return value


def _reason(exc: Exception) -> str:
    text = str(exc).split("\n")[-1]
    for prefix in ("Error in path (building) -> ", "Error in path (parsing) -> "):
        text = text.removeprefix(prefix)
    return text.strip() or type(exc).__name__
