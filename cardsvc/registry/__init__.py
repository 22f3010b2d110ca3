"""Permit registry: SQLAlchemy 2 models, Alembic migrations, and the services that change records.

SQLite file by default (WAL, foreign keys on), PostgreSQL by URL.  `migrate(url)` creates/updates the
schema; services take a Session, flush, and leave the commit to the caller.
"""

from cardsvc.registry import duty_models as duty_models  # registers the duty tables on Base.metadata
from cardsvc.registry.audit import Actor, audit, audit_trail, history
from cardsvc.registry.db import default_url, make_engine, session_factory
from cardsvc.registry.errors import ConflictError, NotFoundError, NotVerifiedError, RefusedError, RegistryError
from cardsvc.registry.jobs import JobState, Verification, advance, record_chip_key, record_issued, start_issuance
from cardsvc.registry.migrate import migrate

__all__ = [
    "Actor", "ConflictError", "JobState", "NotFoundError", "NotVerifiedError", "RefusedError", "RegistryError",
    "Verification",
    "advance", "audit", "audit_trail", "default_url", "history", "make_engine", "migrate", "record_chip_key",
    "record_issued", "session_factory", "start_issuance",
]
