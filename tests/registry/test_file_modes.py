"""Issue 13 / ZZ Art.29: the registry's files are private — a directory we create 0700, the database and
its WAL and shared-memory files 0600."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from cardsvc.registry import make_engine, migrate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_registry_files_are_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    db = var / "registry.sqlite3"
    url = f"sqlite:///{db}"
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:  # a write: SQLite creates the WAL and the shared-memory file
            conn.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            conn.execute(text("INSERT INTO probe VALUES (1)"))
        assert mode(var) == 0o700
        files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        engine.dispose()
