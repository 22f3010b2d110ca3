"""Status routes at scale's shape: the published list, deltas from a counter's sequence applied by the
counter cache, 204 when current, 404 for a sequence no longer kept; the cached principal of the async
status route forgets a token this process revokes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx2 as httpx

from cardsvc.api.auth import Role
from cardsvc.status_list import ListStatus, StatusListCache, open_status_list
from tests.api.conftest import Service
from tests.api.helpers import sample_permit

DELTA = "/api/status-list/delta?layout_id=zz&since="


def call(service: Service, role: Role, method: str, path: str, **kw: Any) -> httpx.Response:
    return service.client.request(method, path, headers=service.headers(role), **kw)


def test_full_list_then_delta_applied_at_the_counter(service: Service, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    trust = service.ctx.station_keys().trust()
    first = call(service, Role.COUNTER, "GET", "/api/status-list?layout_id=zz")
    assert first.status_code == 200 and first.headers["content-type"] == "application/cose"
    cache = StatusListCache(tmp_path / "status.cose", trust, dt.timedelta(hours=24), issuer="410100", now=now)
    held = cache.update(first.content, now)
    # Unchanged registry: the same publication again, and no delta to fetch.
    assert call(service, Role.COUNTER, "GET", "/api/status-list?layout_id=zz").content == first.content
    assert call(service, Role.COUNTER, "GET", DELTA + f"{held.sequence}").status_code == 204
    # A job allocates a card number: published as not issued (design §7) through a delta.
    number = sample_permit(service, "zz", seed=21)
    job = call(service, Role.PRINT_STATION, "POST", "/api/jobs", json={"permit_number": number}).json()
    delta = call(service, Role.COUNTER, "GET", DELTA + f"{held.sequence}")
    assert delta.status_code == 200, delta.text
    after = cache.apply_delta(delta.content, now)
    assert after.sequence > held.sequence
    assert cache.lookup(job["card_number"], now).status is ListStatus.NOT_ISSUED
    full = open_status_list(call(service, Role.COUNTER, "GET", "/api/status-list?layout_id=zz").content, trust, now)
    assert full.sequence == after.sequence and full.digest == after.digest
    missing = call(service, Role.COUNTER, "GET", DELTA + "7")
    assert missing.status_code == 404 and "full list" in missing.json()["detail"]
    ahead = call(service, Role.COUNTER, "GET", DELTA + f"{after.sequence + 10}")
    assert ahead.status_code == 422 and "newer" in ahead.json()["detail"]  # a counter ahead: refused


def test_online_status_route_and_revocation(service: Service) -> None:
    number = sample_permit(service, "smx", seed=22)
    job = call(service, Role.PRINT_STATION, "POST", "/api/jobs", json={"permit_number": number}).json()
    path = f"/api/status/{job['card_number']}"
    answer = call(service, Role.COUNTER, "GET", path)
    assert answer.status_code == 200 and answer.json()["status"] == "not_issued"
    assert call(service, Role.COUNTER, "GET", path[:-1] + ("0" if path[-1] != "0" else "1")).status_code == 404
    # The process's status connection holds no snapshot: a change made since is answered at once.
    cancelled = call(service, Role.COUNTER, "POST", f"/api/permits/{number}/status",
                     json={"action": "cancel", "note": "holder left the city"})
    assert cancelled.status_code == 200, cancelled.text
    changed = call(service, Role.COUNTER, "GET", path).json()["status"]
    assert changed != "not_issued", changed
    assert service.client.get(path).status_code == 401
    assert call(service, Role.DEPARTMENT, "GET", path).status_code == 200  # STATUS_LIST scope
    tokens = call(service, Role.ADMIN, "GET", "/api/tokens").json()
    counter = next(t for t in tokens if t["role"] == "counter" and not t["revoked"])
    assert call(service, Role.ADMIN, "DELETE", f"/api/tokens/{counter['id']}").status_code == 200
    refused = call(service, Role.COUNTER, "GET", path)  # was cached a moment ago: the revocation applies now
    assert refused.status_code == 401
