"""Audit log and status history: every change with actor, reason and time, no personal fields.

SMX Art.27 / ZZ Art.29: whoever handles the data keeps it confidential, so the audit log names the
permit and card numbers only, with reason codes and ids; an operator's free text (a note on a status
change, the evidence of a correction) goes only to the status history, which only status-changing roles
read (issue 13). Every reason is still scanned: one that looks like it carries a citizen ID number or a
phone number, in any spacing ("410105 1990 0101 123X", "138-0013-8000"), is refused.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.registry.errors import RegistryError
from cardsvc.registry.models import AuditEntry, Card, Permit, StatusChange

log = logging.getLogger(__name__)

# Digit runs standing alone (not inside an identifier such as "CSMX00000001003" or a hex string).
_CITIZEN_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")  # GB 11643
_PHONE = re.compile(r"(?<![\dA-Za-z])(?:(?:\+?86)?1[3-9]\d{9}|0\d{2,3}\d{7,8})(?![\dA-Za-z])")  # mobile; area code
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\s\-.·/()（）]+(?=[\dXx])")


@dataclass(frozen=True)
class Actor:
    station_id: str
    operator: str
    role: str

    def __post_init__(self) -> None:
        for name in ("station_id", "operator", "role"):
            value = getattr(self, name)
            if not value or len(value) > 64:
                raise RegistryError(f"actor.{name}: must be 1-64 characters")

    def __str__(self) -> str:
        return f"{self.role}:{self.operator}@{self.station_id}"


def _check_reason(reason: str) -> str:
    if not reason.strip():
        raise RegistryError("reason: must not be empty (every change needs a reason)", field="reason")
    joined = _BETWEEN_DIGITS.sub("", reason)  # "410105 19900101 123X" → one run of digits
    if _CITIZEN_ID.search(joined):
        raise RegistryError("reason: looks like it contains a citizen ID number; no personal data in audit",
                            field="reason")
    if _PHONE.search(joined):
        raise RegistryError("reason: looks like it contains a phone number; no personal data in audit",
                            field="reason")
    return reason


def audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    at: datetime,
    reason: str,
    permit_number: str | None = None,
    card_number: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at, station_id=actor.station_id, operator=actor.operator, role=actor.role, action=action,
        permit_number=permit_number, card_number=card_number, reason=_check_reason(reason),
    )
    session.add(entry)
    log.info("audit %s permit=%s card=%s by %s", action, permit_number, card_number, actor)
    return entry


def record_status(
    session: Session,
    actor: Actor,
    permit: Permit,
    to_status: str,
    *,
    at: datetime,
    reason_code: str,
    reason: str,
    card: Card | None = None,
) -> StatusChange:
    """Set the permit's or (with `card`) the card's status, with history and audit entries."""
    reason = _check_reason(reason)  # before any change, so a refused reason changes nothing
    subject = "card" if card is not None else "permit"
    from_status = card.status if card is not None else permit.status
    if card is not None:
        card.status = to_status
    else:
        permit.status = to_status
        permit.updated_at = at
    change = StatusChange(
        permit_id=permit.id, card_id=card.id if card is not None else None, subject=subject,
        from_status=from_status, to_status=to_status, reason_code=reason_code,
        reason=_check_reason(reason), actor=str(actor), at=at,
    )
    session.add(change)
    session.flush()  # its id, for the audit entry to point at
    # The audit entry: the code and where the reason is, never the operator's text (issue 13).
    audit(session, actor, f"{subject}.status.{to_status}", at=at, reason=f"{reason_code} (status history {change.id})",
          permit_number=permit.permit_number, card_number=card.card_number if card is not None else None)
    return change


def history(session: Session, permit: Permit) -> list[StatusChange]:
    rows = session.scalars(select(StatusChange).where(StatusChange.permit_id == permit.id)
                           .order_by(StatusChange.id))
    return list(rows)


def audit_trail(session: Session, permit_number: str) -> list[AuditEntry]:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.permit_number == permit_number)
                           .order_by(AuditEntry.id))
    return list(rows)
