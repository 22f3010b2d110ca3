"""Issue 13: tokens expire (a default per role, settable from the API and the CLI) and a page session
(the login cookie) idles out."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cardsvc.api.auth import PAGE_IDLE, TOKEN_LIFETIME, Role
from cardsvc.cli import main
from tests.api.conftest import Service


def test_api_tokens_expire_by_role_default_or_as_asked(service: Service) -> None:
    r = service.call(Role.ADMIN, "POST", "/api/tokens", json={"role": "counter", "station_id": "c9", "label": "x"})
    default = r.json()  # type: ignore[attr-defined]
    issued_at = service.ctx.clock()
    expires = dt.datetime.fromisoformat(default["expires_at"])
    assert abs(expires - (issued_at + TOKEN_LIFETIME[Role.COUNTER])) < dt.timedelta(minutes=1)
    r = service.call(Role.ADMIN, "POST", "/api/tokens",
                     json={"role": "counter", "station_id": "c9", "label": "x", "expires_in_hours": 2})
    short = r.json()  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {short['token']}"}
    assert service.client.get("/api/me", headers=headers).status_code == 200
    real_clock = service.ctx.clock
    service.ctx.clock = lambda: real_clock() + dt.timedelta(hours=3)
    try:
        expired = service.client.get("/api/me", headers=headers)
    finally:
        service.ctx.clock = real_clock
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    too_long = service.call(Role.ADMIN, "POST", "/api/tokens",
                            json={"role": "counter", "station_id": "c9", "label": "x", "expires_in_hours": 10**6})
    assert too_long.status_code == 422  # type: ignore[attr-defined]


def test_a_page_session_idles_out(service: Service) -> None:
    client = service.client
    login = client.post("/login", data={"token": service.tokens[Role.COUNTER]}, follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/counter"
    assert client.get("/api/me").status_code == 200  # the cookie, in use
    real_clock = service.ctx.clock
    service.ctx.clock = lambda: real_clock() + PAGE_IDLE + dt.timedelta(minutes=1)
    try:
        idle = client.get("/api/me")
        page = client.get("/counter", follow_redirects=False)
        bearer = service.call(Role.COUNTER, "GET", "/api/me")  # the same token as an API client: no idle rule
    finally:
        service.ctx.clock = real_clock
        client.cookies.clear()
    assert idle.status_code == 401 and "idle" in idle.json()["detail"]
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert bearer.status_code == 200  # type: ignore[attr-defined]


def test_cli_sets_a_token_lifetime(service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    url = str(service.ctx.engine.url.render_as_string(hide_password=False))
    assert main(["tokens", "--db", url, "issue", "--role", "print_station", "--station", "p9", "--label", "x",
                 "--expires-in", "12", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lifetime = dt.datetime.fromisoformat(out["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=11, minutes=59) < lifetime <= dt.timedelta(hours=12)
