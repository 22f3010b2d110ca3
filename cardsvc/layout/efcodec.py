"""EF content codecs: a declared EF's fields as canonical BER-TLV (ISO 7816-4 §6.3), built per layout.

Encoding is canonical so the security object hashes stable bytes: fields in declared order, minimal
lengths, absent values omitted. Decoding names the EF, offset and tag of any problem, keeps tags it does
not know (a newer layout version) and reports them, and rejects duplicates and trailing bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cardsvc.iso7816.errors import TlvError
from cardsvc.iso7816.tlv import encode_tlv, parse_tlvs
from cardsvc.layout.errors import FieldValueError, ImageDecodeError
from cardsvc.layout.fields import FieldCodec, Value
from cardsvc.layout.schema import EfDecl, ReservedApplication

TAG_APP_TEMPLATE = 0x61  # ISO 7816-4 §8.2.1.1 application template
TAG_AID = 0x4F
TAG_LABEL = 0x50


@dataclass(frozen=True, slots=True)
class UnknownTag:
    """A data object the layout does not declare, kept as found (offset within the EF or record)."""

    file: str
    tag: int
    value: bytes
    offset: int
    record: int | None = None  # 1-based record number for record EFs

    def __str__(self) -> str:
        where = f"EF {self.file}" + (f" record {self.record}" if self.record else "")
        return f"{where}: unknown tag {self.tag:02X} ({len(self.value)} bytes) at offset {self.offset}"


@dataclass(frozen=True, slots=True)
class Decoded:
    values: dict[str, Value]
    unknown: tuple[UnknownTag, ...]


class FieldsCodec:
    """The fields of one EF (or of one record of a record EF)."""

    def __init__(self, ef: EfDecl, charset: str) -> None:
        self.ef = ef
        self.codecs = [FieldCodec.compile(f, charset) for f in ef.fields]
        self._by_tag = {c.decl.tag: c for c in self.codecs}
        self._names = {c.decl.field for c in self.codecs}

    def encode(self, values: Mapping[str, Value | None]) -> bytes:
        extra = sorted(name for name, value in values.items() if value is not None and name not in self._names)
        if extra:
            raise FieldValueError(extra[0], f"EF {self.ef.name} has no field {extra[0]!r}")
        out = bytearray()
        for codec in self.codecs:
            value = values.get(codec.decl.field)
            if value is not None:
                out += encode_tlv(codec.decl.tag, codec.encode(value))
        return bytes(out)

    def decode(self, content: bytes, record: int | None = None, padded: bool = False) -> Decoded:
        """`padded`: records of a fixed-length record EF may carry '00' padding (ISO 7816-4 §6.3)."""
        where = self.ef.name + (f" record {record}" if record else "")
        try:
            objects = parse_tlvs(content, allow_padding=padded)
        except TlvError as exc:
            raise ImageDecodeError(where, exc.reason, exc.offset, exc.tag) from None
        values: dict[str, Value] = {}
        unknown: list[UnknownTag] = []
        seen: set[int] = set()
        for obj in objects:
            if obj.tag in seen:
                raise ImageDecodeError(where, "tag repeated", obj.offset, obj.tag)
            seen.add(obj.tag)
            codec = self._by_tag.get(obj.tag)
            if codec is None:
                unknown.append(UnknownTag(self.ef.name, obj.tag, obj.value, obj.offset, record))
                continue
            try:
                values[codec.decl.field] = codec.decode(obj.value)
            except FieldValueError as exc:
                raise ImageDecodeError(where, f"field {exc.field}: {exc.reason}", obj.offset, obj.tag) from None
        return Decoded(values, tuple(unknown))


def encode_dir_record(aid: bytes, label: str) -> bytes:
    """One EF.DIR record: '61' { '4F' AID, '50' label } (ISO 7816-4 §8.2.1.1, table 91)."""
    return encode_tlv(TAG_APP_TEMPLATE, encode_tlv(TAG_AID, aid) + encode_tlv(TAG_LABEL, label.encode("utf-8")))


def decode_dir_record(record: bytes, file: str = "dir", number: int | None = None,
                      padded: bool = False) -> ReservedApplication:
    where = file + (f" record {number}" if number else "")
    try:
        objects = parse_tlvs(record, allow_padding=padded)
        if len(objects) != 1 or objects[0].tag != TAG_APP_TEMPLATE:
            raise ImageDecodeError(where, "a record must be one application template 61", 0,
                                   objects[0].tag if objects else None)
        inner = {o.tag: o for o in objects[0].children()}
    except TlvError as exc:
        if isinstance(exc, ImageDecodeError):
            raise
        raise ImageDecodeError(where, exc.reason, exc.offset, exc.tag) from None
    if TAG_AID not in inner:
        raise ImageDecodeError(where, "application identifier 4F missing", 0, TAG_APP_TEMPLATE)
    label = inner.get(TAG_LABEL)
    try:
        text = label.value.decode("utf-8") if label else ""
    except UnicodeDecodeError:
        raise ImageDecodeError(where, "application label is not UTF-8", label.offset if label else 0,
                               TAG_LABEL) from None
    return ReservedApplication(aid=inner[TAG_AID].value, label=text)
