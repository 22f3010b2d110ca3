"""`cardsvc status`: a permit's status, cards, jobs and endorsements in the registry."""

from __future__ import annotations

from typing import Any

import click

from cardsvc.cli.common import emit, json_option, registry, settings


@click.command("status", help="a permit's status, cards, jobs and endorsements in the registry")
@click.option("--permit-number", metavar="N")
@click.option("--card-number", metavar="C")
@click.option("--db", metavar="URL", help="registry database URL (default $CARDSVC_DB_URL or var/)")
@json_option
def status(permit_number: str | None, card_number: str | None, db: str | None) -> int:
    from sqlalchemy import select

    from cardsvc.registry.lookup import card_by_number, permit_by_number
    from cardsvc.registry.models import Card, Endorsement, IssuanceJob

    if bool(permit_number) == bool(card_number):
        raise click.UsageError("give either --permit-number or --card-number")
    factory = registry(settings(database_url=db))
    with factory() as s:
        permit = (permit_by_number(s, permit_number) if permit_number
                  else card_by_number(s, str(card_number)).permit)
        cards = list(s.scalars(select(Card).where(Card.permit_id == permit.id).order_by(Card.generation)))
        jobs = list(s.scalars(select(IssuanceJob).where(IssuanceJob.permit_id == permit.id).order_by(IssuanceJob.id)))
        endorsements = list(s.scalars(select(Endorsement).where(Endorsement.permit_id == permit.id)
                                      .order_by(Endorsement.seq)))
        data: dict[str, Any] = {
            "permit_number": permit.permit_number, "city": permit.city, "status": permit.status,
            "suspension_reason": permit.suspension_reason, "anchor_on": permit.anchor_on, "years": permit.years,
            "cards": [{"card_number": c.card_number, "generation": c.generation, "status": c.status,
                       "issued_at": c.issued_at, "revoked_at": c.revoked_at} for c in cards],
            "jobs": [{"id": j.id, "event": j.event, "state": j.state, "attempts": j.attempts,
                      "last_error": j.last_error} for j in jobs],
            "endorsements": [{"seq": e.seq, "kind": e.kind, "endorsed_on": e.endorsed_on,
                              "valid_until": e.valid_until, "on_card": e.card_sync} for e in endorsements],
        }
    lines = [f"permit {data['permit_number']} ({data['city']}): {data['status']}"
             + (f" ({data['suspension_reason']})" if data["suspension_reason"] else "")]
    lines += [f"  card {c['card_number']} gen {c['generation']}: {c['status']}" for c in data["cards"]]
    lines += [f"  job {j['id']} {j['event']}: {j['state']} after {j['attempts']} attempt(s)"
              + (f" — {j['last_error']}" if j["last_error"] and j["state"] != "issued" else "") for j in data["jobs"]]
    lines += [f"  endorsement {e['seq']} ({e['kind']}) valid until {e['valid_until']}: {e['on_card']}"
              for e in data["endorsements"]]
    emit(data, "\n".join(lines))
    return 0
