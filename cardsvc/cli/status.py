"""`cardsvc status`: a permit's status, cards, jobs and endorsements in the registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from cardsvc.cli.common import actor, emit, json_option, registry, settings


def _change(factory: Any, who: Any, permit_number: str | None, card_number: str | None, action: str,
            reason: str | None, note: str, bank_certificate: str | None, reported_at: dt.datetime | None) -> None:
    """Loss report (ZZ Art.16-17, the API's door: cardsvc.duties.losses), suspension (SMX Art.19),
    reinstatement, cancellation (ZZ Art.25)."""

    from cardsvc.duties.losses import report_loss_of
    from cardsvc.registry import lifecycle
    from cardsvc.registry.lookup import card_by_number
    from cardsvc.rules.status import SuspensionReason

    at = dt.datetime.now(dt.UTC)
    with factory.begin() as s:
        if action == "report_lost":
            report_loss_of(s, who, note, at=at, permit_number=None if card_number else permit_number,
                           card_number=card_number, bank_certificate=bank_certificate, reported_at=reported_at)
            return
        number = permit_number or card_by_number(s, str(card_number)).permit.permit_number
        if action == "suspend":
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


def _iso_time(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.datetime | None:
    """ISO 8601 as the API takes it; the zone and the bounds are checked by cardsvc.duties.losses."""
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2026-03-01T09:30:00+08:00)") from None


def _loss(session: Any, card_id: int) -> dict[str, Any] | None:
    """The card's loss report (ZZ Art.16-17): how it was reported and when it took effect."""
    from cardsvc.duties.losses import loss_of

    row = loss_of(session, card_id)
    return None if row is None else {"channel": row.channel, "bank_certificate": row.bank_certificate,
                                     "effective_at": row.effective_at}


@click.command("status", help="a permit's status, cards, jobs and endorsements in the registry; "
                              "with an action, change it first")
@click.option("--permit-number", metavar="N")
@click.option("--card-number", metavar="C")
@click.option("--report-lost", "action", flag_value="report_lost", help="report the card lost (ZZ Art.16)")
@click.option("--suspend", "reason", metavar="REASON",
              help="suspend use for an SMX Art.19 reason (cardsvc.rules.status.SuspensionReason, e.g. other)")
@click.option("--reinstate", "action", flag_value="reinstate", help="end a suspension")
@click.option("--cancel", "action", flag_value="cancel", help="cancel the permit (ZZ Art.25)")
@click.option("--bank-certificate", metavar="NO",
              help="with --report-lost: the bank's loss certificate number (ZZ Art.16 formal report)")
@click.option("--reported-at", metavar="ISO-TIME", callback=_iso_time,
              help="with --report-lost: when the bank or oral report was made, with its zone, e.g. "
                   "2026-03-01T09:30:00+08:00 (ZZ Art.16-17: the loss takes effect then)")
@click.option("--basic-info", is_flag=True, help="also show the ZZ Art.33 basic information (audited read)")
@click.option("--note", default="", help="why (audit log; no personal data)")
@click.option("--station", help="station id for the audit log (default $CARDSVC_STATION or the host name)")
@click.option("--operator", help="operator for the audit log (default $CARDSVC_OPERATOR or the user)")
@click.option("--db", metavar="URL", help="registry database URL (default $CARDSVC_DB_URL or var/)")
@json_option
def status(permit_number: str | None, card_number: str | None, action: str | None, reason: str | None,
           bank_certificate: str | None, reported_at: dt.datetime | None, basic_info: bool, note: str,
           station: str | None, operator: str | None, db: str | None) -> int:
    # Argument errors before any heavy import (tests/unit/test_cli_imports.py).
    if bool(permit_number) == bool(card_number):
        raise click.UsageError("give either --permit-number or --card-number")
    if action and reason:
        raise click.UsageError("give one of --report-lost, --suspend, --reinstate, --cancel")
    from cardsvc.duties.losses import check_loss_details

    check_loss_details(action or "", bank_certificate, reported_at)  # the API's rule: loss reports only
    from sqlalchemy import select

    from cardsvc.registry.lookup import card_by_number, permit_by_number
    from cardsvc.registry.models import Card, Endorsement, IssuanceJob
    from cardsvc.registry.registrations import registrations_of

    conf = settings(database_url=db, station_id=station, operator=operator)
    factory = registry(conf)
    if action or reason:
        _change(factory, actor(conf, "counter"), permit_number, card_number, action or "suspend", reason, note,
                bank_certificate, reported_at)
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
                       "issued_at": c.issued_at, "revoked_at": c.revoked_at, "loss": _loss(s, c.id)}
                      for c in cards],
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
    lines += [f"  card {c['card_number']} gen {c['generation']}: {c['status']}"
              + (f" (loss effective {c['loss']['effective_at']}, {c['loss']['channel']}"
                 + (f" certificate {c['loss']['bank_certificate']})" if c["loss"]["bank_certificate"] else ")")
                 if c["loss"] else "") for c in data["cards"]]
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
