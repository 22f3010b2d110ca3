"""Per-command and per-channel state handed to command handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from applets.access import SecurityState, check_access
from applets.errors import SwError
from applets.fs import DedicatedFile, FileNode, RecordEf, TransparentEf
from applets.nvm import Nvm
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.commands import MF_FID
from cardsvc.iso7816.sw import SW

DEFAULT_CAPACITY = 512 * 1024


@dataclass
class CardState:
    """Everything persistent: the file tree and the security module's objects (keys, retry counters)."""

    mf: DedicatedFile
    objects: dict[str, bytes] = field(default_factory=dict)
    capacity: int = DEFAULT_CAPACITY

    @classmethod
    def blank(cls, capacity: int = DEFAULT_CAPACITY) -> CardState:
        return cls(DedicatedFile(MF_FID), {}, capacity)


@dataclass
class ChannelState:
    """Selection and security state of one logical channel (ISO 7816-4 §5.1.1.2), volatile."""

    current_df: DedicatedFile
    current_ef: FileNode | None = None
    current_record: int = 0
    security: SecurityState = field(default_factory=SecurityState)
    chain: bytearray | None = None  # data of a command chain in progress (CLA b5)
    chain_header: tuple[int, int, int, int] = (0, 0, 0, 0)
    pending: bytes = b""  # response bytes waiting for GET RESPONSE

    def select_df(self, df: DedicatedFile) -> None:
        if df.application is not self.current_df.application:
            self.security.clear()  # a new application starts with no security status
        self.current_df = df
        self.current_ef = None
        self.current_record = 0

    def select_ef(self, ef: FileNode) -> None:
        assert ef.parent is not None
        if ef.parent is not self.current_df:
            self.select_df(ef.parent)
        if ef is not self.current_ef:
            self.current_record = 0
        self.current_ef = ef

    @property
    def current_file(self) -> FileNode:
        return self.current_ef if self.current_ef is not None else self.current_df


@dataclass(frozen=True, slots=True)
class Reply:
    data: bytes = b""
    sw: int = SW.OK


class CardOsPort(Protocol):
    """What handlers may use of the card OS (`applets.cardos.CardOs` provides it); declared here so the
    handlers and the OS that dispatches to them do not import each other."""

    state: CardState
    nvm: Nvm
    channels: list[ChannelState | None]
    max_le: int | None

    def forget(self, node: FileNode) -> None: ...

    def used_memory(self) -> int: ...

    def get_object(self, name: str) -> bytes | None: ...

    def put_object(self, name: str, value: bytes) -> None: ...


@dataclass(slots=True)
class Context:
    """What a handler sees: the card, its channel, the (unwrapped, de-chained) command."""

    os: CardOsPort
    channel: ChannelState
    apdu: CommandApdu
    secured: bool = False  # the command arrived under secure messaging that the SM hook verified

    @property
    def ne(self) -> int:
        return 0 if self.apdu.le is None else self.apdu.le

    @property
    def ne_is_wildcard(self) -> bool:
        """Le '00' / '0000': "as many as available", so a short read is not a warning."""
        return self.apdu.le in (256, 65536)

    def require(self, node: FileNode, op: int, op_name: str) -> None:
        check_access(node, op, self.channel.security, self.secured, op_name)

    def transparent(self, node: FileNode | None) -> TransparentEf:
        if node is None:
            raise SwError(SW.COMMAND_NOT_ALLOWED_NO_CURRENT_EF, "no current EF")
        if not isinstance(node, TransparentEf):
            raise SwError(SW.COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE,
                          f"{node.describe()} is {node.structure.name}, not transparent")
        return node

    def records(self, node: FileNode | None) -> RecordEf:
        if node is None:
            raise SwError(SW.COMMAND_NOT_ALLOWED_NO_CURRENT_EF, "no current EF")
        if not isinstance(node, RecordEf):
            raise SwError(SW.COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE,
                          f"{node.describe()} is {node.structure.name}, not a record EF")
        return node

    def ef_by_sfi(self, sfi: int) -> FileNode:
        """Short EF identifier in the current DF (ISO 7816-4 §7.2.2); the EF becomes current."""
        if not 1 <= sfi <= 30:
            raise SwError(SW.INCORRECT_P1_P2, f"SFI {sfi} is not 1..30")
        node = self.channel.current_df.child_by_sfi(sfi)
        if node is None:
            raise SwError(SW.FILE_NOT_FOUND, f"no EF with SFI {sfi} in DF {self.channel.current_df.fid:04X}")
        self.channel.select_ef(node)
        return node


Handler = Callable[[Context], Reply]


class CommandTable:
    """INS → handler, one table for interindustry CLAs and one for proprietary CLAs (b8 set)."""

    def __init__(self) -> None:
        self._tables: tuple[dict[int, Handler], dict[int, Handler]] = ({}, {})

    def register(self, ins: int, handler: Handler, *, proprietary: bool = False, replace: bool = False) -> None:
        table = self._tables[proprietary]
        if ins in table and not replace:
            raise ValueError(f"INS {ins:02X} already has a handler")
        table[ins] = handler

    def lookup(self, ins: int, proprietary: bool) -> Handler | None:
        return self._tables[proprietary].get(ins)

    def has_proprietary(self) -> bool:
        return bool(self._tables[1])
