"""Permit and card status lifecycle (pure): which change is allowed from which status.

Permit: PENDING (applied, no card yet) → ACTIVE; ACTIVE ⇄ SUSPENDED (SMX Art.19); ACTIVE/SUSPENDED
→ LOST (ZZ Art.16: report loss first); LOST → ACTIVE/SUSPENDED when a replacement card is issued;
any → CANCELLED (ZZ Art.25), final.
Card: PENDING (being personalized) → ACTIVE (only after verification) or SPOILED; the current card
mirrors the permit (SUSPENDED, LOST); a superseded card ends REPLACED (补领), RENEWED (换领, returned),
CORRECTED (ZZ Art.27, new generation) or CANCELLED.  Those end states are revoked for good.
"""

from __future__ import annotations

from enum import StrEnum

from cardsvc.rules.errors import TransitionError


class PermitStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    LOST = "lost"
    CANCELLED = "cancelled"


class CardStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    LOST = "lost"
    REPLACED = "replaced"
    RENEWED = "renewed"
    CORRECTED = "corrected"
    CANCELLED = "cancelled"
    SPOILED = "spoiled"  # personalization failed for good; never issued

    @property
    def revoked(self) -> bool:
        return self in _REVOKED


_REVOKED = frozenset({CardStatus.REPLACED, CardStatus.RENEWED, CardStatus.CORRECTED,
                      CardStatus.CANCELLED, CardStatus.SPOILED})


class SuspensionReason(StrEnum):
    """SMX Art.19 (一)-(六)."""

    FALSE_MATERIALS = "false_materials"  # (一) 申办时提供虚假材料
    CIRCUMSTANCES_CHANGED = "circumstances_changed"  # (二) 情况变更且不符合办理要求
    ENDORSEMENT_OVERDUE = "endorsement_overdue"  # (三) 逾期未办理签注
    HUKOU_TRANSFERRED = "hukou_transferred"  # (四) 已转办居住地常住户口
    CROSS_COUNTY_MOVE = "cross_county_move"  # (五) 市内跨县(市、区)更换居住地
    OTHER = "other"  # (六) 其他

    @property
    def article(self) -> str:
        return f"SMX Art.19({_CLAUSE[self]})"

    @property
    def lifted_by_reinstatement(self) -> bool:
        """Overdue endorsement is lifted only by a late endorsement (SMX Art.18); a cross-county move only
        by the endorsement once the new temporary registration is half a year old (SMX Art.17 ¶2); a
        transferred hukou ends the need for a permit (cancel instead); the others by a counter decision."""
        return self not in (SuspensionReason.ENDORSEMENT_OVERDUE, SuspensionReason.CROSS_COUNTY_MOVE,
                            SuspensionReason.HUKOU_TRANSFERRED)


_CLAUSE = {
    SuspensionReason.FALSE_MATERIALS: "一",
    SuspensionReason.CIRCUMSTANCES_CHANGED: "二",
    SuspensionReason.ENDORSEMENT_OVERDUE: "三",
    SuspensionReason.HUKOU_TRANSFERRED: "四",
    SuspensionReason.CROSS_COUNTY_MOVE: "五",
    SuspensionReason.OTHER: "六",
}

PERMIT_TRANSITIONS: dict[PermitStatus, frozenset[PermitStatus]] = {
    PermitStatus.PENDING: frozenset({PermitStatus.ACTIVE, PermitStatus.CANCELLED}),
    PermitStatus.ACTIVE: frozenset({PermitStatus.SUSPENDED, PermitStatus.LOST, PermitStatus.CANCELLED}),
    PermitStatus.SUSPENDED: frozenset({PermitStatus.ACTIVE, PermitStatus.LOST, PermitStatus.CANCELLED}),
    PermitStatus.LOST: frozenset({PermitStatus.ACTIVE, PermitStatus.SUSPENDED, PermitStatus.CANCELLED}),
    PermitStatus.CANCELLED: frozenset(),
}

CARD_TRANSITIONS: dict[CardStatus, frozenset[CardStatus]] = {
    CardStatus.PENDING: frozenset({CardStatus.ACTIVE, CardStatus.SUSPENDED, CardStatus.SPOILED, CardStatus.CANCELLED}),
    CardStatus.ACTIVE: frozenset({CardStatus.SUSPENDED, CardStatus.LOST, CardStatus.RENEWED,
                                  CardStatus.CORRECTED, CardStatus.CANCELLED}),
    CardStatus.SUSPENDED: frozenset({CardStatus.ACTIVE, CardStatus.LOST, CardStatus.RENEWED,
                                     CardStatus.CORRECTED, CardStatus.CANCELLED}),
    CardStatus.LOST: frozenset({CardStatus.REPLACED, CardStatus.CANCELLED}),
}


def check_permit_transition(current: PermitStatus, new: PermitStatus) -> None:
    if new not in PERMIT_TRANSITIONS[current]:
        raise TransitionError("permit.status", f"cannot go from {current.value} to {new.value}")


def check_card_transition(current: CardStatus, new: CardStatus) -> None:
    if new not in CARD_TRANSITIONS.get(current, frozenset()):
        raise TransitionError("card.status", f"cannot go from {current.value} to {new.value}")
