"""Approved applications for synthetic permits (demo, tests, benchmarks), through the registry services.

`register_permit` walks the path a counter takes: applicant, temporary registration (200 days old, so
SMX Art.9's six months and ZZ Art.10's 30 days are met), an application on employment grounds with the
materials the city's layout asks for, then the permit record (PENDING until its card is verified), holding
the permit data the station issues from (`cardsvc.permit.record`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from cardsvc.layout.schema import Layout
from cardsvc.permit.model import Permit
from cardsvc.permit.record import dump_permit
from cardsvc.registry.applications import (
    ApplicationRequest,
    create_permit,
    submit_application,
    upsert_applicant,
)
from cardsvc.registry.audit import Actor
from cardsvc.registry.errors import RefusedError
from cardsvc.registry.registrations import add_registration
from cardsvc.rules import Ground, Registration

REGISTERED_DAYS = 200


def register_permit(factory: sessionmaker[Session], actor: Actor, permit: Permit, layout: Layout, *,
                    at: dt.datetime | None = None) -> None:
    """An accepted application and a pending permit record carrying `permit`'s data."""
    when = at or dt.datetime.now(dt.UTC)
    rules = layout.rules
    with factory.begin() as s:
        applicant = upsert_applicant(s, permit.citizen_id, permit.birth_date, {}, at=when)
        start = (when - dt.timedelta(days=REGISTERED_DAYS)).date()
        reg = add_registration(s, applicant, rules, Registration(permit.authority.code, start, start, 365), at=when)
        grounds = frozenset({Ground.EMPLOYMENT})
        request = ApplicationRequest(grounds=grounds, materials=rules.materials_needed(grounds))
        app, decision = submit_application(s, actor, rules, applicant, reg, request, at=when)
        if not decision.accepted:
            raise RefusedError(f"permit {permit.permit_number}: sample application refused", (decision,))
        create_permit(s, actor, app, permit_number=permit.permit_number, layout_id=layout.id,
                      county_code=permit.authority.code, data=dump_permit(permit), at=when, layout=layout)
