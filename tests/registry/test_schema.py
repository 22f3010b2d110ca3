"""Migrations, engine settings and constraints, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import importlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cardsvc.registry import RegistryError, make_engine, migrate
from cardsvc.registry.migrate import current_revision, head_revision
from cardsvc.registry.models import AuditEntry, Base, Card

# Other packages may declare tables on the registry's Base and add migrations to its one history
# (cardsvc.api.tokens_model → 0002); load them so the comparison sees the whole schema.
for _module in ("cardsvc.api.tokens_model",):
    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module(_module)


def test_migrate_reaches_head_and_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision() is not None
    migrate(engine=engine)  # second run: nothing to do, no error
    assert current_revision(engine) == head_revision()


def test_migrated_schema_matches_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_foreign_keys_enforced(session: Session) -> None:
    session.add(Card(card_number="C1", permit_id=999, generation=1, status="pending",
                     created_at=datetime.now(UTC)))
    with pytest.raises(IntegrityError):
        session.flush()


def test_sqlite_pragmas(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        assert engine.dialect.driver == "psycopg"
        return
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_timestamps_come_back_aware_utc(session: Session) -> None:
    when = datetime(2024, 8, 1, 12, 30, tzinfo=timezone(timedelta(hours=8)))
    session.add(AuditEntry(at=when, station_id="s", operator="o", role="admin", action="t", reason="r"))
    session.commit()
    session.expire_all()
    got = session.scalars(select(AuditEntry)).one().at
    assert got == when and got.tzinfo is not None and got.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="timezone-aware"):
        session.add(AuditEntry(at=datetime(2024, 1, 1), station_id="s", operator="o", role="a", action="t",
                               reason="r"))
        session.flush()


def test_bad_urls_are_named() -> None:
    with pytest.raises(RegistryError, match="unsupported backend 'mysql'"):
        make_engine("mysql://u@h/db")
    with pytest.raises(RegistryError, match="cannot parse"):
        make_engine("::not a url::")
    assert make_engine("postgresql://u@127.0.0.1:1/db").dialect.driver == "psycopg"


def test_migrate_from_empty(empty_db_url: str) -> None:
    eng = make_engine(empty_db_url)
    try:
        assert current_revision(eng) is None
        migrate(engine=eng)
        assert current_revision(eng) == head_revision()
        with eng.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        eng.dispose()
