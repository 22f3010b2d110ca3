"""Non-volatile memory writes with EEPROM page atomicity and a fault-injection hook.

Every change to persistent card state goes through `Nvm`, so power loss can be injected at the Nth
write: before it, after it, or in the middle, where a prefix of the pages is written (a real EEPROM
programs one page at a time, each page atomically). Structural changes (file headers, record pointers,
key objects) are one commit page written last, so a torn write never leaves a half-linked structure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from applets.errors import PowerLoss

DEFAULT_PAGE_SIZE = 64


class FaultHook(Protocol):
    """Decides the fate of write number `index` (1-based) spanning `pages` pages.

    Returns (pages actually programmed, whether power is lost after them).
    """

    def on_write(self, index: int, pages: int) -> tuple[int, bool]: ...


class Nvm:
    __slots__ = ("generation", "hook", "page_size", "writes")

    def __init__(self, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be positive, got {page_size}")
        self.page_size = page_size
        self.writes = 0  # write operations so far (the N of "power loss at the Nth write")
        self.generation = 0  # bumps whenever any byte changed; persistence saves when it moves
        self.hook: FaultHook | None = None

    def pages_spanned(self, offset: int, length: int) -> int:
        if length <= 0:
            return 0
        return (offset + length - 1) // self.page_size - offset // self.page_size + 1

    def _plan(self, pages: int) -> tuple[int, bool]:
        self.writes += 1
        if self.hook is None:
            return pages, False
        allowed, lose = self.hook.on_write(self.writes, pages)
        return max(0, min(allowed, pages)), lose

    def write(self, buf: bytearray, offset: int, data: bytes,
              then: Callable[[], None] | None = None) -> None:
        """Program `data` into `buf` at `offset` page by page; `then` is the final commit page."""
        data_pages = self.pages_spanned(offset, len(data))
        total = data_pages + (1 if then is not None else 0)
        allowed, lose = self._plan(total)
        if allowed >= data_pages:
            buf[offset : offset + len(data)] = data
        elif allowed > 0:
            end = (offset // self.page_size + allowed) * self.page_size
            buf[offset:end] = data[: end - offset]
        if allowed:
            self.generation += 1
        if then is not None and allowed == total:
            then()
        if lose:
            raise PowerLoss(f"power lost at NVM write {self.writes} after {allowed}/{total} pages")

    def commit(self, action: Callable[[], None], payload: int = 0) -> None:
        """A transactional update: `payload` bytes of shadow pages, then one commit page; all or nothing."""
        total = -(-payload // self.page_size) + 1
        allowed, lose = self._plan(total)
        if allowed == total:
            action()
            self.generation += 1
        if lose:
            raise PowerLoss(f"power lost at NVM write {self.writes} after {allowed}/{total} pages")
