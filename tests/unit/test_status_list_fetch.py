"""The counter's HTTP fetchers against a loopback server that answers as the service does: full list,
delta, 204 when current, 404 when the base is no longer kept (then `refresh` takes the full list)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardsvc.status_list import (
    StatusDelta,
    StatusListCache,
    StatusListGapError,
    StatusUnavailableError,
    sign_status_delta,
    sign_status_list,
)
from cardsvc.status_list.fetch import http_fetchers
from tests.unit.test_status_list_compact import ENTRIES, MAX_AGE, NEXT_ENTRIES, NOW, Pki, listing


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


class Registry:
    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.seen: list[tuple[str, str]] = []


@pytest.fixture
def registry() -> Iterator[tuple[Registry, str]]:
    state = Registry()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append((self.path, self.headers.get("Authorization", "")))
            status, body = state.answers.get(self.path, (500, b""))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_refresh_over_http(pki: Pki, registry: tuple[Registry, str], tmp_path: Path) -> None:
    state, url = registry
    first, second, third = listing(7), listing(8, NEXT_ENTRIES), listing(9, ENTRIES[:1])
    full = "/api/status-list?layout_id=zz"
    state.answers[full] = (200, sign_status_list(first, pki.key, pki.cert))
    fetch_delta, fetch_full = http_fetchers(url + "/", "cst_secret", "zz")
    cache = StatusListCache(tmp_path / "s.cose", pki.trust(), MAX_AGE, now=NOW)
    assert cache.refresh(fetch_delta, fetch_full, NOW).sequence == 7  # nothing held: the full list
    assert state.seen == [(full, "Bearer cst_secret")]
    state.answers["/api/status-list/delta?layout_id=zz&since=7"] = (
        200, sign_status_delta(StatusDelta.between(first, second), pki.key, pki.cert))
    assert cache.refresh(fetch_delta, fetch_full, NOW).digest == second.digest
    state.answers["/api/status-list/delta?layout_id=zz&since=8"] = (204, b"")
    assert fetch_delta(8) is None
    assert cache.refresh(fetch_delta, fetch_full, NOW).sequence == 8  # current: nothing applied
    state.answers["/api/status-list/delta?layout_id=zz&since=8"] = (404, b"")
    with pytest.raises(StatusListGapError):
        fetch_delta(8)
    state.answers[full] = (200, sign_status_list(third, pki.key, pki.cert))
    assert cache.refresh(fetch_delta, fetch_full, NOW).digest == third.digest  # 404 → the full list


def test_unreachable_and_refused(registry: tuple[Registry, str]) -> None:
    state, url = registry
    _fetch_delta, fetch_full = http_fetchers(url, "t", "zz")
    state.answers["/api/status-list?layout_id=zz"] = (401, b"")
    with pytest.raises(StatusUnavailableError, match="HTTP 401"):
        fetch_full()
    _, unreachable = http_fetchers("http://127.0.0.1:9", "t", "zz", timeout=2)
    with pytest.raises(StatusUnavailableError, match="not reachable"):
        unreachable()
