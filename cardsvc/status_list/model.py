"""Status list model: every card that is not active, with the list's issue time, next update and sequence.

A card absent from the list is ACTIVE as far as the list knows; ACTIVE itself is never listed. The list
says nothing about whether a card is genuine: that is the security object's and chip's job.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

from cardsvc.permit.iso7064 import mod11_2
from cardsvc.rules.status import CardStatus, SuspensionReason
from cardsvc.status_list.errors import StatusListFormatError


class ListStatus(IntEnum):
    """Card status as published; the values are the wire codes."""

    ACTIVE = 0  # never listed: the answer for a card the list does not name
    LOST = 1  # ZZ Art.16-17: reported lost, a new card follows
    SUSPENDED = 2  # SMX Art.19: use suspended, with a reason code
    REVOKED_REPLACED = 3  # SMX Art.20 / ZZ Art.15 补领: superseded by a replacement card
    REVOKED_RENEWED = 4  # SMX Art.20 / ZZ Art.15 换领: renewed, old card returned
    REVOKED_CORRECTED = 5  # ZZ Art.27: data corrected on a new card generation
    CANCELLED = 6  # ZZ Art.25 注销
    # Design §7: every allocated card number that is not active is published, with its own status.
    NOT_ISSUED = 7  # allocated, being written or never verified: a card with it must not verify valid
    SPOILED = 8  # personalization failed or abandoned (a resumed job moved to a new card)

    @classmethod
    def from_card_status(cls, status: CardStatus) -> ListStatus:
        """The published status for a registry card status (cardsvc.rules.status)."""
        return _FROM_CARD[status]


_FROM_CARD = MappingProxyType({
    CardStatus.PENDING: ListStatus.NOT_ISSUED,  # allocated before the commit point, not yet verified
    CardStatus.ACTIVE: ListStatus.ACTIVE,
    CardStatus.LOST: ListStatus.LOST,
    CardStatus.SUSPENDED: ListStatus.SUSPENDED,
    CardStatus.REPLACED: ListStatus.REVOKED_REPLACED,
    CardStatus.RENEWED: ListStatus.REVOKED_RENEWED,
    CardStatus.CORRECTED: ListStatus.REVOKED_CORRECTED,
    CardStatus.CANCELLED: ListStatus.CANCELLED,
    # Failed personalization: never issued, but a fully written card could still leave the station.
    CardStatus.SPOILED: ListStatus.SPOILED,
})

# SMX Art.19 (一)-(六) in the article's order; the wire code is the clause number.
REASON_CODES = MappingProxyType({
    SuspensionReason.FALSE_MATERIALS: 1,  # (一) 申办时提供虚假材料
    SuspensionReason.CIRCUMSTANCES_CHANGED: 2,  # (二)
    SuspensionReason.ENDORSEMENT_OVERDUE: 3,  # (三) 逾期未办理签注
    SuspensionReason.HUKOU_TRANSFERRED: 4,  # (四)
    SuspensionReason.CROSS_COUNTY_MOVE: 5,  # (五)
    SuspensionReason.OTHER: 6,  # (六)
})
REASONS_BY_CODE = MappingProxyType({i: reason for reason, i in REASON_CODES.items()})


@dataclass(frozen=True, slots=True)
class StatusEntry:
    card_number: str
    status: ListStatus
    reason: SuspensionReason | None = None  # required for SUSPENDED (SMX Art.19), absent otherwise

    def __post_init__(self) -> None:
        check_card_number(self.card_number, "entry.card_number")
        object.__setattr__(self, "status", ListStatus(self.status))
        if self.status is ListStatus.ACTIVE:
            raise StatusListFormatError(f"entry {self.card_number}: ACTIVE cards are never listed")
        if self.status is ListStatus.SUSPENDED and self.reason is None:
            raise StatusListFormatError(f"entry {self.card_number}: SUSPENDED needs a reason (SMX Art.19)")
        if self.status is not ListStatus.SUSPENDED and self.reason is not None:
            raise StatusListFormatError(f"entry {self.card_number}: a reason is only given for SUSPENDED")


@dataclass(frozen=True, slots=True)
class StatusList:
    issuer: str  # GB/T 2260 code of the publishing registry (city 411200, or province 410000)
    sequence: int  # strictly increasing per issuer; counters refuse to go back (rollback)
    issued_at: dt.datetime
    next_update: dt.datetime
    entries: tuple[StatusEntry, ...]

    def __post_init__(self) -> None:
        check_region_code(self.issuer, "issuer")
        if self.sequence < 1:
            raise StatusListFormatError(f"sequence: must be >= 1, got {self.sequence}")
        for name in ("issued_at", "next_update"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise StatusListFormatError(f"{name}: must be timezone-aware")
            # Whole seconds on the wire: normalise so a decoded list equals the one that was signed.
            object.__setattr__(self, name, value.astimezone(dt.UTC).replace(microsecond=0))
        if self.next_update <= self.issued_at:
            raise StatusListFormatError("next_update: must be after issued_at")
        ordered = tuple(sorted(self.entries, key=lambda e: e.card_number))
        for before, after in itertools.pairwise(ordered):
            if before.card_number == after.card_number:
                raise StatusListFormatError(f"entries: card {after.card_number} listed twice")
        object.__setattr__(self, "entries", ordered)

    @classmethod
    def build(cls, issuer: str, sequence: int, issued_at: dt.datetime, next_update: dt.datetime,
              entries: Iterable[StatusEntry]) -> StatusList:
        return cls(issuer, sequence, issued_at, next_update, tuple(entries))

    def index(self) -> dict[str, StatusEntry]:
        return {e.card_number: e for e in self.entries}


def check_card_number(text: object, field: str) -> str:
    """Card number shape (cardsvc.permit.permit_number): digits + ISO 7064 MOD 11-2 check character."""
    if not isinstance(text, str) or not 4 <= len(text) <= 32:
        raise StatusListFormatError(f"{field}: must be a 4-32 character string")
    body, check = text[:-1], text[-1]
    if not body.isascii() or not body.isdigit():
        raise StatusListFormatError(f"{field}: {text!r}: all but the last character must be digits")
    if check != mod11_2(body):
        raise StatusListFormatError(f"{field}: {text!r}: wrong check character (ISO 7064 MOD 11-2)")
    return text


def check_region_code(code: object, field: str) -> str:
    if not isinstance(code, str) or len(code) != 6 or not code.isascii() or not code.isdigit():
        raise StatusListFormatError(f"{field}: must be a 6-digit GB/T 2260 code, got {code!r}")
    return code


def region_prefix(code: str) -> str:
    """Significant digits of a GB/T 2260 code: 411200 → 4112, 410000 → 41, 411202 → 411202."""
    prefix = code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix
