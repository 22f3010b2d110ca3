"""Audit of counter verifications: who (station, operator), when, which card, the verdict.

SMX Art.27 / ZZ Art.29: those who handle permit data keep it confidential, so a record carries the card
number and the results only, never a name, citizen ID number, address or photo.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cardsvc.verification.verdict import Outcome, Verdict

if TYPE_CHECKING:
    from sqlalchemy.orm import Session  # a type only: a counter without a registry never loads SQLAlchemy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Station:
    """Who verifies: the counter station and the operator signed in at it."""

    station_id: str
    operator: str

    def __post_init__(self) -> None:
        for name in ("station_id", "operator"):
            value = getattr(self, name)
            if not isinstance(value, str) or not 1 <= len(value) <= 64:
                raise ValueError(f"station.{name}: must be 1-64 characters")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    station_id: str
    operator: str
    at: dt.datetime
    card_number: str | None
    result: str
    failed_checks: tuple[str, ...]  # "check=outcome" of every check that did not pass

    @classmethod
    def of(cls, verdict: Verdict, station: Station, at: dt.datetime) -> AuditRecord:
        failed = tuple(f"{c.check.value}={c.outcome.value}" for c in verdict.checks if c.outcome is not Outcome.PASS)
        return cls(station.station_id, station.operator, at, verdict.card_number, verdict.result.value, failed)

    def line(self) -> str:
        return (f"verify station={self.station_id} operator={self.operator} at={self.at.isoformat()} "
                f"card={self.card_number or '-'} result={self.result}"
                + (f" failed={','.join(self.failed_checks)}" if self.failed_checks else ""))


AuditHook = Callable[[AuditRecord], None]


def log_audit(record: AuditRecord) -> None:
    """An audit hook writing one line to this module's logger (INFO)."""
    log.info("%s", record.line())


def registry_audit(session: Session, role: str = "counter") -> AuditHook:
    """An audit hook adding an entry to the registry's audit log (``cardsvc.registry.audit``) in
    ``session``; the caller commits."""
    from cardsvc.registry.audit import Actor, audit  # the registry is optional for a counter

    def hook(record: AuditRecord) -> None:
        actor = Actor(record.station_id, record.operator, role)
        reason = f"verdict {record.result}" + (f" ({', '.join(record.failed_checks)})" if record.failed_checks
                                                else "")
        audit(session, actor, "card.verify", at=record.at, reason=reason, card_number=record.card_number)

    return hook


def record(verdict: Verdict, station: Station | None, hook: AuditHook | None, at: dt.datetime) -> None:
    """Call ``hook``; an audit failure is logged loudly and never changes or hides the verdict."""
    if hook is None:
        return
    entry = AuditRecord.of(verdict, station or Station("unknown", "unknown"), at)
    try:
        hook(entry)
    except Exception:
        log.exception("audit hook failed for a verification of card %s", entry.card_number or "-")
