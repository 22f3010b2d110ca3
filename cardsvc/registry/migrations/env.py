"""Alembic environment: runs online against the engine handed in by cardsvc.registry.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from cardsvc.registry.db import make_engine
from cardsvc.registry.models import Base

target_metadata = Base.metadata


def run() -> None:
    given = context.config.attributes.get("engine")
    own = not isinstance(given, Engine)
    eng = given if isinstance(given, Engine) else make_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with eng.begin() as conn:
            # render_as_batch: SQLite cannot ALTER most things; batch mode recreates tables instead.
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                              compare_type=True)
            context.run_migrations()
    finally:
        if own:
            eng.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; use cardsvc.registry.migrate.migrate(url)")
run()
