"""Engine and session factory: SQLite file by default (WAL, foreign keys on), PostgreSQL by URL.

Writes are serialised on both backends (design §7).  SQLite: pysqlite would open a transaction only at
the first write, so a check-then-write races; we take the driver's transaction handling away and start
every transaction with `BEGIN IMMEDIATE`, which holds the database's one write lock from the first read
(SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).  A read-only
session may ask for `BEGIN DEFERRED` with the execution option `sqlite_begin="DEFERRED"`.  PostgreSQL:
status changes lock the permit row (`lookup.permit_by_number(lock=True)`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cardsvc.registry.errors import RegistryError


def default_url() -> str:
    """The settings' registry URL (`$CARDSVC_DB_URL`, else a SQLite file under ./var, ignored by git)."""
    from cardsvc.settings import load_settings

    return load_settings().database_url


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    url = url or default_url()
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError for unparsable URLs
        raise RegistryError(f"database url: cannot parse ({exc.__class__.__name__})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # A directory we create is private (var/ 0700); an existing one is the operator's choice.
            Path(parsed.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # plain URL: use psycopg 3, the driver we ship
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    raise RegistryError(f"database url: unsupported backend {backend!r} (use sqlite or postgresql)")


SQLITE_BEGIN = frozenset({"IMMEDIATE", "DEFERRED", "EXCLUSIVE"})


def _private_file(path: Path) -> None:
    """The registry holds personal data (ZZ Art.29): the files 0600 (SQLite creates the WAL and SHM
    with the main file's mode)."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for extra in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():
            os.chmod(extra, 0o600)


def _sqlite_begin(conn: Connection) -> None:
    mode = str(conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")).upper()
    if mode not in SQLITE_BEGIN:
        raise RegistryError(f"sqlite_begin: {mode!r} is not one of {sorted(SQLITE_BEGIN)}")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver must not open transactions itself: `_sqlite_begin` does, with the lock we want.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the single writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough under WAL, much faster
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_only_session(engine: Engine) -> Session:
    """A session for reads only: on SQLite it begins DEFERRED and so does not wait for the write lock
    (a write in it may then fail with "database is locked"; use the ordinary sessions for writes)."""
    return Session(engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False)
