"""Service fixtures: keys from a key ceremony at test time, a fresh registry per test, one token per role,
in-process virtual readers. Nothing here touches pcscd or a TCP port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cardsvc.api import ReaderMode, Settings, create_app
from cardsvc.api.auth import Role, issue_token
from cardsvc.api.context import AppContext
from cardsvc.issuance.plan import layout_key_roles
from cardsvc.layout import builtin_layouts
from cardsvc.registry.audit import Actor
from cardsvc.security import ceremony
from cardsvc.security.keystore import PASSPHRASE_ENV, EncryptedFileKeyStore

READERS = ("Virtual Reader 0", "Virtual Reader 1")
SETUP = Actor("test-setup", "pytest", "admin")
# One token per role; the department token belongs to education (a department both cities declare).
ROLE_STATIONS = {Role.ADMIN: ("admin-1", None), Role.PRINT_STATION: ("print-1", None),
                 Role.COUNTER: ("counter-1", None), Role.ENDORSEMENT: ("endorse-1", None),
                 Role.DEPARTMENT: ("edu-1", "education")}


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development key ceremony for the whole session (every authority and role of both layouts)."""
    os.environ.setdefault(PASSPHRASE_ENV, "api-tests-" + os.urandom(8).hex())
    path = tmp_path_factory.mktemp("keys") / "keys"
    layouts = builtin_layouts()
    authorities = sorted({(a.code, a.name) for layout in layouts for a in layout.authorities})
    roles = sorted({r for layout in layouts for r in layout_key_roles(layout)})
    ceremony.init_key_ceremony(EncryptedFileKeyStore.for_layouts(path, layouts), authorities, roles=roles)
    return path


@dataclass
class Service:
    app: FastAPI
    client: TestClient
    tokens: dict[Role, str]
    other_department_token: str

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.app.state.ctx
        return ctx

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, role: Role, method: str, path: str, **kw: object) -> object:
        return self.client.request(method, path, headers=self.headers(role), **kw)  # type: ignore[arg-type]


def make_service(tmp_path: Path, keys_dir: Path, *, database_url: str | None = None,
                 expires_at: datetime | None = None) -> Iterator[Service]:
    """The dev service on in-process virtual readers, a token per role (and another department's); the
    registry is a fresh SQLite file unless `database_url` names one; `expires_at` overrides the roles'
    default token lifetime (for tests whose clock runs ahead)."""
    url = database_url or f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    settings = Settings(database_url=url, keystore_dir=keys_dir, readers=ReaderMode.VIRTUAL,
                        virtual_readers=READERS, dev=True)
    app = create_app(settings)
    with TestClient(app) as client:
        ctx: AppContext = app.state.ctx
        tokens = {}
        with ctx.sessions.begin() as s:
            for role, (station, department) in ROLE_STATIONS.items():
                tokens[role] = issue_token(s, SETUP, role=role, station_id=station, label=f"{role.value} operator",
                                           department=department, at=datetime.now(UTC), expires_at=expires_at).token
            other = issue_token(s, SETUP, role=Role.DEPARTMENT, station_id="housing-1", label="housing",
                                department="housing", at=datetime.now(UTC), expires_at=expires_at).token
        yield Service(app, client, tokens, other)


@pytest.fixture
def service(tmp_path: Path, keys_dir: Path) -> Iterator[Service]:
    yield from make_service(tmp_path, keys_dir)
