"""File administration (ISO 7816-9): CREATE FILE, DELETE FILE, DEACTIVATE/ACTIVATE FILE, TERMINATE DF/EF.

CREATE FILE takes an FCP template '62' (ISO 7816-4 §7.4): the declared size and record geometry are
fixed at creation and enforced by every later write. The created file becomes the current file.
"""

from __future__ import annotations

from applets.access import check_delete
from applets.context import Context, Handler, Reply
from applets.errors import SwError, wrong_length, wrong_p1p2
from applets.fs import RESERVED_FIDS, DedicatedFile, FileNode, RecordEf, TransparentEf, find_by_name
from cardsvc.iso7816.errors import FcpError
from cardsvc.iso7816.fcp import DfOp, EfOp, Fcp, FileStructure, LifeCycle
from cardsvc.iso7816.ins import INS
from cardsvc.iso7816.sw import SW

MAX_RECORDS = 254  # record numbers 01..FE (P1 FF is reserved)
_CREATE_STATES = (LifeCycle.CREATION, LifeCycle.INITIALISATION, LifeCycle.ACTIVATED)


def _bad_fcp(reason: str) -> SwError:
    return SwError(SW.INCORRECT_DATA, f"FCP: {reason}")


def build_file(fcp: Fcp) -> FileNode:
    """A new, detached file object from a parsed FCP; refuse what our file system cannot honour."""
    if fcp.fid is None:
        raise _bad_fcp("file identifier (83) missing")
    if fcp.fid in RESERVED_FIDS:
        raise _bad_fcp(f"file identifier {fcp.fid:04X} is reserved")
    lifecycle = fcp.lifecycle if fcp.lifecycle is not None else LifeCycle.ACTIVATED
    if lifecycle not in _CREATE_STATES:
        raise _bad_fcp(f"a file cannot be created in life-cycle state {lifecycle.name}")
    if fcp.structure == FileStructure.DF:
        if fcp.sfi is not None:
            raise _bad_fcp("a DF has no short EF identifier (88)")
        return DedicatedFile(fcp.fid, fcp.df_name, lifecycle, fcp.security)
    if fcp.df_name is not None:
        raise _bad_fcp("an EF has no DF name (84)")
    if fcp.structure == FileStructure.TRANSPARENT:
        if fcp.size is None:
            raise _bad_fcp("transparent EF without data size (80)")
        return TransparentEf(fcp.fid, fcp.size, lifecycle, fcp.security, fcp.sfi)
    assert fcp.record_length is not None and fcp.record_count is not None
    if fcp.record_count > MAX_RECORDS:
        raise _bad_fcp(f"{fcp.record_count} records; at most {MAX_RECORDS}")
    if fcp.record_length > 0xFFFF:
        raise _bad_fcp(f"record length {fcp.record_length} exceeds 65535")
    return RecordEf(fcp.fid, fcp.structure, fcp.record_length, fcp.record_count, lifecycle, fcp.security,
                    fcp.sfi)


def create_file(ctx: Context) -> Reply:
    apdu = ctx.apdu
    if apdu.p1 or apdu.p2:
        raise wrong_p1p2("CREATE FILE takes P1-P2 0000 and the FCP in the data field")
    if not apdu.data:
        raise wrong_length("CREATE FILE needs an FCP template")
    try:
        fcp = Fcp.parse(apdu.data)
    except FcpError as exc:
        raise _bad_fcp(str(exc)) from None
    node = build_file(fcp)
    parent = ctx.channel.current_df
    op = DfOp.CREATE_DF if node.is_df else DfOp.CREATE_EF
    ctx.require(parent, op, "CREATE FILE in")
    if node.fid == parent.fid or parent.child(node.fid) is not None:
        raise SwError(SW.FILE_ALREADY_EXISTS, f"file {node.fid:04X} already exists in DF {parent.fid:04X}")
    if node.sfi is not None and parent.child_by_sfi(node.sfi) is not None:
        raise SwError(SW.FILE_ALREADY_EXISTS, f"SFI {node.sfi} already used in DF {parent.fid:04X}")
    if isinstance(node, DedicatedFile) and node.df_name is not None and find_by_name(
            ctx.os.state.mf, node.df_name, partial=False):
        raise SwError(SW.DF_NAME_ALREADY_EXISTS, f"DF name {node.df_name.hex().upper()} already exists")
    need = node.allocated()
    free = ctx.os.state.capacity - ctx.os.used_memory()
    if need > free:
        raise SwError(SW.NOT_ENOUGH_MEMORY, f"file needs {need} bytes, {free} free on the card")
    ctx.os.nvm.commit(lambda: parent.attach(node))
    if isinstance(node, DedicatedFile):
        ctx.channel.select_df(node)
    else:
        ctx.channel.select_ef(node)
    return Reply()


def _target(ctx: Context, default_df: bool) -> FileNode:
    """P1-P2 0000; no data → the current file (EF first unless `default_df`), or a child FID."""
    apdu, channel = ctx.apdu, ctx.channel
    if apdu.p1 or apdu.p2:
        raise wrong_p1p2(f"P1-P2 {apdu.p1:02X}{apdu.p2:02X}: only 0000 (current file or child FID)")
    if not apdu.data:
        return channel.current_df if default_df else channel.current_file
    if len(apdu.data) != 2:
        raise wrong_length(f"a file identifier is 2 bytes, got {len(apdu.data)}")
    fid = int.from_bytes(apdu.data, "big")
    node = channel.current_df.child(fid)
    if node is None:
        raise SwError(SW.FILE_NOT_FOUND, f"file {fid:04X} not found under DF {channel.current_df.fid:04X}")
    return node


def delete_file(ctx: Context) -> Reply:
    node = _target(ctx, default_df=False)
    parent = node.parent
    if parent is None:
        raise SwError(SW.CONDITIONS_OF_USE_NOT_SATISFIED, "the MF cannot be deleted")
    check_delete(node, ctx.channel.security, ctx.secured)

    def unlink() -> None:
        del parent.children[node.fid]

    ctx.os.nvm.commit(unlink)
    ctx.os.forget(node)
    return Reply()


def _transition(ctx: Context, node: FileNode, op: int, name: str, allowed: tuple[LifeCycle, ...],
                to: LifeCycle) -> Reply:
    ctx.require(node, op, name)
    if node.lifecycle == to:
        return Reply()
    if node.lifecycle not in allowed:
        raise SwError(SW.CONDITIONS_OF_USE_NOT_SATISFIED,
                      f"{name}: {node.describe()} is {node.lifecycle.name}")

    def apply() -> None:
        node.lifecycle = to

    ctx.os.nvm.commit(apply)
    return Reply()


def activate(ctx: Context) -> Reply:
    node = _target(ctx, default_df=False)
    return _transition(ctx, node, EfOp.ACTIVATE, "ACTIVATE FILE",
                       (LifeCycle.CREATION, LifeCycle.INITIALISATION, LifeCycle.DEACTIVATED),
                       LifeCycle.ACTIVATED)


def deactivate(ctx: Context) -> Reply:
    node = _target(ctx, default_df=False)
    return _transition(ctx, node, EfOp.DEACTIVATE, "DEACTIVATE FILE", (LifeCycle.ACTIVATED,),
                       LifeCycle.DEACTIVATED)


def _terminate(ctx: Context, want_df: bool) -> Reply:
    node = _target(ctx, default_df=want_df)
    if want_df != node.is_df:
        if not want_df and ctx.channel.current_ef is None and not ctx.apdu.data:
            raise SwError(SW.COMMAND_NOT_ALLOWED_NO_CURRENT_EF, "TERMINATE EF: no current EF")
        raise SwError(SW.COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE,
                      f"TERMINATE {'DF' if want_df else 'EF'} on {node.describe()}")
    return _transition(ctx, node, EfOp.TERMINATE, "TERMINATE",
                       (LifeCycle.CREATION, LifeCycle.INITIALISATION, LifeCycle.ACTIVATED,
                        LifeCycle.DEACTIVATED), LifeCycle.TERMINATED)


def terminate_df(ctx: Context) -> Reply:
    return _terminate(ctx, want_df=True)


def terminate_ef(ctx: Context) -> Reply:
    return _terminate(ctx, want_df=False)


HANDLERS: dict[INS, Handler] = {INS.CREATE_FILE: create_file, INS.DELETE_FILE: delete_file, INS.ACTIVATE_FILE: activate,
                                INS.DEACTIVATE_FILE: deactivate, INS.TERMINATE_DF: terminate_df,
                                INS.TERMINATE_EF: terminate_ef}
