"""`cardsvc registration`: temporary registrations (暂住登记) as records (SMX Art.7-8, 17-18; ZZ Art.10-11).

`add` records one for a newcomer (--citizen-id, before any application) or a permit holder
(--permit-number: the county moved to, SMX Art.17 ¶2, or anew after more than half a year overdue, SMX
Art.18); `list` shows a person's records; `end` ends one. The same registry services as the API.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from cardsvc.cli.common import LazyChoice, actor, emit, json_option, registry, settings

if TYPE_CHECKING:
    from cardsvc.registry.models import TemporaryRegistration

DATE = click.DateTime(["%Y-%m-%d"])


def _declarers() -> list[str]:
    from cardsvc.rules.registration import Declarer

    return [d.value for d in Declarer]


def _end_reasons() -> list[str]:
    from cardsvc.rules.registration import EndReason

    return [r.value for r in EndReason]


def _today() -> dt.date:
    from cardsvc.registry.lookup import local_date

    return local_date(dt.datetime.now(dt.UTC))


def _view(row: TemporaryRegistration, today: dt.date) -> dict[str, Any]:
    from cardsvc.registry.registrations import as_rule

    return {"id": row.id, "county_code": row.county_code, "arrived_on": row.arrived_on,
            "registered_on": row.registered_on, "intended_stay_days": row.intended_stay_days,
            "declared_by": row.declared_by, "certificate_number": row.certificate_number,
            "valid_until": row.valid_until, "ended_on": row.ended_on, "end_reason": row.end_reason,
            "in_force": as_rule(row).in_force(today)}


def _line(r: dict[str, Any]) -> str:
    state = "in force" if r["in_force"] else f"ended {r['ended_on']} ({r['end_reason']})" if r["ended_on"] \
        else "not in force"
    return (f"registration {r['id']} certificate {r['certificate_number']}: county {r['county_code']} from "
            f"{r['registered_on']}, declared by {r['declared_by']}: {state}")


def _who(citizen_id: str | None, permit_number: str | None) -> None:
    if bool(citizen_id) == bool(permit_number):
        raise click.UsageError("give either --citizen-id or --permit-number")


@click.group("registration", help="temporary registrations (暂住登记) as records: add, list, end")
@json_option
def registration() -> None:
    pass


_DB = click.option("--db", metavar="URL", help="registry database URL (default $CARDSVC_DB_URL or var/)")
_STATION = click.option("--station", help="station id for the audit log (default $CARDSVC_STATION or the host name)")
_OPERATOR = click.option("--operator", help="operator for the audit log (default $CARDSVC_OPERATOR or the user)")


@registration.command("add", help="record a temporary registration (SMX Art.7; ZZ Art.10-11)")
@click.option("--citizen-id", metavar="ID", help="a newcomer's GB 11643 number (before the application)")
@click.option("--permit-number", metavar="N", help="a permit holder (SMX Art.17 ¶2, Art.18)")
@click.option("--county", required=True, metavar="CODE", help="GB/T 2260 county of the registering station")
@click.option("--arrived-on", type=DATE, required=True, metavar="YYYY-MM-DD")
@click.option("--registered-on", type=DATE, metavar="YYYY-MM-DD", help="default: today")
@click.option("--stay-days", type=click.IntRange(1, 36500), required=True, help="intended stay (ZZ Art.10)")
@click.option("--declared-by", type=LazyChoice("DECLARER", _declarers), default="self", show_default=True,
              help="who reported it (ZZ Art.11: employer, individual_employer, landlord, self)")
@click.option("--certificate", metavar="NUMBER", help="the certificate's number (default: issued here)")
@click.option("--valid-until", type=DATE, metavar="YYYY-MM-DD", help="the certificate's last valid day")
@_DB
@_STATION
@_OPERATOR
@json_option
def add(citizen_id: str | None, permit_number: str | None, county: str, arrived_on: dt.datetime,
        registered_on: dt.datetime | None, stay_days: int, declared_by: str, certificate: str | None,
        valid_until: dt.datetime | None, db: str | None, station: str | None, operator: str | None) -> int:
    _who(citizen_id, permit_number)
    from cardsvc.registry.applications import applicant_for
    from cardsvc.registry.lookup import permit_by_number
    from cardsvc.registry.registrations import add_registration, register_for_permit
    from cardsvc.rules.registration import Declarer, Registration

    conf = settings(database_url=db, station_id=station, operator=operator)
    reg = Registration(county, registered_on.date() if registered_on else _today(), arrived_on.date(), stay_days,
                       declared_by=Declarer(declared_by), certificate_number=certificate,
                       valid_until=valid_until.date() if valid_until else None)
    layouts = conf.layouts()
    at = dt.datetime.now(dt.UTC)
    who = actor(conf, "counter")
    with registry(conf).begin() as s:
        if permit_number:
            rules = layouts[permit_by_number(s, permit_number).layout_id].rules
            row = register_for_permit(s, who, permit_number, rules, reg, at=at)
        else:
            city = next((lay.rules for lay in layouts.values() if lay.rules.county_in_city(county)), None)
            if city is None:
                raise click.BadParameter(f"{county} is in none of the cities ({', '.join(layouts)})",
                                         param_hint="--county")
            row = add_registration(s, applicant_for(s, str(citizen_id), at=at), city, reg, at=at, actor=who)
        view = _view(row, _today())
    emit(view, _line(view))
    return 0


@registration.command("list", help="a person's temporary registrations, oldest first (an audited read)")
@click.option("--citizen-id", metavar="ID")
@click.option("--permit-number", metavar="N")
@_DB
@_STATION
@_OPERATOR
@json_option
def list_(citizen_id: str | None, permit_number: str | None, db: str | None, station: str | None,
          operator: str | None) -> int:
    _who(citizen_id, permit_number)
    from sqlalchemy import select

    from cardsvc.permit.citizen_id import parse_citizen_id
    from cardsvc.registry.audit import audit
    from cardsvc.registry.lookup import permit_by_number
    from cardsvc.registry.models import Applicant
    from cardsvc.registry.registrations import registrations_of

    conf = settings(database_url=db, station_id=station, operator=operator)
    with registry(conf).begin() as s:
        if permit_number:
            applicant_id: int | None = permit_by_number(s, permit_number).applicant_id
        else:
            number = parse_citizen_id(str(citizen_id)).number
            applicant_id = s.scalar(select(Applicant.id).where(Applicant.citizen_id == number))
        rows = [] if applicant_id is None else registrations_of(s, applicant_id)
        audit(s, actor(conf, "counter"), "registration.read", at=dt.datetime.now(dt.UTC),
              permit_number=permit_number, reason=f"registrations listed via the CLI: {len(rows)} found")
        views = [_view(r, _today()) for r in rows]
    emit(views, "\n".join(_line(v) for v in views) or "no registrations")
    return 0


@registration.command("end", help="end a registration: its last day and why")
@click.option("--id", "registration_id", type=click.IntRange(1, 2**31 - 1), required=True)
@click.option("--ended-on", type=DATE, metavar="YYYY-MM-DD", help="the last day it held (default: today)")
@click.option("--reason", type=LazyChoice("REASON", _end_reasons), required=True,
              help="moved, left_city, residence_ended, expired, corrected")
@_DB
@_STATION
@_OPERATOR
@json_option
def end(registration_id: int, ended_on: dt.datetime | None, reason: str, db: str | None, station: str | None,
        operator: str | None) -> int:
    from cardsvc.registry.registrations import end_registration
    from cardsvc.rules.registration import EndReason

    conf = settings(database_url=db, station_id=station, operator=operator)
    with registry(conf).begin() as s:
        row = end_registration(s, actor(conf, "counter"), registration_id,
                               ended_on.date() if ended_on else _today(), EndReason(reason),
                               at=dt.datetime.now(dt.UTC))
        view = _view(row, _today())
    emit(view, _line(view))
    return 0
