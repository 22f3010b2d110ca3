"""Endorsements (签注) and address changes in the registry (issue 5 item 4).

Order of writes: the registry records the endorsement first (card_sync = pending), the station then
appends it to the card's EF.ENDORSE and confirms with `mark_written`.  If either side failed,
`reconcile` compares the card's record numbers with the registry and says what to (re)write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cardsvc.layout.loader import builtin_layout
from cardsvc.layout.schema import Layout
from cardsvc.permit.model import Authority
from cardsvc.permit.model import Endorsement as PermitEndorsement
from cardsvc.permit.validate import validate_endorsement_data
from cardsvc.registry.audit import Actor, audit, record_status
from cardsvc.registry.errors import NotFoundError, RefusedError, StateConflictError
from cardsvc.registry.lifecycle import suspend
from cardsvc.registry.lookup import card_by_number, current_card, local_date, permit_by_number
from cardsvc.registry.models import Card, CardSync, Endorsement, EndorsementKind, Permit
from cardsvc.registry.registrations import as_rule, registrations_of
from cardsvc.rules.changes import ChangeAssessment, ChangeKind, assess_address_change
from cardsvc.rules.city import CityRules
from cardsvc.rules.endorsement import Timing, anniversary, assess
from cardsvc.rules.registration import registered_since
from cardsvc.rules.status import CardStatus, PermitStatus, SuspensionReason


def _usable_card(session: Session, permit: Permit) -> Card:
    card = current_card(session, permit)
    if card is None or CardStatus(card.status) not in (CardStatus.ACTIVE, CardStatus.SUSPENDED):
        raise RefusedError(f"permit {permit.permit_number}: no card in use to endorse "
                           f"(permit is {permit.status})")
    return card


def _next_seq(session: Session, permit: Permit) -> int:
    return (session.scalar(select(func.max(Endorsement.seq)).where(Endorsement.permit_id == permit.id)) or 0) + 1


def _current_county(session: Session, permit: Permit) -> str:
    latest = session.scalars(select(Endorsement).where(Endorsement.permit_id == permit.id)
                             .order_by(Endorsement.seq.desc())).first()
    return permit.county_code if latest is None else latest.county_code


def _rules(permit: Permit, data: dict[str, Any], rules: CityRules | None, layout: Layout | None) -> CityRules:
    """The city's rules; with the layout, `data` is checked first against the endorsement record it is
    written to (the endorsement door: PermitInvalid names the field, nothing is written)."""
    if layout is not None:
        validate_endorsement_data(layout, data)
        return rules or layout.rules
    return rules or builtin_layout(permit.city).rules


def endorse(
    session: Session, actor: Actor, permit_number: str, *, data: dict[str, Any], at: datetime,
    rules: CityRules | None = None, layout: Layout | None = None,
) -> Endorsement:
    """Yearly endorsement (SMX Art.16 / ZZ Art.13), or a late one (SMX Art.18) that restores use and
    restarts the residence-year count.  Too early or over the grace period: refused with the dates."""
    permit = permit_by_number(session, permit_number, lock=True)
    rules = _rules(permit, data, rules, layout)
    status = PermitStatus(permit.status)
    overdue_suspended = status is PermitStatus.SUSPENDED and \
        permit.suspension_reason == SuspensionReason.ENDORSEMENT_OVERDUE.value
    if status is not PermitStatus.ACTIVE and not overdue_suspended:
        raise RefusedError(f"permit {permit_number}: is {status.value}"
                           f"{f' ({permit.suspension_reason})' if permit.suspension_reason else ''}; cannot endorse")
    card = _usable_card(session, permit)
    on = local_date(at)
    result = assess(rules, permit.anchor_on, permit.years, on)
    win = result.window
    if result.timing is Timing.TOO_EARLY:
        latest = session.scalars(select(Endorsement).where(Endorsement.permit_id == permit.id)
                                 .order_by(Endorsement.seq.desc())).first()
        if latest is not None and latest.valid_until == win.anniversary:  # another request got there first
            raise StateConflictError(f"permit {permit_number}: already endorsed (seq {latest.seq}) until "
                                     f"{latest.valid_until.isoformat()}; next window opens {win.opens.isoformat()}")
        raise RefusedError(f"permit {permit_number}: endorsement window opens {win.opens.isoformat()} "
                           f"(anniversary {win.anniversary.isoformat()}, SMX Art.16 / ZZ Art.13)", (result,))
    registration = None
    if result.timing is Timing.REREGISTER:
        assert win.late_until is not None
        since = win.late_until + timedelta(days=1)
        registration = registered_since(
            [as_rule(r) for r in registrations_of(session, permit.applicant_id)], since, on)
        if registration is None:
            raise RefusedError(f"permit {permit_number}: endorsement {result.days_overdue} days overdue, past "
                               f"{win.late_until.isoformat()}; temporary registration must be made anew (SMX Art.18): "
                               f"none made on or after {since.isoformat()} is in force", (result,),
                               field="permit_number")
        # SMX Art.18 "超过半年申请补办签注手续的，需重新申报暂住登记": with the new registration the late
        # endorsement restores use as within half a year, and the residence years count from today.
        result = replace(result, timing=Timing.LATE, new_anchor=on, new_years=1)
    late = result.timing is Timing.LATE
    permit.anchor_on, permit.years, permit.updated_at = result.new_anchor, result.new_years, at
    row = Endorsement(
        permit_id=permit.id, card_id=card.id, seq=_next_seq(session, permit),
        kind=(EndorsementKind.LATE if late else EndorsementKind.YEARLY).value, endorsed_on=on,
        valid_until=result.next_anniversary, county_code=_current_county(session, permit), late=late,
        data=dict(data), card_sync=CardSync.PENDING.value, created_at=at,
    )
    session.add(row)
    session.flush()
    audit(session, actor, f"endorsement.{row.kind}", at=at, permit_number=permit_number,
          card_number=card.card_number,
          reason=f"seq {row.seq}, valid until {row.valid_until.isoformat()}"
                 f"{f', {result.days_overdue} days late, count restarts (SMX Art.18)' if late else ''}"
                 f"{', after re-registration (SMX Art.18)' if registration is not None else ''}")
    if overdue_suspended:
        permit.suspension_reason = None
        record_status(session, actor, permit, PermitStatus.ACTIVE.value, at=at, reason_code="late_endorsement",
                      reason="SMX Art.18: late endorsement restores use")
        record_status(session, actor, permit, CardStatus.ACTIVE.value, at=at, card=card,
                      reason_code="late_endorsement", reason="SMX Art.18: late endorsement restores use")
    session.flush()
    return row


def change_address(
    session: Session, actor: Actor, permit_number: str, *, new_county: str, moved_on: date, data: dict[str, Any],
    at: datetime, rules: CityRules | None = None, layout: Layout | None = None,
) -> tuple[ChangeAssessment, Endorsement | None]:
    """SMX Art.17 / ZZ Art.14.  Within the county (SMX) or anywhere in the city (ZZ): an endorsement
    record carrying the new address.  Across counties in SMX: use suspended (Art.19(5)) until the new
    registration is half a year old.  Leaving the city: refused; cancel instead (ZZ Art.25)."""
    permit = permit_by_number(session, permit_number, lock=True)
    rules = _rules(permit, data, rules, layout)
    if permit.status == PermitStatus.SUSPENDED.value and \
            permit.suspension_reason == SuspensionReason.CROSS_COUNTY_MOVE.value:
        return _end_cross_county_move(session, actor, permit, rules, new_county, moved_on, data, at)
    change = assess_address_change(rules, _current_county(session, permit), new_county, moved_on, local_date(at))
    if change.kind is ChangeKind.LEAVES_CITY:
        raise RefusedError(f"permit {permit_number}: county {new_county} is outside the city; cancel the "
                           f"permit ({change.article})", (change,))
    if change.kind is ChangeKind.REREGISTER:
        suspend(session, actor, permit_number, SuspensionReason.CROSS_COUNTY_MOVE,
                f"moved to county {new_county} on {moved_on.isoformat()}; new temporary registration needed", at=at)
        return change, None
    if permit.status != PermitStatus.ACTIVE.value:
        raise RefusedError(f"permit {permit_number}: is {permit.status}; cannot endorse an address change")
    card = _usable_card(session, permit)
    row = Endorsement(
        permit_id=permit.id, card_id=card.id, seq=_next_seq(session, permit),
        kind=EndorsementKind.ADDRESS_CHANGE.value, endorsed_on=local_date(at),
        valid_until=anniversary(permit.anchor_on, permit.years), county_code=new_county, late=change.late,
        data=dict(data), card_sync=CardSync.PENDING.value, created_at=at,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "endorsement.address_change", at=at, permit_number=permit_number,
          card_number=card.card_number,
          reason=f"seq {row.seq}, county {new_county}, due {change.deadline.isoformat()}"
                 f"{' (reported late)' if change.late else ''} ({change.article})")
    return change, row


def mark_written(session: Session, actor: Actor, endorsement_id: int, *, at: datetime) -> Endorsement:
    row = session.get(Endorsement, endorsement_id)
    if row is None:
        raise NotFoundError(f"endorsement_id: no endorsement {endorsement_id}", field="endorsement_id")
    if row.card_sync != CardSync.WRITTEN.value:
        row.card_sync = CardSync.WRITTEN.value
        card = session.get(Card, row.card_id)
        assert card is not None
        audit(session, actor, "endorsement.written", at=at, card_number=card.card_number,
              permit_number=card.permit.permit_number, reason=f"seq {row.seq} on card")
        session.flush()
    return row


@dataclass(frozen=True)
class Reconciliation:
    confirmed: tuple[int, ...]  # seqs now marked written (they were on the card)
    to_write: tuple[Endorsement, ...]  # registry records the card lacks: write them
    unknown_on_card: tuple[int, ...]  # seqs on the card that the registry never committed


def reconcile(session: Session, actor: Actor, card_number: str, seqs_on_card: Iterable[int], *,
              at: datetime) -> Reconciliation:
    """Issue 12: a card generation carries every endorsement of the permit (records 1..n, see
    `carried_endorsements`), so the card is compared with all of the permit's records, not only those
    first written to this card."""
    card = card_by_number(session, card_number, lock=True)
    on_card = set(seqs_on_card)
    rows = list(session.scalars(select(Endorsement).where(Endorsement.permit_id == card.permit_id)
                                .order_by(Endorsement.seq)))
    known = {r.seq for r in rows}
    confirmed = []
    for r in rows:
        if r.seq in on_card and r.card_sync != CardSync.WRITTEN.value:
            r.card_sync = CardSync.WRITTEN.value
            confirmed.append(r.seq)
    result = Reconciliation(
        confirmed=tuple(confirmed),
        to_write=tuple(r for r in rows if r.seq not in on_card),
        unknown_on_card=tuple(sorted(on_card - known)),
    )
    audit(session, actor, "endorsement.reconcile", at=at, card_number=card_number,
          permit_number=card.permit.permit_number,
          reason=f"confirmed {list(result.confirmed)}, to write {[r.seq for r in result.to_write]}, "
                 f"unknown on card {list(result.unknown_on_card)}")
    session.flush()
    return result


def carried_endorsements(session: Session, permit: Permit, layout: Layout) -> tuple[PermitEndorsement, ...]:
    """Every endorsement the registry holds for the permit, in record order, as a new card generation
    writes them (issue 12: a replacement 补领, renewal 换领 or correction card verifies with the same
    validity, SMX Art.16/20, ZZ Art.15-16/27, and the next endorsement appends record n + 1)."""
    out = []
    for row in session.scalars(select(Endorsement).where(Endorsement.permit_id == permit.id)
                               .order_by(Endorsement.seq)):
        name = layout.authority_name(row.county_code)
        address = row.data.get("residence_address") if isinstance(row.data, dict) else None
        if name is None or not isinstance(address, str):
            raise StateConflictError(f"permit {permit.permit_number}: endorsement {row.seq} cannot be carried "
                                     f"to a new card (authority {row.county_code}, address recorded: "
                                     f"{isinstance(address, str)})")
        out.append(PermitEndorsement(row.endorsed_on, address, row.valid_until, Authority(row.county_code, name)))
    return tuple(out)


def _end_cross_county_move(session: Session, actor: Actor, permit: Permit, rules: CityRules, county: str,
                           moved_on: date, data: dict[str, Any], at: datetime) -> tuple[ChangeAssessment, Endorsement]:
    """SMX Art.17 ¶2 "应到现居住地登记站申报暂住登记。暂住登记满半年后，再办理签注手续": the suspension of
    Art.19(5) ends with an endorsement carrying the new address and the new county's authority, once the
    holder's temporary registration in that county, made since the move and in force (the registry's
    records), is half a year old (the city's `min_registration`)."""
    today = local_date(at)
    article = "SMX Art.17 ¶2, Art.19(5)"
    if moved_on > today:
        raise RefusedError(f"moved_on: {moved_on.isoformat()} is after today", field="moved_on")
    reg = registered_since([as_rule(r) for r in registrations_of(session, permit.applicant_id)], moved_on, today,
                           county_code=county)
    if reg is None:
        raise RefusedError(f"new_county: permit {permit.permit_number} moved across counties; no temporary "
                           f"registration in county {county} made since {moved_on.isoformat()} and in force "
                           f"is recorded ({article})", field="new_county")
    held = rules.min_registration
    since = reg.registered_on
    ready = since if held is None else held.add_to(since)
    if today < ready:
        raise RefusedError(f"new_county: the temporary registration in county {county} since {since.isoformat()} "
                           f"is half a year old on {ready.isoformat()}; endorse from then ({article})",
                           field="new_county")
    card = _usable_card(session, permit)
    due = anniversary(permit.anchor_on, permit.years)
    if today >= due:  # the year ran out while use was suspended: the count restarts (as SMX Art.18)
        permit.anchor_on, permit.years = today, 1
        due = anniversary(today, 1)
    permit.updated_at = at
    row = Endorsement(
        permit_id=permit.id, card_id=card.id, seq=_next_seq(session, permit),
        kind=EndorsementKind.ADDRESS_CHANGE.value, endorsed_on=today, valid_until=due, county_code=county,
        late=False, data=dict(data), card_sync=CardSync.PENDING.value, created_at=at,
    )
    session.add(row)
    permit.suspension_reason = None
    record_status(session, actor, permit, PermitStatus.ACTIVE.value, at=at, reason_code="reregistered",
                  reason=f"{article}: endorsed in county {county} after half a year of registration")
    record_status(session, actor, permit, CardStatus.ACTIVE.value, at=at, card=card, reason_code="reregistered",
                  reason=f"{article}: use restored")
    session.flush()
    audit(session, actor, "endorsement.address_change", at=at, permit_number=permit.permit_number,
          card_number=card.card_number, reason=f"seq {row.seq}, county {county}, move completed ({article})")
    return ChangeAssessment(ChangeKind.ENDORSE, today, False, article), row
