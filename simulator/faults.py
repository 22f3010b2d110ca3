"""Power-loss injection at the Nth non-volatile write (design §7: a card pulled at any APDU).

Writes are counted from the moment a cut is armed. `BEFORE` cuts power with nothing of that write
programmed, `AFTER` with all of it, `MIDDLE` after a prefix of its EEPROM pages (each page atomic).
After the cut the card is mute until `power_on()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from applets.nvm import Nvm


class When(Enum):
    BEFORE = "before"
    MIDDLE = "middle"
    AFTER = "after"


@dataclass(frozen=True, slots=True)
class PowerCut:
    write: int  # 1 = the first NVM write after arming
    when: When = When.MIDDLE
    pages: int | None = None  # MIDDLE only: pages programmed; default half of the write (rounded down)

    def __post_init__(self) -> None:
        if self.write < 1:
            raise ValueError(f"write must be >= 1, got {self.write}")
        if self.pages is not None and (self.when != When.MIDDLE or self.pages < 0):
            raise ValueError("pages applies to a MIDDLE cut and must be >= 0")


class FaultInjector:
    """The `applets.nvm.FaultHook` the virtual card installs; arm one cut at a time."""

    def __init__(self, nvm: Nvm) -> None:
        self._nvm = nvm
        self._cut: PowerCut | None = None
        self._base = 0
        self.fired: PowerCut | None = None
        self.pages_written: int | None = None  # of the torn write, once fired

    def arm(self, cut: PowerCut) -> None:
        self._cut = cut
        self._base = self._nvm.writes
        self.fired = None
        self.pages_written = None

    def disarm(self) -> None:
        self._cut = None

    @property
    def armed(self) -> bool:
        return self._cut is not None

    def on_write(self, index: int, pages: int) -> tuple[int, bool]:
        cut = self._cut
        if cut is None or index - self._base != cut.write:
            return pages, False
        if cut.when == When.BEFORE:
            done = 0
        elif cut.when == When.AFTER:
            done = pages
        else:
            done = min(pages, cut.pages if cut.pages is not None else pages // 2)
        self._cut = None
        self.fired = cut
        self.pages_written = done
        return done, True
