"""The card image: every DF and EF of a card with its FID path, FCP and content, in creation order.

Walk it with `for f in image` (parents before children) to personalize a card or compare one read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from cardsvc.iso7816.fcp import Fcp, FileStructure


@dataclass(frozen=True, slots=True)
class CardFile:
    name: str  # layout name ("mf", "permit", "visible", ...)
    path: tuple[int, ...]  # FIDs from the MF, e.g. (0x3F00, 0x1001, 0x0002)
    fcp: Fcp
    content: bytes | None = None  # transparent EF: exactly the encoded bytes (no padding)
    records: tuple[bytes, ...] | None = None  # record EF: records in order (record 1 first)

    @property
    def is_df(self) -> bool:
        return self.fcp.structure is FileStructure.DF

    @property
    def fid(self) -> int:
        return self.path[-1]

    @property
    def fcp_bytes(self) -> bytes:
        return self.fcp.encode()

    @property
    def aid(self) -> bytes | None:
        return self.fcp.df_name

    @property
    def sfi(self) -> int | None:
        return self.fcp.sfi

    @property
    def parent_path(self) -> tuple[int, ...]:
        return self.path[:-1]

    def __repr__(self) -> str:
        body = (f"{len(self.content)} bytes" if self.content is not None
                else f"{len(self.records)} records" if self.records is not None else "DF")
        return f"CardFile({self.name}, {'/'.join(f'{f:04X}' for f in self.path)}, {body})"


@dataclass(frozen=True, slots=True)
class CardImage:
    layout_id: str
    layout_version: int
    files: tuple[CardFile, ...]

    def __iter__(self) -> Iterator[CardFile]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def file(self, name: str) -> CardFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"card image has no file {name!r}")

    def by_path(self, path: tuple[int, ...]) -> CardFile:
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(f"card image has no file at {'/'.join(f'{p:04X}' for p in path)}")

    def dfs(self) -> list[CardFile]:
        return [f for f in self.files if f.is_df]

    def efs(self) -> list[CardFile]:
        return [f for f in self.files if not f.is_df]

    def replace_file(self, name: str, *, content: bytes | None = None,
                     records: tuple[bytes, ...] | None = None) -> CardImage:
        """A copy with one EF's content or records replaced (e.g. after the SOD is made)."""
        target = self.file(name)
        new = replace(target, content=content if content is not None else target.content,
                      records=records if records is not None else target.records)
        return replace(self, files=tuple(new if f is target else f for f in self.files))

    @property
    def data_size(self) -> int:
        """Bytes of content on the card (EF contents + records), e.g. for transfer-time models."""
        return sum(len(f.content or b"") + sum(len(r) for r in f.records or ()) for f in self.files)
