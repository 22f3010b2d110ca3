"""The residence-years record (SMX Art.18, 25-26): continuous years of residence per holder, with each
restart and its reason, and a printable certificate.

SMX Art.18 "居住年限自补办签注手续之日起连续计算": a late endorsement restarts the count (where the city's
[rules] say `late_restarts_residence_years`); the overdue gap breaks it from the anniversary A. A cancelled
permit (ZZ Art.25) or one marked for re-registration (SMX Art.18, 超过半年) ends it; a new permit starts a
new count. The years feed the settlement conditions the city sets under SMX Art.25-26 (落户条件).

A move across counties within the city restarts the count too. The years are "在居住地的居住年限" (Art.18),
and 居住地 is the county-level place whose registration station keeps the holder: Art.16 endorses at "居住地
登记站", Art.17 ¶1 keeps a move within a county an ordinary endorsement, while Art.17 ¶2 makes a move across
counties a new temporary registration at the new place with half a year's wait before endorsement (the
same half year Art.8 asks of a newcomer), and Art.19(5) suspends use meanwhile. The only rule the articles
give for counting after a suspension is Art.18's: use is restored by an endorsement and the years count
from that endorsement's day. So the old span ends the day before the move suspended use (Art.19(5)) and
the new one starts on the day of the Art.17 ¶2 endorsement that restored it; while the move is pending no
span runs. (Art.26's settlement condition names the city, "在三门峡市合法稳定就业并有合法稳定住所", but sets
no number of years, so it does not decide the count.) Which moves these are is data, not a city name: the
registry's Art.19(5) suspensions (`SuspensionReason.CROSS_COUNTY_MOVE`, made only where the city's [rules]
say `cross_county_reregisters`) and the endorsements that ended them.
Derived from the registry's records each time: nothing here is a second truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.duties.documents import Document
from cardsvc.registry.duty_models import DutyMark
from cardsvc.registry.endorsements import REREGISTERED
from cardsvc.registry.lookup import local_date, permit_by_number
from cardsvc.registry.models import Card, Endorsement, Permit, StatusChange
from cardsvc.rules.city import CityRules
from cardsvc.rules.dates import full_years
from cardsvc.rules.endorsement import anniversary
from cardsvc.rules.status import PermitStatus, SuspensionReason


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
        running: date | None = start
        for brk in sorted(_breaks(session, permit, restarts, on), key=lambda b: b.last_day):
            if running is None or brk.last_day < running:
                continue  # a break inside a pending one (or before the span began) changes nothing
            spans.append(Span(running, brk.last_day, reason, brk.ended_by))
            running, reason = brk.restart, brk.started_by
        if running is not None:
            end, ended_by = _end(session, permit, on)
            spans.append(Span(running, end, reason, ended_by))
    return ResidenceRecord(tuple(p.permit_number for p in permits), tuple(spans), on)


@dataclass(frozen=True)
class _Break:
    last_day: date  # the last day counted before it
    ended_by: str
    restart: date | None  # None: not restarted by `on`
    started_by: str


_MOVE = "跨县（市、区）更换居住地 (SMX Art.17 ¶2, Art.19(5))"


def _breaks(session: Session, permit: Permit, late_restarts: bool, on: date) -> list[_Break]:
    """Late endorsements (SMX Art.18, where the city says so) and moves across counties (see above)."""
    out: list[_Break] = []
    if late_restarts:
        for late in session.scalars(select(Endorsement).where(Endorsement.permit_id == permit.id,
                                                              Endorsement.late.is_(True),
                                                              Endorsement.endorsed_on <= on)
                                    .order_by(Endorsement.seq)):
            out.append(_Break(_due_before(session, permit, late), "逾期未签注 (SMX Art.19(3))", late.endorsed_on,
                              "补办签注 (SMX Art.18)"))
    changes = list(session.scalars(select(StatusChange).where(StatusChange.permit_id == permit.id,
                                                              StatusChange.subject == "permit")
                                   .order_by(StatusChange.at, StatusChange.id)))
    for n, change in enumerate(changes):
        if change.reason_code != SuspensionReason.CROSS_COUNTY_MOVE.value or \
                change.to_status != PermitStatus.SUSPENDED.value or local_date(change.at) > on:
            continue
        ended = next((c for c in changes[n + 1:] if c.reason_code == REREGISTERED), None)
        restart = None if ended is None or local_date(ended.at) > on else local_date(ended.at)
        out.append(_Break(date.fromordinal(local_date(change.at).toordinal() - 1), _MOVE, restart,
                          "跨县迁居满半年后签注，重新起算 (SMX Art.17 ¶2, Art.18)"))
    return out


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
