"""`cardsvc duties`: the registry's standing duties for cron (`run`), and what they show the clerk
(`queue`: SMX Art.12 issuance deadlines; `overdue`: SMX Art.18-19 overdue endorsements)."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import TYPE_CHECKING, Any

import click

from cardsvc.cli.common import emit, json_option, registry, settings

if TYPE_CHECKING:
    from cardsvc.duties import DutyContext


def _at(value: str | None) -> dt.datetime:
    """--at: an ISO instant (a zone is required: the rules count China days, cardsvc.registry.lookup)."""
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date-time", param_hint="--at") from None
    if at.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone (e.g. 2026-02-05T12:00+08:00)", param_hint="--at")
    return at


def _context(db: str | None, station: str | None) -> DutyContext:
    from cardsvc.duties import DutyContext

    conf = settings(database_url=db, station_id=station)
    return DutyContext(registry(conf), conf.layouts(), conf.station_id,
                       f"cron:{socket.gethostname()}:{os.getpid()}")


def _common(f: Any) -> Any:
    f = click.option("--db", metavar="URL", help="registry database URL (default $CARDSVC_DB_URL or var/)")(f)
    f = click.option("--station", help="station id for the audit log (default $CARDSVC_STATION or the host name)")(f)
    f = click.option("--at", "at_", metavar="ISO", help="act as of this instant (default now; for catch-up runs)")(f)
    return json_option(f)


@click.group("duties", help="the registry's standing duties (also run on a schedule by `cardsvc serve`)")
def duties() -> None:
    pass


@duties.command("run", help="run one duty by NAME, or all (cron); a duty held by another process is skipped")
@click.argument("name", required=False)
@_common
def run(name: str | None, at_: str | None, db: str | None, station: str | None) -> int:
    from cardsvc.duties import DUTIES, run_duty

    if name is not None and name not in DUTIES:
        raise click.BadParameter(f"{name!r} is not one of {', '.join(sorted(DUTIES))}", param_hint="NAME")
    at = _at(at_)
    ctx = _context(db, station)
    results = [run_duty(ctx, n, at=at) for n in ([name] if name else list(DUTIES))]
    emit([{"duty": r.name, "ran": r.ran, "outcome": r.outcome} for r in results],
         "\n".join(f"{r.name}: {r.outcome}" for r in results))
    return 0 if all(r.ran for r in results) else 3


@duties.command("queue", help="SMX Art.12: applications awaiting their card, by due date, overdue per county")
@_common
def queue(at_: str | None, db: str | None, station: str | None) -> int:
    from cardsvc.duties.deadline import issuance_queue
    from cardsvc.registry.lookup import local_date

    ctx = _context(db, station)
    with ctx.sessions() as s:
        q = issuance_queue(s, local_date(_at(at_)))
    rows = [{"application_id": r.application_id, "permit_number": r.permit_number, "county_code": r.county_code,
             "applied_on": r.applied_on, "due": r.due, "days_left": r.days_left, "overdue": r.overdue}
            for r in q.rows]
    lines = [f"{r['due']} {r['county_code']} application {r['application_id']} {r['permit_number'] or '-'}"
             + (" OVERDUE" if r["overdue"] else f" ({r['days_left']} day(s) left)") for r in rows]
    emit({"on": q.on, "queue": rows, "overdue_by_county": q.overdue_by_county},
         "\n".join([*lines, q.summary()]))
    return 0


@duties.command("overdue", help="SMX Art.18-19: permits suspended for an overdue endorsement")
@_common
def overdue(at_: str | None, db: str | None, station: str | None) -> int:
    from cardsvc.duties.overdue import overdue_permits
    from cardsvc.registry.lookup import local_date

    ctx = _context(db, station)
    with ctx.sessions() as s:
        rows = overdue_permits(s, ctx.rules_by_city, local_date(_at(at_)))
    data = [{"permit_number": r.permit_number, "county_code": r.county_code, "due": r.due,
             "days_overdue": r.days_overdue, "late_until": r.late_until, "reregister_since": r.reregister_since}
            for r in rows]
    emit(data, "\n".join(f"{r['permit_number']} due {r['due']}: {r['days_overdue']} day(s) overdue"
                         + (" RE-REGISTER" if r["reregister_since"] else "") for r in data) or "none overdue")
    return 0
