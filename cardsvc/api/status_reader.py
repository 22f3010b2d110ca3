"""The online status answer's own database connection (issue 15 item 3).

A pooled checkout per lookup costs a pre-ping, BEGIN and ROLLBACK round trips around the one query; on a
busy PostgreSQL host each round trip waits for the server process to be scheduled (bench/PROFILE.md,
city scale). This keeps one autocommit connection per process for the async status route, which runs on
the event loop thread, so a lookup is one round trip. Nothing in it is state: a failed connection is
dropped and opened again once.
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from cardsvc.registry import publication
from cardsvc.status_list.cache import OnlineStatus


class StatusReader:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._lock = threading.Lock()  # the loop thread only, in practice; a second caller waits

    def lookup(self, card_number: str, now: dt.datetime) -> OnlineStatus | None:
        with self._lock:
            for attempt in (1, 2):
                conn = self._conn
                if conn is None:
                    # SQLite: a DEFERRED read (never the write lock), ended after each lookup below.
                    conn = self._conn = self._engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT", sqlite_begin="DEFERRED")
                try:
                    answer = publication.online_status(conn, card_number, now)
                    conn.rollback()  # no snapshot outlives the lookup (SQLite); a no-op under autocommit
                    return answer
                except DBAPIError:
                    self._drop()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except DBAPIError:  # pragma: no cover - the connection is already gone
                pass

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
