"""READ RECORD / UPDATE RECORD / APPEND RECORD (ISO 7816-4 §11.4.3, §11.4.5, §11.4.6).

P1 is a record number (00 = current record); P2 b8-b4 an SFI (00000 = current EF) and b3-b1 the mode:
100 record P1, 101 records P1..last, 110 records last..P1 (reads only). Record EF semantics follow
§7.3.2: linear fixed records all have the record length, APPEND fails with 6A84 when the file is full,
a cyclic EF overwrites its oldest record and record 1 is always the most recent.
"""

from __future__ import annotations

from applets.context import Context, Handler, Reply
from applets.errors import SwError, wrong_length, wrong_p1p2
from applets.fs import FileNode, RecordEf
from cardsvc.iso7816.fcp import EfOp
from cardsvc.iso7816.ins import INS
from cardsvc.iso7816.sw import SW

MODE_ONE = 0b100
MODE_TO_LAST = 0b101
MODE_FROM_LAST = 0b110


def _target(ctx: Context) -> RecordEf:
    if ctx.apdu.p1 == 0xFF:
        raise wrong_p1p2("record number FF is reserved")
    sfi = ctx.apdu.p2 >> 3
    if sfi == 0x1F:
        raise wrong_p1p2(f"P2 {ctx.apdu.p2:02X}: SFI 11111 is reserved")
    node: FileNode | None = ctx.ef_by_sfi(sfi) if sfi else ctx.channel.current_ef
    return ctx.records(node)


def _number(ctx: Context, ef: RecordEf) -> int:
    number = ctx.apdu.p1
    if number == 0:
        number = ctx.channel.current_record
        if number == 0:
            raise SwError(SW.RECORD_NOT_FOUND, f"no current record in EF {ef.fid:04X}")
    if ef.record(number) is None:
        raise SwError(SW.RECORD_NOT_FOUND, f"record {number} not in EF {ef.fid:04X} ({ef.count} records)")
    return number


def read_record(ctx: Context) -> Reply:
    apdu = ctx.apdu
    if apdu.data:
        raise wrong_length("READ RECORD (B2) takes no data field")
    if apdu.le is None:
        raise wrong_length("READ RECORD needs Le")
    mode = apdu.p2 & 0x07
    if mode not in (MODE_ONE, MODE_TO_LAST, MODE_FROM_LAST):
        raise wrong_p1p2(f"P2 {apdu.p2:02X}: record mode {mode:03b} not supported")
    ef = _target(ctx)
    ctx.require(ef, EfOp.READ, "READ RECORD")
    first = _number(ctx, ef)
    if mode == MODE_ONE:
        data = bytes(ef.record(first) or b"")
        ctx.channel.current_record = first
        if len(data) > ctx.ne and not ctx.ne_is_wildcard and len(data) <= 256:
            return Reply(b"", 0x6C00 | (len(data) & 0xFF))  # 6Cxx: resend with Le = the record length
        return Reply(data)
    numbers = range(first, ef.count + 1) if mode == MODE_TO_LAST else range(ef.count, first - 1, -1)
    return Reply(b"".join(bytes(ef.record(n) or b"") for n in numbers))


def _check_record_data(ef: RecordEf, data: bytes) -> None:
    if ef.fixed_length and len(data) != ef.record_length:
        raise wrong_length(f"EF {ef.fid:04X} records are {ef.record_length} bytes, got {len(data)}")
    if not 1 <= len(data) <= ef.record_length:
        raise wrong_length(f"EF {ef.fid:04X} records are 1..{ef.record_length} bytes, got {len(data)}")


def update_record(ctx: Context) -> Reply:
    apdu = ctx.apdu
    if apdu.p2 & 0x07 != MODE_ONE:
        raise wrong_p1p2(f"P2 {apdu.p2:02X}: only mode 100 (record number in P1) is supported")
    ef = _target(ctx)
    ctx.require(ef, EfOp.UPDATE, "UPDATE RECORD")
    number = _number(ctx, ef)
    _check_record_data(ef, apdu.data)
    index = ef.slot_index(number)
    assert index is not None
    if ef.fixed_length:
        ctx.os.nvm.write(ef.slots[index], 0, apdu.data)
    else:  # a new length: write a fresh slot, then swap it in with the commit page
        fresh = bytearray(len(apdu.data))
        slots = ef.slots

        def swap() -> None:
            slots[index] = fresh

        ctx.os.nvm.write(fresh, 0, apdu.data, then=swap)
    ctx.channel.current_record = number
    return Reply()


def append_record(ctx: Context) -> Reply:
    apdu = ctx.apdu
    if apdu.p1 != 0:
        raise wrong_p1p2(f"P1 {apdu.p1:02X}: APPEND RECORD takes P1 00")
    if apdu.p2 & 0x07:
        raise wrong_p1p2(f"P2 {apdu.p2:02X}: b3-b1 must be 000")
    ef = _target(ctx)
    ctx.require(ef, EfOp.WRITE, "APPEND RECORD")
    _check_record_data(ef, apdu.data)
    channel = ctx.channel
    if ef.count < ef.max_records:
        fresh = bytearray(len(apdu.data))

        def link() -> None:
            ef.slots.append(fresh)
            ef.head = len(ef.slots) - 1

        ctx.os.nvm.write(fresh, 0, apdu.data, then=link)
        channel.current_record = 1 if ef.cyclic else ef.count
        return Reply()
    if not ef.cyclic:
        raise SwError(SW.NOT_ENOUGH_MEMORY, f"EF {ef.fid:04X} is full ({ef.max_records} records)")
    oldest = (ef.head + 1) % ef.count

    def advance() -> None:
        ef.head = oldest

    ctx.os.nvm.write(ef.slots[oldest], 0, apdu.data, then=advance)
    channel.current_record = 1
    return Reply()


HANDLERS: dict[INS, Handler] = {INS.READ_RECORD: read_record, INS.UPDATE_RECORD: update_record,
                                INS.APPEND_RECORD: append_record}
