"""A short-lived cache of authenticated tokens for the hot read-only routes (issue 15 item 3)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from cardsvc.api.auth import Principal


class PrincipalCache:
    """Recently authenticated tokens (by SHA-256), so the hot read-only routes neither open a session nor
    hop to a thread per request. Cleared when this process revokes a token; `ttl` bounds how long a
    revocation or expiry made elsewhere (another process, the CLI) takes to apply here."""

    def __init__(self, ttl: timedelta = timedelta(seconds=5), size: int = 4096) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[Principal, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str, now: datetime) -> Principal | None:
        hit = self._entries.get(token_hash)
        return hit[0] if hit is not None and now < hit[1] else None

    def put(self, token_hash: str, principal: Principal, now: datetime) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()  # bounded: unknown tokens cannot grow it without limit
            self._entries[token_hash] = (principal, now + self.ttl)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
