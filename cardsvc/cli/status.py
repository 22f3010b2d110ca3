"""`cardsvc status`: a permit's status, cards, jobs and endorsements in the registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from cardsvc.cli.common import actor, emit, json_option, registry, settings


def _change(factory: Any, who: Any, permit_number: str | None, card_number: str | None, action: str,
            reason: str | None, note: str) -> None:
    """Loss report (ZZ Art.16), suspension (SMX Art.19), reinstatement, cancellation (ZZ Art.25)."""

    from cardsvc.registry import lifecycle
    from cardsvc.registry.errors import RefusedError
    from cardsvc.registry.lookup import card_by_number, current_card, permit_by_number
    from cardsvc.rules.status import SuspensionReason

    at = dt.datetime.now(dt.UTC)
    with factory.begin() as s:
        number = permit_number or card_by_number(s, str(card_number)).permit.permit_number
        if action == "report_lost":
            held = card_by_number(s, card_number) if card_number else current_card(s, permit_by_number(s, number))
            if held is None:
                raise RefusedError(f"permit_number: {number} has no card in use to report lost")
            lifecycle.report_lost(s, who, held.card_number, note, at=at)
        elif action == "suspend":
            try:
                why = SuspensionReason(str(reason))
            except ValueError:
                raise click.BadParameter(f"{reason!r} is not one of {[r.value for r in SuspensionReason]}",
                                         param_hint="--suspend") from None
            lifecycle.suspend(s, who, number, why, note, at=at)
        elif action == "reinstate":
            lifecycle.reinstate(s, who, number, note, at=at)
        else:
            lifecycle.cancel(s, who, number, note, at=at)


@click.command("status", help="a permit's status, cards, jobs and endorsements in the registry; "
                              "with an action, change it first")
@click.option("--permit-number", metavar="N")
@click.option("--card-number", metavar="C")
@click.option("--report-lost", "action", flag_value="report_lost", help="report the card lost (ZZ Art.16)")
@click.option("--suspend", "reason", metavar="REASON",
              help="suspend use for an SMX Art.19 reason (cardsvc.rules.status.SuspensionReason, e.g. other)")
@click.option("--reinstate", "action", flag_value="reinstate", help="end a suspension")
@click.option("--cancel", "action", flag_value="cancel", help="cancel the permit (ZZ Art.25)")
@click.option("--basic-info", is_flag=True, help="also show the ZZ Art.33 basic information (audited read)")
@click.option("--note", default="", help="why (audit log; no personal data)")
@click.option("--station", help="station id for the audit log (default $CARDSVC_STATION or the host name)")
@click.option("--operator", help="operator for the audit log (default $CARDSVC_OPERATOR or the user)")
@click.option("--db", metavar="URL", help="registry database URL (default $CARDSVC_DB_URL or var/)")
@json_option
def status(permit_number: str | None, card_number: str | None, action: str | None, reason: str | None,
           basic_info: bool, note: str, station: str | None, operator: str | None, db: str | None) -> int:
    # Argument errors before any heavy import (tests/unit/test_cli_imports.py).
    if bool(permit_number) == bool(card_number):
        raise click.UsageError("give either --permit-number or --card-number")
    if action and reason:
        raise click.UsageError("give one of --report-lost, --suspend, --reinstate, --cancel")
    from sqlalchemy import select

    from cardsvc.registry.lookup import card_by_number, permit_by_number
    from cardsvc.registry.models import Card, Endorsement, IssuanceJob
    from cardsvc.registry.registrations import registrations_of

    conf = settings(database_url=db, station_id=station, operator=operator)
    factory = registry(conf)
    if action or reason:
        _change(factory, actor(conf, "counter"), permit_number, card_number, action or "suspend", reason, note)
    with factory() as s:
        permit = (permit_by_number(s, permit_number) if permit_number
                  else card_by_number(s, str(card_number)).permit)
        cards = list(s.scalars(select(Card).where(Card.permit_id == permit.id).order_by(Card.generation)))
        jobs = list(s.scalars(select(IssuanceJob).where(IssuanceJob.permit_id == permit.id).order_by(IssuanceJob.id)))
        endorsements = list(s.scalars(select(Endorsement).where(Endorsement.permit_id == permit.id)
                                      .order_by(Endorsement.seq)))
        registrations = registrations_of(s, permit.applicant_id)
        data: dict[str, Any] = {
            "permit_number": permit.permit_number, "city": permit.city, "status": permit.status,
            "suspension_reason": permit.suspension_reason, "anchor_on": permit.anchor_on, "years": permit.years,
            "cards": [{"card_number": c.card_number, "generation": c.generation, "status": c.status,
                       "issued_at": c.issued_at, "revoked_at": c.revoked_at} for c in cards],
            "jobs": [{"id": j.id, "event": j.event, "state": j.state, "attempts": j.attempts,
                      "last_error": j.last_error} for j in jobs],
            "endorsements": [{"seq": e.seq, "kind": e.kind, "endorsed_on": e.endorsed_on,
                              "valid_until": e.valid_until, "on_card": e.card_sync} for e in endorsements],
            # the holder's temporary registrations (SMX Art.7, 17-18; ZZ Art.10-11): no personal fields
            "registrations": [{"id": r.id, "county_code": r.county_code, "registered_on": r.registered_on,
                               "declared_by": r.declared_by, "certificate_number": r.certificate_number,
                               "ended_on": r.ended_on} for r in registrations],
        }
    if basic_info:  # ZZ Art.33 basic information; every read of personal data is audited (ZZ Art.29)
        from cardsvc.permit.record import basic_information, load_permit
        from cardsvc.registry.audit import audit

        with factory.begin() as s:
            row = permit_by_number(s, data["permit_number"])
            data["basic_information"] = basic_information(load_permit(row.data))
            audit(s, actor(conf, "counter"), "permit.read", at=dt.datetime.now(dt.UTC),
                  reason="basic information (ZZ Art.33) via the CLI", permit_number=row.permit_number)
    lines = [f"permit {data['permit_number']} ({data['city']}): {data['status']}"
             + (f" ({data['suspension_reason']})" if data["suspension_reason"] else "")]
    lines += [f"  card {c['card_number']} gen {c['generation']}: {c['status']}" for c in data["cards"]]
    lines += [f"  job {j['id']} {j['event']}: {j['state']} after {j['attempts']} attempt(s)"
              + (f" — {j['last_error']}" if j["last_error"] and j["state"] != "issued" else "") for j in data["jobs"]]
    lines += [f"  endorsement {e['seq']} ({e['kind']}) valid until {e['valid_until']}: {e['on_card']}"
              for e in data["endorsements"]]
    for r in data["registrations"]:
        ended = f", ended {r['ended_on']}" if r["ended_on"] else ""
        lines.append(f"  registration {r['id']} county {r['county_code']} from {r['registered_on']} "
                     f"({r['declared_by']}){ended}")
    if basic_info:
        lines += [f"  {k}: {v}" for k, v in data["basic_information"].items() if v is not None]
    emit(data, "\n".join(lines))
    return 0
