"""Registry rows of the standing duties (cardsvc.duties): who runs a duty now, the marks duties leave, and the
loss reports (ZZ Art.16-17).

A duty runs in every service process on a schedule and from cron; the lease row makes one run at a time
across processes on one database (the same idea as the issuance job claim, registry.jobs.claim).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.registry.models import Base


class DutyLease(Base):
    """One row per duty: the holder and expiry of its current run, and how its last run ended."""

    __tablename__ = "duty_lease"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(Text)  # counts only, never personal data


class DutyMark(Base):
    """A mark a duty puts on a permit, e.g. SMX Art.18 "需重新申报暂住登记" (re-registration required)."""

    __tablename__ = "duty_mark"
    __table_args__ = (UniqueConstraint("permit_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    since: Mapped[date] = mapped_column(Date)  # the first day the mark applies
    article: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class LossReport(Base):
    """ZZ Art.16: the loss report behind a LOST card: the bank's loss certificate (挂失证明) number, or the
    time of the oral report (口头挂失) by the bank's hotline, or, with neither, the report at the counter.
    `effective_at` is the moment the loss took effect: losses before it are the holder's (ZZ Art.17)."""

    __tablename__ = "loss_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # cardsvc.duties.losses.Channel
    bank_certificate: Mapped[str | None] = mapped_column(String(32))
    effective_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
