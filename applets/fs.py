"""The ISO 7816-4 file tree: MF, DFs/ADFs, transparent and record EFs (ISO 7816-4 §7.1-7.3).

File objects hold their contents in bytearrays; every change is made by the commands through `Nvm`, so
these classes only answer questions (lookups, FCP) and never write on their own.
"""

from __future__ import annotations

from collections.abc import Iterator

from cardsvc.iso7816.commands import MF_FID
from cardsvc.iso7816.fcp import Fcp, FileStructure, LifeCycle, SecurityAttributes

CURRENT_DF_FID = 0x3FFF  # ISO 7816-4 §7.1.1: reserved, "current DF" in paths
RESERVED_FIDS = frozenset({MF_FID, CURRENT_DF_FID, 0xFFFF})


class FileNode:
    """A node of the card's file tree (MF, DF or EF) as the card OS holds it; the host's view of a file in
    a card image is `cardsvc.layout.image.CardFile`."""

    __slots__ = ("fid", "lifecycle", "parent", "security", "sfi", "structure")

    def __init__(self, fid: int, structure: FileStructure, lifecycle: LifeCycle = LifeCycle.ACTIVATED,
                 security: SecurityAttributes | None = None, sfi: int | None = None) -> None:
        self.fid = fid
        self.structure = structure
        self.lifecycle = lifecycle
        self.security = security
        self.sfi = sfi
        self.parent: DedicatedFile | None = None

    @property
    def is_df(self) -> bool:
        return self.structure == FileStructure.DF

    def chain(self) -> Iterator[FileNode]:
        """This file, then each ancestor up to the MF."""
        node: FileNode | None = self
        while node is not None:
            yield node
            node = node.parent

    def fcp(self) -> Fcp:
        return Fcp(self.fid, self.structure, lifecycle=self.lifecycle, security=self.security, sfi=self.sfi)

    def allocated(self) -> int:
        return 0

    def describe(self) -> str:
        return f"{'DF' if self.is_df else 'EF'} {self.fid:04X}"


class DedicatedFile(FileNode):
    __slots__ = ("children", "df_name")

    def __init__(self, fid: int, df_name: bytes | None = None, lifecycle: LifeCycle = LifeCycle.ACTIVATED,
                 security: SecurityAttributes | None = None) -> None:
        super().__init__(fid, FileStructure.DF, lifecycle, security)
        self.df_name = df_name
        self.children: dict[int, FileNode] = {}

    def fcp(self) -> Fcp:
        return Fcp(self.fid, FileStructure.DF, df_name=self.df_name, lifecycle=self.lifecycle,
                   security=self.security)

    def child(self, fid: int) -> FileNode | None:
        return self.children.get(fid)

    def child_by_sfi(self, sfi: int) -> FileNode | None:
        for node in self.children.values():
            if node.sfi == sfi and not node.is_df:
                return node
        return None

    def attach(self, node: FileNode) -> None:
        node.parent = self
        self.children[node.fid] = node

    def walk(self) -> Iterator[FileNode]:
        """Depth-first, pre-order, children in creation order."""
        yield self
        for node in self.children.values():
            if isinstance(node, DedicatedFile):
                yield from node.walk()
            else:
                yield node

    def contains(self, node: FileNode) -> bool:
        return any(n is self for n in node.chain())

    @property
    def application(self) -> DedicatedFile:
        """The nearest DF carrying a DF name (an application), or the MF: the scope of security state."""
        node: DedicatedFile = self
        while node.df_name is None and node.parent is not None:
            node = node.parent
        return node


class TransparentEf(FileNode):
    __slots__ = ("data",)

    def __init__(self, fid: int, size: int, lifecycle: LifeCycle = LifeCycle.ACTIVATED,
                 security: SecurityAttributes | None = None, sfi: int | None = None,
                 data: bytes | None = None) -> None:
        super().__init__(fid, FileStructure.TRANSPARENT, lifecycle, security, sfi)
        self.data = bytearray(size) if data is None else bytearray(data)

    @property
    def size(self) -> int:
        return len(self.data)

    def fcp(self) -> Fcp:
        return Fcp(self.fid, self.structure, size=self.size, sfi=self.sfi, lifecycle=self.lifecycle,
                   security=self.security)

    def allocated(self) -> int:
        return self.size


class RecordEf(FileNode):
    """Linear fixed / linear variable / cyclic EF (ISO 7816-4 §7.3.2).

    `slots` holds the records in the order they were first written; `head` is the slot of the most
    recent record of a cyclic EF, which is record 1 (ISO 7816-4 §7.3.2: record 1 is the newest).
    """

    __slots__ = ("head", "max_records", "record_length", "slots")

    def __init__(self, fid: int, structure: FileStructure, record_length: int, max_records: int,
                 lifecycle: LifeCycle = LifeCycle.ACTIVATED, security: SecurityAttributes | None = None,
                 sfi: int | None = None) -> None:
        if not structure.is_record:
            raise ValueError(f"{structure.name} is not a record structure")
        super().__init__(fid, structure, lifecycle, security, sfi)
        self.record_length = record_length  # exact for fixed/cyclic, maximum for variable
        self.max_records = max_records
        self.slots: list[bytearray] = []
        self.head = -1

    @property
    def cyclic(self) -> bool:
        return self.structure == FileStructure.CYCLIC

    @property
    def fixed_length(self) -> bool:
        return self.structure != FileStructure.LINEAR_VARIABLE

    @property
    def count(self) -> int:
        return len(self.slots)

    def slot_index(self, number: int) -> int | None:
        """Slot of record `number` (1-based), or None when there is no such record."""
        if not 1 <= number <= len(self.slots):
            return None
        if self.cyclic:
            return (self.head - (number - 1)) % len(self.slots)
        return number - 1

    def record(self, number: int) -> bytearray | None:
        index = self.slot_index(number)
        return None if index is None else self.slots[index]

    def fcp(self) -> Fcp:
        return Fcp(self.fid, self.structure, size=self.record_length * self.max_records,
                   record_length=self.record_length, record_count=self.max_records, sfi=self.sfi,
                   lifecycle=self.lifecycle, security=self.security)

    def allocated(self) -> int:
        return self.record_length * self.max_records


def find_by_name(mf: DedicatedFile, name: bytes, partial: bool = True) -> list[DedicatedFile]:
    """DFs whose name equals `name`, or starts with it when `partial` (ISO 7816-4 §7.1.1, DF name)."""
    found: list[DedicatedFile] = []
    for node in mf.walk():
        if isinstance(node, DedicatedFile) and node.df_name is not None and (
            node.df_name == name or (partial and node.df_name.startswith(name))
        ):
            found.append(node)
    return found


def used_memory(mf: DedicatedFile, per_file_overhead: int) -> int:
    return sum(node.allocated() + per_file_overhead for node in mf.walk())
