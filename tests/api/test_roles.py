"""Every route × every role: allowed roles get past access control, the others get 403; no token 401.

The required scope of a route is read from its dependencies (`requires_<scope>`), so a new route is in
the matrix without editing this file; ROLE_SCOPES is the policy under test, and the expectations below
restate it in plain words for the issue's examples (a counter cannot issue, a department token cannot
read another department).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from cardsvc.api.app import ROUTERS
from cardsvc.api.auth import ROLE_SCOPES, Role, Scope
from tests.api.conftest import Service

PLACEHOLDERS = {"token_id": "999", "card_id": "card-999", "layout_id": "zz", "application_id": "999",
                "permit_number": "41010520260000001", "job_id": "999", "department": "education",
                "side": "front.png", "card_number": "4101000000009", "record": "education_enrolment",
                "registration_id": "999"}


def _scope(route: APIRoute) -> Scope | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        name = getattr(dep.call, "__name__", "")
        if name.startswith("requires_"):
            return Scope[name.removeprefix("requires_").upper()]
        stack.extend(dep.dependencies)
    return None


def api_routes(service: Service) -> list[tuple[str, str, Scope | None]]:
    out = []
    for route in (r for router in ROUTERS for r in router.routes):
        if isinstance(route, APIRoute) and route.path.startswith("/api"):
            path = re.sub(r"\{(\w+)\}", lambda m: PLACEHOLDERS[m.group(1)], route.path)
            for method in sorted(route.methods):
                out.append((method, path, _scope(route)))
    return out


def test_every_api_route_but_me_names_a_scope(service: Service) -> None:
    routes = api_routes(service)
    assert len(routes) >= 30
    assert [(m, p) for m, p, s in routes if s is None] == [("GET", "/api/me")]


def test_route_role_matrix(service: Service) -> None:
    checked = 0
    for method, path, scope in api_routes(service):
        kwargs: dict[str, Any] = {}
        if method == "POST":
            kwargs = {"files": {"file": ("x.cbor", b"\xa0")}} if path.endswith("/image") else {"json": {}}
        anonymous = service.client.request(method, path, **kwargs)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.headers["content-type"] == "application/problem+json"
        for role in Role:
            response = service.client.request(method, path, headers=service.headers(role), **kwargs)
            allowed = scope is None or scope in ROLE_SCOPES[role]
            if allowed:
                assert response.status_code not in (401, 403), (role, method, path, response.text)
                assert response.status_code < 500, (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.text)
                body = response.json()
                assert body["status"] == 403 and role.value in body["detail"]
            checked += 1
    assert checked >= 30 * len(Role)


@pytest.mark.parametrize(("role", "scope", "allowed"), [
    (Role.COUNTER, Scope.ISSUE, False),  # issue 7 item 2: a counter cannot issue
    (Role.COUNTER, Scope.VERIFY, True),
    (Role.PRINT_STATION, Scope.VERIFY, False),
    (Role.PRINT_STATION, Scope.ISSUE, True),
    (Role.ENDORSEMENT, Scope.ENDORSE, True),
    (Role.ENDORSEMENT, Scope.STATUS_CHANGE, False),
    (Role.DEPARTMENT, Scope.PERMITS_READ, False),  # a department sees its own application data only
    (Role.DEPARTMENT, Scope.DEPARTMENT_DATA, True),
    (Role.ADMIN, Scope.TOKENS, True),
    (Role.COUNTER, Scope.TOKENS, False),
])
def test_policy_examples(role: Role, scope: Scope, allowed: bool) -> None:
    assert (scope in ROLE_SCOPES[role]) is allowed


def test_department_token_reads_only_its_department(service: Service) -> None:
    number = service.call(Role.ADMIN, "POST", "/api/applications/sample",
                          json={"layout_id": "zz", "seed": 11}).json()["permit_number"]  # type: ignore[attr-defined]
    own = service.call(Role.DEPARTMENT, "GET", f"/api/departments/education/permits/{number}")
    assert own.status_code == 200 and own.json()["department"] == "education"  # type: ignore[attr-defined]
    other = service.call(Role.DEPARTMENT, "GET", f"/api/departments/housing/permits/{number}")
    assert other.status_code == 403 and "education" in other.json()["detail"]  # type: ignore[attr-defined]
    housing = service.client.get(f"/api/departments/education/permits/{number}",
                                 headers={"Authorization": f"Bearer {service.other_department_token}"})
    assert housing.status_code == 403
    assert service.call(Role.DEPARTMENT, "GET", f"/api/permits/{number}").status_code == 403  # type: ignore[attr-defined]


def test_bad_unknown_and_revoked_tokens(service: Service) -> None:
    assert service.client.get("/api/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert service.client.get("/api/me", headers={"Authorization": "Bearer cst_unknown"}).status_code == 401
    tokens = service.call(Role.ADMIN, "GET", "/api/tokens").json()  # type: ignore[attr-defined]
    counter = next(t for t in tokens if t["role"] == "counter")
    assert "token" not in counter  # only hashes are stored; a listing never shows a token
    assert service.call(Role.ADMIN, "DELETE", f"/api/tokens/{counter['id']}").status_code == 200  # type: ignore[attr-defined]
    refused = service.call(Role.COUNTER, "GET", "/api/me")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]  # type: ignore[attr-defined]


def test_pages_need_a_session_and_the_pages_scope(service: Service) -> None:
    client = service.client
    assert client.get("/counter", follow_redirects=False).status_code == 303
    assert client.post("/login", data={"token": "cst_wrong"}, follow_redirects=False).headers["location"] \
        == "/login?error=1"
    login = client.post("/login", data={"token": service.tokens[Role.COUNTER]}, follow_redirects=False)
    assert login.headers["location"] == "/counter"
    assert client.get("/counter").status_code == 200
    assert client.get("/print").status_code == 403  # a counter never sees the print station
    client.post("/login", data={"token": service.tokens[Role.PRINT_STATION]})
    assert client.get("/print").status_code == 200
    assert client.get("/counter").status_code == 403
    client.cookies.clear()
