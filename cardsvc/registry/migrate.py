"""Apply the Alembic migrations programmatically: `migrate(url)` brings a database to head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from cardsvc.registry.db import make_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # The engine travels as an attribute, so URLs with '%' or passwords never pass through ini parsing.
    cfg.attributes["engine"] = engine
    return cfg


def migrate(url: str | None = None, *, engine: Engine | None = None, revision: str = "head") -> None:
    own = engine is None
    eng = engine if engine is not None else make_engine(url)
    try:
        command.upgrade(alembic_config(eng), revision)
    finally:
        if own:
            eng.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
