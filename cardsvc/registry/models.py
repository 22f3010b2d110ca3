"""SQLAlchemy 2 models of the permit registry.

Personal fields of the permit live in `Permit.data` (JSON, shape owned by cardsvc.permit) beside the
key columns we query by.  The audit log holds no personal fields (ZZ Art.29, SMX Art.27).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cardsvc.rules.status import CardStatus, PermitStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        bytes: LargeBinary(),
    }


class JobState(StrEnum):
    PENDING = "pending"
    WRITING = "writing"
    VERIFYING = "verifying"
    ISSUED = "issued"
    FAILED_RETRYABLE = "failed_retryable"
    FAILED = "failed"


class EndorsementKind(StrEnum):
    YEARLY = "yearly"  # SMX Art.16 / ZZ Art.13
    LATE = "late"  # SMX Art.18
    ADDRESS_CHANGE = "address_change"  # SMX Art.17 ¶1 / ZZ Art.14


class CardSync(StrEnum):
    """Where an endorsement stands on the card (registry is written first, then the card)."""

    PENDING = "pending"
    WRITTEN = "written"


class Applicant(Base):
    __tablename__ = "applicant"
    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(18), unique=True)
    birth_date: Mapped[date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class TemporaryRegistration(Base):
    """A temporary registration (暂住登记, SMX Art.7, ZZ Art.10-11): the record eligibility (SMX Art.8),
    re-registration (SMX Art.18) and a cross-county move (SMX Art.17 ¶2) are computed from
    (cardsvc.rules.registration). Migration 0008 added who declared it, its certificate and its end."""

    __tablename__ = "temporary_registration"
    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id"), index=True)
    city: Mapped[str] = mapped_column(String(16))
    county_code: Mapped[str] = mapped_column(String(6))
    arrived_on: Mapped[date] = mapped_column(Date)
    registered_on: Mapped[date] = mapped_column(Date)
    intended_stay_days: Mapped[int] = mapped_column(Integer)
    declared_by: Mapped[str] = mapped_column(String(24), default="self")  # rules.registration.Declarer
    certificate_number: Mapped[str | None] = mapped_column(String(16), unique=True)  # None: before 0008
    valid_until: Mapped[date | None] = mapped_column(Date)  # the certificate's last valid day
    ended_on: Mapped[date | None] = mapped_column(Date)  # the last day it held
    end_reason: Mapped[str | None] = mapped_column(String(32))  # rules.registration.EndReason
    created_at: Mapped[datetime]


class PermitApplication(Base):
    __tablename__ = "permit_application"
    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id"), index=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("temporary_registration.id"))
    city: Mapped[str] = mapped_column(String(16))
    applied_on: Mapped[date] = mapped_column(Date)
    accepted: Mapped[bool] = mapped_column(Boolean)
    issue_deadline: Mapped[date | None] = mapped_column(Date, index=True)  # SMX Art.12
    decision: Mapped[dict[str, Any]]  # failed conditions, missing materials, warnings (codes only)
    via_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Permit(Base):
    __tablename__ = "permit"
    id: Mapped[int] = mapped_column(primary_key=True)
    permit_number: Mapped[str] = mapped_column(String(32), unique=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("permit_application.id"))
    citizen_id: Mapped[str] = mapped_column(String(18), index=True)
    city: Mapped[str] = mapped_column(String(16))
    layout_id: Mapped[str] = mapped_column(String(64))
    county_code: Mapped[str] = mapped_column(String(6))  # issuing county (SMX Art.14)
    status: Mapped[str] = mapped_column(String(32), index=True, default=PermitStatus.PENDING.value)
    suspension_reason: Mapped[str | None] = mapped_column(String(32))
    anchor_on: Mapped[date] = mapped_column(Date)  # year count starts here (SMX Art.18 restarts it)
    years: Mapped[int] = mapped_column(Integer, default=1)  # current anniversary = anchor + years
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # permit fields (cardsvc.permit shape)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    cards: Mapped[list[Card]] = relationship(back_populates="permit", order_by="Card.generation")


class Card(Base):
    __tablename__ = "card"
    __table_args__ = (UniqueConstraint("permit_id", "generation"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    card_number: Mapped[str] = mapped_column(String(32), unique=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    chip_public_key: Mapped[bytes | None]
    status: Mapped[str] = mapped_column(String(32), index=True, default=CardStatus.PENDING.value)
    issued_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    permit: Mapped[Permit] = relationship(back_populates="cards")


class Endorsement(Base):
    __tablename__ = "endorsement"
    __table_args__ = (UniqueConstraint("permit_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # record number on the card's EF.ENDORSE
    kind: Mapped[str] = mapped_column(String(32))
    endorsed_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    county_code: Mapped[str] = mapped_column(String(6))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # address etc. as written to the card
    card_sync: Mapped[str] = mapped_column(String(16), default=CardSync.PENDING.value, index=True)
    created_at: Mapped[datetime]


class ChangeKind(StrEnum):
    SERVICE_PLACE = "service_place"  # ZZ Art.14 服务处所


class ChangeRecord(Base):
    """A change registration written to the card (ZZ Art.14), one record of the layout's changes EF of
    `card_id` (record number `seq`): registry first, card_sync pending, then the writer appends it
    (cardsvc.issuance.endorse). A new card generation carries the current value in its permit data
    instead (cardsvc.registry.changes), so the records belong to one card."""

    __tablename__ = "change_record"
    __table_args__ = (UniqueConstraint("card_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))  # ChangeKind
    changed_on: Mapped[date] = mapped_column(Date)  # the day of the change (the deadline runs from it)
    registered_on: Mapped[date] = mapped_column(Date)
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # after the city's deadline (ZZ Art.14: 7 days)
    county_code: Mapped[str] = mapped_column(String(6))  # the registering authority
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the value as written to the card
    card_sync: Mapped[str] = mapped_column(String(16), default=CardSync.PENDING.value, index=True)
    created_at: Mapped[datetime]


class StatusChange(Base):
    __tablename__ = "status_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"))
    subject: Mapped[str] = mapped_column(String(16))  # "permit" or "card"
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason_code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]


class IssuanceJob(Base):
    __tablename__ = "issuance_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), unique=True)
    supersedes_card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"))
    event: Mapped[str] = mapped_column(String(32))  # rules.fees.CardEvent
    state: Mapped[str] = mapped_column(String(32), index=True, default=JobState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    verified_digest: Mapped[bytes | None]  # hash of the verified card image, from the pipeline
    # Who runs the job now and until when (jobs.claim): database state, so processes can share a queue.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FeeRecord(Base):
    __tablename__ = "fee"
    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("issuance_job.id"))
    event: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(Integer)
    article: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what to which permit/card, when, why.  Never personal fields."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    station_id: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    permit_number: Mapped[str | None] = mapped_column(String(32), index=True)
    card_number: Mapped[str | None] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(Text)


class StatusPublication(Base):
    """A signed full status list as published (cardsvc.registry.publication): kept for a while so any
    service process can serve the delta from a counter's sequence to the current list (issue 15)."""

    __tablename__ = "status_publication"
    layout_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # each city registry's own list
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    issuer: Mapped[str] = mapped_column(String(6))
    issued_at: Mapped[datetime]
    digest: Mapped[bytes]  # StatusIndex.digest of the list
    signed: Mapped[bytes]  # the COSE_Sign1 bytes served to counters
