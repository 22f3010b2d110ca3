"""How a counter's cache reaches the registry: the two fetchers `StatusListCache.refresh` takes, over
HTTP(S) to any service process (`GET /api/status-list` and `GET /api/status-list/delta`).

    delta, full = http_fetchers("https://registry.example:8443", token, "zz")
    cache.refresh(delta, full, now)

Standard library only (`urllib`), so an offline counter needs nothing more than the cache itself.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from cardsvc.status_list.errors import StatusListGapError, StatusUnavailableError

MAX_LIST_BYTES = 64 * 1024 * 1024  # a full list of 5 million listed cards stays far below


def http_fetchers(base_url: str, token: str, layout_id: str, *, timeout: float = 10.0,
                  ) -> tuple[Callable[[int], bytes | None], Callable[[], bytes]]:
    """(fetch_delta, fetch_full) for `StatusListCache.refresh`. The delta fetcher returns None when the
    held list is current (204) and raises `StatusListGapError` when the registry no longer keeps it (404),
    so the cache takes the full list; any other failure raises `StatusUnavailableError`."""
    base = base_url.rstrip("/")
    layout = urllib.parse.quote(layout_id, safe="")

    def get(path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}",
                                                               "Accept": "application/cose"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status), response.read(MAX_LIST_BYTES + 1)
        except urllib.error.HTTPError as exc:
            return exc.code, b""
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise StatusUnavailableError(f"status list: {base} not reachable ({exc})") from exc

    def fetch_delta(sequence: int) -> bytes | None:
        status, body = get(f"/api/status-list/delta?layout_id={layout}&since={sequence}")
        if status == 204:
            return None
        if status == 404:
            raise StatusListGapError(f"delta: the registry no longer keeps list {sequence}")
        return _body(status, body, "delta")

    def fetch_full() -> bytes:
        status, body = get(f"/api/status-list?layout_id={layout}")
        return _body(status, body, "full list")

    return fetch_delta, fetch_full


def _body(status: int, body: bytes, what: str) -> bytes:
    if status != 200:
        raise StatusUnavailableError(f"status {what}: HTTP {status}")
    if len(body) > MAX_LIST_BYTES:
        raise StatusUnavailableError(f"status {what}: larger than {MAX_LIST_BYTES} bytes")
    return body
