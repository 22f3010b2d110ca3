"""Whether the card in a department's reader is the holder's valid card (issue 16 gap 2).

A department writes business data only onto the card the registry holds as the holder's card in use:
- reported lost (ZZ Art.16-17): the card in hand may be someone else's find; from the moment the loss took
  effect the holder no longer answers for it, so nothing new is put on it;
- revoked: replaced (补领), renewed (换领, returned: SMX Art.20), corrected (ZZ Art.27) or cancelled
  (ZZ Art.25 注销): it is no longer the holder's card at all;
- suspended (SMX Art.19 "居住证使用功能中止" until Art.18's late endorsement restores it): its use is stopped;
- not issued or spoiled, or unknown to the registry: never a valid card (design §7).

Reading the department's own record stays possible whatever the standing, with the standing shown beside
it and in the audit entry: ZZ Art.22 ¶2 lets a department check (查验) a card in the course of its duty,
which is how a lost or revoked card presented at its counter is noticed (ZZ Art.18 盗用, Art.23); ZZ Art.19
has the departments keep serving the holder while a replacement is made, which needs the record of the
old card to carry over; and a read changes nothing on the card or in the registry. The record goes to the
department's clerk (ZZ Art.29 / SMX Art.27: use for the duty only), never to the presenter's screen alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cardsvc.registry.errors import RefusedError
from cardsvc.registry.publication import online_status
from cardsvc.rules.status import SuspensionReason
from cardsvc.status_list.model import ListStatus

_WHY: dict[ListStatus, str] = {
    ListStatus.LOST: "reported lost (ZZ Art.16-17)",
    ListStatus.SUSPENDED: "its use is suspended",
    ListStatus.REVOKED_REPLACED: "replaced by a new card (补领, SMX Art.20 / ZZ Art.15)",
    ListStatus.REVOKED_RENEWED: "renewed and returned (换领, SMX Art.20)",
    ListStatus.REVOKED_CORRECTED: "superseded by a corrected card (ZZ Art.27)",
    ListStatus.CANCELLED: "cancelled (注销, ZZ Art.25)",
    ListStatus.NOT_ISSUED: "not recorded as issued (design §7)",
    ListStatus.SPOILED: "spoiled at personalization, never issued (design §7)",
}


@dataclass(frozen=True, slots=True)
class Standing:
    """The registry's word on one card number at one moment."""

    card_number: str
    status: ListStatus | None  # None: the registry never allocated the number
    reason: SuspensionReason | None

    @property
    def usable(self) -> bool:
        return self.status is ListStatus.ACTIVE

    @property
    def label(self) -> str:
        """The published status name (`active`, `lost`, …; `unknown` for a number never allocated)."""
        return "unknown" if self.status is None else self.status.name.lower()

    def why(self) -> str:
        if self.status is None:
            return "unknown to the registry (design §7)"
        if self.status is ListStatus.SUSPENDED:
            reason = self.reason or SuspensionReason.OTHER
            return f"its use is suspended for {reason.value} ({reason.article})"
        return _WHY.get(self.status, self.status.name.lower())


class CardNotInUseError(RefusedError):
    """A department write onto a card that is not the holder's valid card; `standing` says why."""

    def __init__(self, standing: Standing, department: str) -> None:
        self.standing = standing
        super().__init__(f"card_number: card {standing.card_number} is {standing.why()}: it is not the holder's "
                         f"valid card, so department {department} writes nothing onto it", field="card_number")


def standing_of(session: Session, card_number: str, now: datetime) -> Standing:
    """The card's published status (cardsvc.registry.publication.online_status: the same answer a counter
    gets online)."""
    online = online_status(session, card_number, now)
    if online is None:
        return Standing(card_number, None, None)
    return Standing(card_number, online.status, online.reason)


def check_writable(session: Session, card_number: str, department: str, now: datetime) -> Standing:
    """Refuse (CardNotInUseError) unless the registry holds `card_number` as the holder's active card."""
    standing = standing_of(session, card_number, now)
    if not standing.usable:
        raise CardNotInUseError(standing, department)
    return standing
