"""BER-TLV data objects (ISO/IEC 7816-4:2020 §6.3, ISO/IEC 8825-1 tag and length rules).

Tag: one byte, or, when its b5-b1 are all set, further bytes while b8 is set. Length: one byte below
0x80, else 0x81-0x83 followed by one to three bytes (the indefinite form 0x80 is not used in 7816).
Built with construct; errors carry the absolute byte offset and the tag being read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import construct as cs

from cardsvc.iso7816.errors import TlvError

MAX_LENGTH = 0xFFFFFF


class _BerTag(cs.Construct):  # type: ignore[misc]
    def _parse(self, stream: Any, context: Any, path: str) -> int:
        first = cs.stream_read(stream, 1, path)[0]
        if first in (0x00, 0xFF):
            raise cs.ExplicitError(f"tag byte {first:02X} is not a valid first tag byte")
        tag: int = first
        if first & 0x1F == 0x1F:
            for i in range(3):
                nxt = cs.stream_read(stream, 1, path)[0]
                if i == 0 and nxt == 0x80:
                    raise cs.ExplicitError("tag continuation byte 80 is not minimal")
                tag = (tag << 8) | nxt
                if not nxt & 0x80:
                    break
            else:
                raise cs.ExplicitError("tag longer than 4 bytes")
        return tag

    def _build(self, obj: int, stream: Any, context: Any, path: str) -> int:
        cs.stream_write(stream, encode_tag(obj), len(encode_tag(obj)), path)
        return obj


class _BerLength(cs.Construct):  # type: ignore[misc]
    def _parse(self, stream: Any, context: Any, path: str) -> int:
        first = cs.stream_read(stream, 1, path)[0]
        if first < 0x80:
            return int(first)
        count = first & 0x7F
        if count == 0:
            raise cs.ExplicitError("indefinite length (80) is not allowed")
        if count > 3:
            raise cs.ExplicitError(f"length field of {count} bytes is more than 3")
        return int.from_bytes(cs.stream_read(stream, count, path), "big")

    def _build(self, obj: int, stream: Any, context: Any, path: str) -> int:
        raw = encode_length(obj)
        cs.stream_write(stream, raw, len(raw), path)
        return obj


BerTag = _BerTag()
BerLength = _BerLength()
TlvHeader = cs.Struct("tag" / BerTag, "length" / BerLength)


def encode_tag(tag: int) -> bytes:
    if not 0 < tag <= 0xFFFFFFFF:
        raise ValueError(f"tag {tag!r} out of range")
    raw = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    if len(raw) == 1 and raw[0] & 0x1F == 0x1F:
        raise ValueError(f"tag {tag:02X} announces further tag bytes but has none")
    if len(raw) > 1 and raw[0] & 0x1F != 0x1F:
        raise ValueError(f"multi-byte tag {tag:X} must start with b5-b1 all set")
    return raw


def encode_length(length: int) -> bytes:
    """Minimal definite length (DER rule), so the same value always encodes to the same bytes."""
    if length < 0 or length > MAX_LENGTH:
        raise ValueError(f"length {length} outside 0..{MAX_LENGTH}")
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tag_is_constructed(tag: int) -> bool:
    first = tag.to_bytes((tag.bit_length() + 7) // 8, "big")[0]
    return bool(first & 0x20)


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes
    offset: int = 0  # absolute offset of the tag byte in the parsed buffer (0 for built objects)

    @property
    def constructed(self) -> bool:
        return tag_is_constructed(self.tag)

    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise TlvError("primitive data object has no children", self.offset, self.tag)
        return parse_tlvs(self.value, offset_base=self.offset + self.header_length)

    @property
    def header_length(self) -> int:
        return len(encode_tag(self.tag)) + len(encode_length(len(self.value)))

    def encode(self) -> bytes:
        return encode_tlv(self.tag, self.value)

    def __repr__(self) -> str:
        return f"Tlv({self.tag:02X}, {len(self.value)} bytes)"


def encode_tlv(tag: int, value: bytes) -> bytes:
    return encode_tag(tag) + encode_length(len(value)) + value


def iter_tlvs(data: bytes, offset_base: int = 0, allow_padding: bool = False) -> Iterator[Tlv]:
    """Yield data objects in order; padding bytes 00/FF between objects only when allowed (§5.2.2)."""
    pos = 0
    end = len(data)
    while pos < end:
        if allow_padding and data[pos] in (0x00, 0xFF):
            pos += 1
            continue
        start = pos
        tag: int | None = None
        try:
            tag = BerTag.parse(data[pos : pos + 4])
            pos += len(encode_tag(tag))
            length = BerLength.parse(data[pos : pos + 4])
        except (cs.ConstructError, ValueError) as exc:
            raise TlvError(_reason(exc), offset_base + pos, tag) from None
        pos += _length_field_size(data[pos])
        if pos + length > end:
            raise TlvError(f"value of {length} bytes runs past the end ({end - pos} bytes left)",
                           offset_base + start, tag)
        yield Tlv(tag, bytes(data[pos : pos + length]), offset_base + start)
        pos += length


def parse_tlvs(data: bytes, offset_base: int = 0, allow_padding: bool = False) -> list[Tlv]:
    return list(iter_tlvs(data, offset_base, allow_padding))


def parse_single(data: bytes, expected_tag: int | None = None, offset_base: int = 0) -> Tlv:
    """Exactly one data object filling `data`; trailing bytes are an error."""
    objects = parse_tlvs(data, offset_base)
    if len(objects) != 1:
        raise TlvError(f"expected one data object, found {len(objects)}", offset_base)
    obj = objects[0]
    if expected_tag is not None and obj.tag != expected_tag:
        raise TlvError(f"expected tag {expected_tag:02X}", obj.offset, obj.tag)
    return obj


def tlv_map(data: bytes, offset_base: int = 0) -> dict[int, bytes]:
    """Tag → value for a flat list; a repeated tag is an error (our layouts never repeat one)."""
    out: dict[int, bytes] = {}
    for obj in iter_tlvs(data, offset_base):
        if obj.tag in out:
            raise TlvError("tag repeated", obj.offset, obj.tag)
        out[obj.tag] = obj.value
    return out


def _length_field_size(first: int) -> int:
    return 1 if first < 0x80 else 1 + (first & 0x7F)


def _reason(exc: Exception) -> str:
    if isinstance(exc, cs.StreamError):
        return "data ends inside the tag or length field"
    text = str(exc)
    return text.split("\n")[-1].removeprefix("Error in path (parsing) -> ").strip() or type(exc).__name__
