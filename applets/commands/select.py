"""SELECT (ISO 7816-4 §11.2.2), MANAGE CHANNEL (§11.1.2), GET RESPONSE (§11.7.1)."""

from __future__ import annotations

from applets.context import ChannelState, Context, Handler, Reply
from applets.errors import SwError, wrong_length, wrong_p1p2
from applets.fs import CURRENT_DF_FID, DedicatedFile, FileNode, find_by_name
from cardsvc.iso7816.commands import MF_FID
from cardsvc.iso7816.fcp import LifeCycle
from cardsvc.iso7816.ins import INS
from cardsvc.iso7816.sw import SW
from cardsvc.iso7816.tlv import encode_tlv

TAG_FCI = 0x6F
TAG_FMD = 0x64


def _fid(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _not_found(what: str) -> SwError:
    return SwError(SW.FILE_NOT_FOUND, f"{what} not found")


def by_fid(channel: ChannelState, mf: DedicatedFile, fid: int) -> FileNode:
    """P1=00: the MF, the current DF, its children, its parent, or the parent's children (§7.1.1)."""
    if fid == MF_FID:
        return mf
    df = channel.current_df
    if fid == CURRENT_DF_FID or fid == df.fid:
        return df
    node = df.child(fid)
    if node is None and df.parent is not None:
        node = df.parent if df.parent.fid == fid else df.parent.child(fid)
    if node is None:
        raise _not_found(f"file {fid:04X}")
    return node


def by_path(start: DedicatedFile, path: bytes) -> FileNode:
    """P1=08/09: a sequence of FIDs, each a child of the previous DF (§7.1.1 path)."""
    if not path or len(path) % 2:
        raise wrong_length(f"path of {len(path)} bytes; it must be a non-empty sequence of 2-byte FIDs")
    node: FileNode = start
    for i in range(0, len(path), 2):
        fid = _fid(path[i : i + 2])
        if not isinstance(node, DedicatedFile):
            raise _not_found(f"path element {fid:04X} under EF {node.fid:04X}")
        if fid == CURRENT_DF_FID and i == 0:
            continue
        child = node.child(fid)
        if child is None:
            raise _not_found(f"path element {fid:04X} in DF {node.fid:04X}")
        node = child
    return node


def by_name(ctx: Context, name: bytes, occurrence: int) -> DedicatedFile:
    if not 1 <= len(name) <= 16:
        raise wrong_length(f"DF name of {len(name)} bytes; it must be 1..16")
    found = find_by_name(ctx.os.state.mf, name)
    if occurrence == 0b10:  # next occurrence after the current DF (§11.2.2, P2 b2-b1)
        current = ctx.channel.current_df
        later = [i for i, df in enumerate(found) if df is current]
        found = found[later[0] + 1 :] if later else found
    if not found:
        raise _not_found(f"DF name {name.hex().upper()}")
    return found[0]


def file_info(node: FileNode, mode: int) -> bytes:
    """P2 b4-b3: 00 FCI (6F), 01 FCP (62), 10 FMD (64), 11 none (§11.2.2 table 63)."""
    if mode == 0b11:
        return b""
    fcp = node.fcp().encode()
    if mode == 0b01:
        return fcp
    inner = fcp[2:] if fcp[1] < 0x80 else fcp[2 + (fcp[1] & 0x7F) :]
    if mode == 0b00:
        return encode_tlv(TAG_FCI, inner)
    return encode_tlv(TAG_FMD, b"")


def select(ctx: Context) -> Reply:
    apdu, channel = ctx.apdu, ctx.channel
    p1, p2, data = apdu.p1, apdu.p2, apdu.data
    if p2 & 0xF0:
        raise wrong_p1p2(f"P2 {p2:02X}: b8-b5 must be 0")
    occurrence = p2 & 0x03
    if occurrence and not (p1 == 0x04 and occurrence == 0b10):
        raise wrong_p1p2(f"P2 {p2:02X}: occurrence {occurrence} not supported with P1 {p1:02X}")
    mf = ctx.os.state.mf
    node: FileNode
    if p1 == 0x00:
        if len(data) not in (0, 2):
            raise wrong_length(f"SELECT by FID takes 0 or 2 bytes, got {len(data)}")
        node = mf if not data else by_fid(channel, mf, _fid(data))
    elif p1 in (0x01, 0x02):
        if len(data) != 2:
            raise wrong_length(f"SELECT P1={p1:02X} takes a 2-byte FID, got {len(data)} bytes")
        child = channel.current_df.child(_fid(data))
        if child is None or child.is_df != (p1 == 0x01):
            raise _not_found(f"{'DF' if p1 == 1 else 'EF'} {_fid(data):04X} under the current DF")
        node = child
    elif p1 == 0x03:
        if data:
            raise wrong_length("SELECT parent DF takes no data")
        parent = channel.current_df.parent
        if parent is None:
            raise _not_found("parent of the MF")
        node = parent
    elif p1 == 0x04:
        node = by_name(ctx, data, occurrence)
    elif p1 == 0x08:
        rest = data[2:] if data[:2] == b"\x3f\x00" else data
        node = mf if data and not rest else by_path(mf, rest)
    elif p1 == 0x09:
        node = by_path(channel.current_df, data)
    else:
        raise wrong_p1p2(f"P1 {p1:02X} is not a selection method")
    if isinstance(node, DedicatedFile):
        channel.select_df(node)
    else:
        channel.select_ef(node)
    sw = SW.OK
    for item in node.chain():
        if item.lifecycle == LifeCycle.TERMINATED:
            sw = SW.SELECTED_FILE_TERMINATED
            break
        if item.lifecycle == LifeCycle.DEACTIVATED:
            sw = SW.SELECTED_FILE_DEACTIVATED
    return Reply(file_info(node, (p2 >> 2) & 0x03), sw)


def manage_channel(ctx: Context) -> Reply:
    apdu, channels = ctx.apdu, ctx.os.channels
    if apdu.data:
        raise wrong_length("MANAGE CHANNEL takes no data")
    if apdu.p1 == 0x00:  # open
        if apdu.p2 == 0:
            free = [i for i in range(1, len(channels)) if channels[i] is None]
            if not free:
                raise SwError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED, "no free logical channel")
            number = free[0]
        else:
            number = apdu.p2
            if number >= len(channels):
                raise SwError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED, f"channel {number} is beyond {len(channels) - 1}")
            if channels[number] is not None:
                raise SwError(SW.CONDITIONS_OF_USE_NOT_SATISFIED, f"channel {number} is already open")
        # Opened from the basic channel: MF selected; from another: that channel's current DF (§5.1.1.2).
        origin = ctx.channel.current_df if ctx.channel is not channels[0] else ctx.os.state.mf
        channels[number] = ChannelState(origin)
        return Reply(bytes((number,)) if apdu.p2 == 0 else b"")
    if apdu.p1 == 0x80:  # close
        number = apdu.p2 or next(i for i, c in enumerate(channels) if c is ctx.channel)
        if number == 0:
            raise wrong_p1p2("the basic channel 0 cannot be closed")
        if number >= len(channels) or channels[number] is None:
            raise SwError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED, f"channel {number} is not open")
        channels[number] = None
        return Reply()
    raise wrong_p1p2(f"P1 {apdu.p1:02X}: 00 opens, 80 closes")


def get_response(ctx: Context) -> Reply:
    if ctx.apdu.p1 or ctx.apdu.p2:
        raise wrong_p1p2("GET RESPONSE takes P1-P2 0000")
    if not ctx.channel.pending:
        raise SwError(SW.CONDITIONS_OF_USE_NOT_SATISFIED, "no response data waiting")
    if ctx.apdu.le is None:
        raise wrong_length("GET RESPONSE needs Le")
    data, ctx.channel.pending = ctx.channel.pending, b""
    return Reply(data)


HANDLERS: dict[INS, Handler] = {INS.SELECT: select, INS.MANAGE_CHANNEL: manage_channel,
                                INS.GET_RESPONSE: get_response}
