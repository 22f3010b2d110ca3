"""Read a BER-TLV transparent EF to the exact end of its data, never a byte twice, little padding.

Our EFs hold BER-TLV data objects followed by unused space (the file size is the capacity the layout
reserves). ISO 7816-4 §5.2.2: '00' and 'FF' are not valid first tag bytes and may pad before, between
and after data objects, so the content ends at the first object boundary that holds '00'/'FF', or at the
end of the file. The reader learns each object's size from its header and asks the card for exactly the
rest of the object; in a file of several objects it also asks for ``lookahead`` bytes beyond, to see the
next header (or the padding) without one more command. A one-object file (``single``: photo, chip key,
security object) is read as header + value and nothing after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import construct as cs

from cardsvc.iso7816.errors import TlvError
from cardsvc.iso7816.tlv import TlvHeader

ReadFn = Callable[[int, int], bytes]
"""``read(offset, length)``: up to ``length`` bytes of the file from ``offset`` (fewer at its end)."""

PADDING = frozenset({0x00, 0xFF})  # ISO 7816-4 §5.2.2
MAX_HEADER = 4 + 4  # tag of up to 4 bytes (ISO 7816-4 §5.2.2.1), length of up to 4 (§5.2.2.2)


@dataclass(frozen=True, slots=True)
class Extent:
    """What was read: ``content`` is the file's data; ``read`` counts every byte the card sent."""

    content: bytes
    read: int
    commands: int  # number of read calls (each one or more APDUs)

    @property
    def overread(self) -> int:
        return self.read - len(self.content)


def _header(buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """(header length, value length) of the object at ``pos``; None if the header is still incomplete."""
    window = bytes(buf[pos : pos + MAX_HEADER])
    try:
        parsed = TlvHeader.parse(window)
    except cs.StreamError:
        return None
    except (cs.ConstructError, ValueError) as exc:
        raise TlvError(str(exc).split("\n")[-1].strip() or "malformed header", pos) from None
    tag, length = int(parsed.tag), int(parsed.length)
    tag_len = (tag.bit_length() + 7) // 8
    first = window[tag_len]
    length_len = 1 if first < 0x80 else 1 + (first & 0x7F)
    return tag_len + length_len, length


def read_extent(read: ReadFn, capacity: int, *, single: bool, lookahead: int = 32,
                first: int | None = None) -> Extent:
    """Read the data objects of a file of ``capacity`` bytes through ``read``.

    ``first``: bytes to ask for in the first command (a known or expected size); default: a header's
    worth for a one-object file, ``lookahead`` otherwise. Raises ``TlvError`` (with the offset) when an
    object is malformed, runs past the file, or the card ends the file inside one.
    """
    if capacity < 0 or lookahead < 1:
        raise ValueError(f"capacity {capacity} / lookahead {lookahead}: capacity >= 0, lookahead >= 1")
    buf = bytearray()
    pos = 0  # start of the next data object
    eof = False
    commands = 0
    want = first if first is not None else (MAX_HEADER if single else max(lookahead, MAX_HEADER))
    while True:
        need = 0
        while True:  # walk the complete objects we hold
            if pos >= capacity or (eof and pos >= len(buf)):
                return Extent(bytes(buf[:pos]), len(buf), commands)
            if pos < len(buf) and buf[pos] in PADDING:
                return Extent(bytes(buf[:pos]), len(buf), commands)
            header = _header(buf, pos)
            if header is None:  # the rest of the header, and past it for a file of several objects
                need = max(1, pos + MAX_HEADER - len(buf)) + (0 if single else lookahead)
                break
            end = pos + header[0] + header[1]
            if end > capacity:
                raise TlvError(f"data object of {header[1]} bytes runs past the end of the file "
                               f"({capacity} bytes)", pos)
            if end > len(buf):
                need = end - len(buf) + (0 if single else lookahead)
                break
            pos = end
            if single:
                return Extent(bytes(buf[:pos]), len(buf), commands)
        if eof:
            raise TlvError(f"the file ends at byte {len(buf)}, inside the data object at {pos}", pos)
        want = min(want if want > 0 else need, capacity - len(buf))
        if want <= 0:  # a header cut off by the end of the file
            eof = True
            continue
        chunk = read(len(buf), want)[:want]
        commands += 1
        eof = len(chunk) < want
        buf += chunk
        want = 0
