"""A registry permit made ready for a new card, the same way from the service and from the CLI.

The card number of a generation lives in the registry's Card rows (the permit record keeps the one in
use); a new job gets a free number, a resumed job (same idempotency key) its own. On a first issue the
card carries the day it is made (SMX Art.14 签发日期) and the validity the city's rules grant from then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.layout.schema import Layout
from cardsvc.permit.model import Permit
from cardsvc.permit.record import dump_permit, load_permit
from cardsvc.registry import jobs as registry_jobs
from cardsvc.registry.models import Card, IssuanceJob
from cardsvc.registry.models import Permit as PermitRow


def new_card_number(session: Session, layout: Layout) -> str:
    """A card number of the layout's format that no card in the registry has."""
    return registry_jobs.new_card_number(session, layout.card_number.prefix, layout.card_number.serial_digits)


def job_card_number(session: Session, layout: Layout, idempotency_key: str) -> tuple[str, bool]:
    """The card number for a job: the existing job's (resumed: True) or a free one (new: False)."""
    job = session.scalars(select(IssuanceJob).where(IssuanceJob.idempotency_key == idempotency_key)).one_or_none()
    if job is not None:
        card = session.get(Card, job.card_id)
        assert card is not None  # foreign key
        return card.card_number, True
    return new_card_number(session, layout), False


def stamp_first_issue(row: PermitRow, layout: Layout, today: dt.date) -> Permit:
    """Record the issue day and the validity it starts (the city's `validity`) in the permit record."""
    permit = load_permit(row.data)
    permit = replace(permit, issue_date=today, valid_until=layout.rules.validity.add_to(today))
    row.data = dump_permit(permit)
    return permit
