"""The residence-years record (SMX Art.18, 25-26): continuous years of residence per holder, with each
restart and its reason, and a printable certificate.

SMX Art.18 "居住年限自补办签注手续之日起连续计算": a late endorsement restarts the count (where the city's
[rules] say `late_restarts_residence_years`); the overdue gap breaks it from the anniversary A. A cancelled
permit (ZZ Art.25) or one marked for re-registration (SMX Art.18, 超过半年) ends it; a new permit starts a
new count. The years feed the settlement conditions the city sets under SMX Art.25-26 (落户条件).
Derived from the registry's records each time: nothing here is a second truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.duties.documents import Document
from cardsvc.registry.duty_models import DutyMark
from cardsvc.registry.lookup import local_date, permit_by_number
from cardsvc.registry.models import Card, Endorsement, Permit, StatusChange
from cardsvc.rules.city import CityRules
from cardsvc.rules.dates import full_years
from cardsvc.rules.endorsement import anniversary
from cardsvc.rules.status import PermitStatus


@dataclass(frozen=True)
class Span:
    start: date
    end: date | None  # the last day counted; None: still running
    started_by: str  # why the count (re)started
    ended_by: str | None


@dataclass(frozen=True)
class ResidenceRecord:
    permit_numbers: tuple[str, ...]
    spans: tuple[Span, ...]
    on: date

    @property
    def continuous_years(self) -> int:
        """Completed years of the running span (0 when none runs)."""
        last = self.spans[-1] if self.spans else None
        return full_years(last.start, self.on) if last is not None and last.end is None else 0


def _issued_on(session: Session, permit: Permit) -> date | None:
    first = session.scalars(select(Card.issued_at).where(Card.permit_id == permit.id, Card.issued_at.is_not(None))
                            .order_by(Card.issued_at)).first()
    return None if first is None else local_date(first)


def residence_record(session: Session, permit_number: str, rules_by_city: dict[str, CityRules],
                     on: date) -> ResidenceRecord:
    """Every permit of the holder of `permit_number`, oldest first, as spans of continuous residence."""
    holder = permit_by_number(session, permit_number).applicant_id
    permits = session.scalars(select(Permit).where(Permit.applicant_id == holder).order_by(Permit.id)).all()
    spans: list[Span] = []
    for permit in permits:
        start = _issued_on(session, permit)
        if start is None or start > on:
            continue
        restarts = (rules_by_city[permit.city].late_restarts_residence_years
                    if permit.city in rules_by_city else True)
        reason = "首次发证" if not spans else "新办居住证"
        for late in session.scalars(select(Endorsement).where(Endorsement.permit_id == permit.id,
                                                              Endorsement.late.is_(True),
                                                              Endorsement.endorsed_on <= on)
                                    .order_by(Endorsement.seq)):
            if not restarts:
                continue
            due = _due_before(session, permit, late)
            spans.append(Span(start, due, reason, "逾期未签注 (SMX Art.19(3))"))
            start, reason = late.endorsed_on, "补办签注 (SMX Art.18)"
        end, ended_by = _end(session, permit, on)
        spans.append(Span(start, end, reason, ended_by))
    return ResidenceRecord(tuple(p.permit_number for p in permits), tuple(spans), on)


def _due_before(session: Session, permit: Permit, late: Endorsement) -> date:
    """The last day counted before a late endorsement: the day before the missed anniversary."""
    earlier = session.scalars(select(Endorsement.valid_until).where(Endorsement.permit_id == permit.id,
                                                                     Endorsement.seq < late.seq)
                              .order_by(Endorsement.seq.desc())).first()
    missed = earlier if earlier is not None else anniversary(_issued_on(session, permit) or late.endorsed_on, 1)
    return date.fromordinal(missed.toordinal() - 1)


def _end(session: Session, permit: Permit, on: date) -> tuple[date | None, str | None]:
    if permit.status == PermitStatus.CANCELLED.value:
        at = session.scalars(select(StatusChange.at).where(StatusChange.permit_id == permit.id,
                                                           StatusChange.subject == "permit",
                                                           StatusChange.to_status == PermitStatus.CANCELLED.value)
                             ).first()
        if at is not None and local_date(at) <= on:
            return local_date(at), "注销 (ZZ Art.25)"
    mark = session.scalars(select(DutyMark).where(DutyMark.permit_id == permit.id)).first()
    if mark is not None and mark.since <= on:
        overdue_from = date.fromordinal(anniversary(permit.anchor_on, permit.years).toordinal() - 1)
        return overdue_from, "逾期超过半年，需重新申报暂住登记 (SMX Art.18)"
    return None, None


def certificate(record: ResidenceRecord, city_name: str, holder_name: str, issued_at: datetime) -> Document:
    lines = [f"持证人：{holder_name}", f"居住证号码：{'、'.join(record.permit_numbers)}",
             f"截至 {record.on.isoformat()}，连续居住年限：{record.continuous_years} 年", "居住年限记录："]
    for n, s in enumerate(record.spans, 1):
        end = s.end.isoformat() if s.end else "至今"
        lines.append(f"{n}. {s.start.isoformat()} — {end}（起算：{s.started_by}"
                     + (f"；中断：{s.ended_by}" if s.ended_by else "") + "）")
    lines.append(f"出具日期：{issued_at.date().isoformat()}")
    return Document(title=f"{city_name}居住年限证明", lines=tuple(lines),
                    title_for_pdf="residence years certificate")
