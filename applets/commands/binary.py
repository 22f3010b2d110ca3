"""READ BINARY / UPDATE BINARY, even and odd INS (ISO 7816-4 §11.3.3, §11.3.5).

Even INS: P1 b8=1 → SFI in P1 b5-b1 and offset in P2; else a 15-bit offset in P1-P2 of the current EF.
Odd INS: P1-P2 names the EF (0000 current, 000x SFI, else FID) and the offset travels in DO '54';
data travels in DO '53' (§11.3.2).
"""

from __future__ import annotations

from applets.context import Context, Handler, Reply
from applets.errors import SwError, wrong_length, wrong_p1p2
from applets.fs import FileNode, TransparentEf
from cardsvc.iso7816.errors import TlvError
from cardsvc.iso7816.fcp import EfOp
from cardsvc.iso7816.ins import INS
from cardsvc.iso7816.sw import SW
from cardsvc.iso7816.tlv import encode_length, encode_tlv, tlv_map

TAG_OFFSET = 0x54
TAG_DATA = 0x53


def _even_target(ctx: Context) -> tuple[TransparentEf, int]:
    p1, p2 = ctx.apdu.p1, ctx.apdu.p2
    node: FileNode | None
    if p1 & 0x80:
        if p1 & 0x60:
            raise wrong_p1p2(f"P1 {p1:02X}: with b8 set, b7-b6 must be 0")
        node = ctx.ef_by_sfi(p1 & 0x1F)
        offset = p2
    else:
        node = ctx.channel.current_ef
        offset = (p1 << 8) | p2
    return ctx.transparent(node), offset


def _odd_target(ctx: Context) -> TransparentEf:
    ref = (ctx.apdu.p1 << 8) | ctx.apdu.p2
    node: FileNode | None
    if ref == 0:
        node = ctx.channel.current_ef
    elif ref & 0xFFE0 == 0:
        node = ctx.ef_by_sfi(ref & 0x1F)
    else:
        node = ctx.channel.current_df.child(ref)
        if node is None or node.is_df:
            raise SwError(SW.FILE_NOT_FOUND, f"EF {ref:04X} not found under the current DF")
        ctx.channel.select_ef(node)
    return ctx.transparent(node)


def _odd_fields(data: bytes) -> dict[int, bytes]:
    try:
        fields = tlv_map(data)
    except TlvError as exc:
        raise SwError(SW.INCORRECT_DATA, f"data field: {exc}") from None
    offset = fields.get(TAG_OFFSET)
    if offset is None:
        raise SwError(SW.INCORRECT_DATA, "offset data object '54' missing")
    if not 1 <= len(offset) <= 3:
        raise SwError(SW.INCORRECT_DATA, f"offset DO '54' of {len(offset)} bytes; 1..3 expected")
    return fields


def _read(ctx: Context, ef: TransparentEf, offset: int, room: int) -> tuple[bytes, int]:
    limit = ctx.os.max_le
    if limit is not None and ctx.ne > limit:  # a small I/O buffer: the reader must step Le down
        raise wrong_length(f"Le {ctx.ne} exceeds the card's response buffer of {limit} bytes")
    ctx.require(ef, EfOp.READ, "READ BINARY")
    if offset > ef.size:
        raise SwError(SW.WRONG_P1_P2, f"offset {offset} is beyond the end of EF {ef.fid:04X} ({ef.size} bytes)")
    chunk = bytes(ef.data[offset : offset + room])
    short = len(chunk) < room and not ctx.ne_is_wildcard
    return chunk, SW.END_OF_FILE_REACHED if short or offset == ef.size else SW.OK


def read_binary(ctx: Context) -> Reply:
    if ctx.apdu.data:
        raise wrong_length("READ BINARY (B0) takes no data field")
    if ctx.apdu.le is None:
        raise wrong_length("READ BINARY needs Le")
    ef, offset = _even_target(ctx)
    data, sw = _read(ctx, ef, offset, ctx.ne)
    return Reply(data, sw)


def read_binary_odd(ctx: Context) -> Reply:
    if ctx.apdu.le is None:
        raise wrong_length("READ BINARY needs Le")
    fields = _odd_fields(ctx.apdu.data)
    ef = _odd_target(ctx)
    offset = int.from_bytes(fields[TAG_OFFSET], "big")
    # The answer is DO '53' around the data: leave room for its tag and length within Ne.
    room = max(0, ctx.ne - 2)
    while room and 1 + len(encode_length(room)) + room > ctx.ne:
        room -= 1
    data, sw = _read(ctx, ef, offset, room)
    return Reply(encode_tlv(TAG_DATA, data), sw)


def _update(ctx: Context, ef: TransparentEf, offset: int, data: bytes) -> Reply:
    if not data:
        raise wrong_length("UPDATE BINARY needs data")
    ctx.require(ef, EfOp.UPDATE, "UPDATE BINARY")
    if offset > ef.size:
        raise SwError(SW.WRONG_P1_P2, f"offset {offset} is beyond the end of EF {ef.fid:04X} ({ef.size} bytes)")
    if offset + len(data) > ef.size:
        raise SwError(SW.NOT_ENOUGH_MEMORY,
                      f"{len(data)} bytes at offset {offset} exceed EF {ef.fid:04X} size {ef.size}")
    ctx.os.nvm.write(ef.data, offset, data)
    return Reply()


def update_binary(ctx: Context) -> Reply:
    ef, offset = _even_target(ctx)
    return _update(ctx, ef, offset, ctx.apdu.data)


def update_binary_odd(ctx: Context) -> Reply:
    fields = _odd_fields(ctx.apdu.data)
    if TAG_DATA not in fields:
        raise SwError(SW.INCORRECT_DATA, "discretionary data object '53' missing")
    ef = _odd_target(ctx)
    return _update(ctx, ef, int.from_bytes(fields[TAG_OFFSET], "big"), fields[TAG_DATA])


HANDLERS: dict[INS, Handler] = {INS.READ_BINARY: read_binary, INS.READ_BINARY_ODD: read_binary_odd,
                                INS.UPDATE_BINARY: update_binary, INS.UPDATE_BINARY_ODD: update_binary_odd}
