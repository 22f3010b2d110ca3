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


class MaterialsNotice(Base):
    """SMX Art.11: the one-time written notice of missing materials, kept with its application (the PDF as
    handed out, so a reprint is the same paper)."""

    __tablename__ = "materials_notice"
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_application.id"), primary_key=True,
                                                autoincrement=False)
    issued_at: Mapped[datetime]
    pdf: Mapped[bytes]


class TerminationReport(Base):
    """ZZ Art.25 ¶1-2: a landlord's or employer's report that a holder's residence ended (within 7 working
    days); a permit with one and not yet cancelled is on the worklist of ¶3 (公安机关核查注销)."""

    __tablename__ = "termination_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    reporter: Mapped[str] = mapped_column(String(16))  # landlord, employer
    ended_on: Mapped[date] = mapped_column(Date)
    reported_on: Mapped[date] = mapped_column(Date)
    # the 7th working day after ended_on; None while the calendar lacks that year's holiday notice
    due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
