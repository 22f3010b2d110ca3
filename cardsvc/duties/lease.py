"""One run of a duty at a time across service processes and cron: a lease row per duty (registry.duty_models).

Why a lease row and not a PostgreSQL advisory lock: it works the same on SQLite (one file, several
processes) and on PostgreSQL, it expires by itself when a process dies mid-run, and the row also
records when the duty last ran and how it ended, which the clerk's page shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cardsvc.registry.duty_models import DutyLease
from cardsvc.registry.lookup import locked

LEASE = timedelta(minutes=10)  # longer than any duty's run; a crashed holder's lease lapses after it


def _ensure_row(sessions: sessionmaker[Session], name: str) -> None:
    try:
        with sessions.begin() as s:
            if s.get(DutyLease, name) is None:
                s.add(DutyLease(name=name))
    except IntegrityError:  # another process inserted it first: fine, the row exists
        pass


def acquire(sessions: sessionmaker[Session], name: str, holder: str, *, at: datetime,
            lease: timedelta = LEASE) -> bool:
    """Take duty `name` for `holder` until `at + lease`; False when another holder's lease still runs."""
    _ensure_row(sessions, name)
    with sessions.begin() as s:
        row = s.scalars(locked(select(DutyLease).where(DutyLease.name == name))).one()
        if row.holder is not None and row.holder != holder and row.lease_until is not None \
                and row.lease_until > at:
            return False
        row.holder, row.lease_until = holder, at + lease
    return True


def release(sessions: sessionmaker[Session], name: str, holder: str, *, at: datetime, outcome: str) -> None:
    """End `holder`'s run and record its outcome (counts only); a lease taken over meanwhile is left alone."""
    with sessions.begin() as s:
        row = s.scalars(locked(select(DutyLease).where(DutyLease.name == name))).one()
        if row.holder == holder:
            row.holder, row.lease_until = None, None
        row.last_run_at, row.last_outcome = at, outcome[:2000]


def last_runs(session: Session) -> dict[str, DutyLease]:
    return {row.name: row for row in session.scalars(select(DutyLease))}
