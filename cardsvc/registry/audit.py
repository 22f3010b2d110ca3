"""Audit log and status history: every change with actor, reason and time, no personal fields.

SMX Art.27 / ZZ Art.29: whoever handles the data keeps it confidential, so the audit log names the
permit and card numbers only; a reason that looks like it carries a citizen ID is refused.
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

_CITIZEN_ID = re.compile(r"\d{17}[\dXx]")


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
    if _CITIZEN_ID.search(reason):
        raise RegistryError("reason: looks like it contains a citizen ID number; no personal data in audit",
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
    audit(session, actor, f"{subject}.status.{to_status}", at=at, reason=f"{reason_code}: {reason}",
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
