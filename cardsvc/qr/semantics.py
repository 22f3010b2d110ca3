"""What a verified QR code may say (issue 12): it proves identity and print-time data; for validity and
status it defers to the status list or the online registry, so it never contradicts the chip.

The chip's verdict (cardsvc.verification) reads validity from the last endorsement record; the registry
holds the same (the next anniversary, SMX Art.16 / ZZ Art.13). A permit endorsed on time is valid though
its face is a year old; on the valid-until day the chip says expired, and so does this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cardsvc.status_list.model import ListStatus

# Result names as the chip verdict's (cardsvc.verification.verdict.Result), so a counter shows one word.
_BY_STATUS = {
    ListStatus.LOST: "lost",  # ZZ Art.16-17
    ListStatus.SUSPENDED: "suspended",  # SMX Art.19
    ListStatus.REVOKED_REPLACED: "revoked",  # SMX Art.20 / ZZ Art.15
    ListStatus.REVOKED_RENEWED: "revoked",
    ListStatus.REVOKED_CORRECTED: "revoked",  # ZZ Art.27
    ListStatus.CANCELLED: "cancelled",  # ZZ Art.25
    ListStatus.NOT_ISSUED: "not_issued",
    ListStatus.SPOILED: "not_issued",
}


@dataclass(frozen=True, slots=True)
class QrVerdict:
    result: str  # genuine_valid, expired, lost, suspended, revoked, cancelled, not_issued, status_unknown
    valid: bool
    reasons: tuple[str, ...]


def qr_verdict(status: ListStatus | None, valid_until: date | None, today: date, *,
               printed_valid_until: date) -> QrVerdict:
    """The verdict for an authentic code from the card's current status and validity (registry or status
    list); `status` None: the card number is unknown to them (not issued here)."""
    printed = f"printed validity {printed_valid_until.isoformat()}"
    if status is None:
        return QrVerdict("not_issued", False, ("status: card number unknown to the registry",))
    if status is not ListStatus.ACTIVE:
        return QrVerdict(_BY_STATUS[status], False, (f"status: {status.name.lower()}",))
    if valid_until is None:
        return QrVerdict("status_unknown", False, ("validity: unknown",))
    if today >= valid_until:  # the valid-until day is the first overdue day (SMX Art.16/18, ZZ Art.13)
        return QrVerdict("expired", False, (f"validity: ended {valid_until.isoformat()} (needs endorsement); "
                                            f"{printed}",))
    return QrVerdict("genuine_valid", True, ())
