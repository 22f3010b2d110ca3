"""Cross-surface fixtures: the service (FastAPI TestClient on in-process virtual readers) and the CLI
(`python -m cardsvc.cli` in a subprocess) on one registry, SQLite or PostgreSQL, with one key store.

The PostgreSQL cluster and the per-test databases are the registry tier's fixtures, imported here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cardsvc.api import ReaderMode, Settings, create_app
from cardsvc.api.auth import Role, issue_token
from cardsvc.api.context import AppContext
from cardsvc.registry.audit import Actor
from cardsvc.security.keystore import PASSPHRASE_ENV
from tests.registry.conftest import db_url, pg_cluster, pg_shared, sqlite_template  # noqa: F401

READERS = ("Virtual Reader 0", "Virtual Reader 1")
SETUP = Actor("test-setup", "pytest", "admin")
ROLES = {Role.ADMIN: "admin-1", Role.PRINT_STATION: "print-1", Role.COUNTER: "counter-1",
         Role.ENDORSEMENT: "endorse-1", Role.DEPARTMENT: "edu-1"}


@dataclass
class Cli:
    """`python -m cardsvc.cli` with the registry, key store and layouts directory of the test."""

    env: dict[str, str]

    def run(self, *args: str, ok: bool = True) -> Any:
        done = subprocess.run([sys.executable, "-m", "cardsvc.cli", *args, "--json"], env=self.env,
                              capture_output=True, text=True, timeout=180, check=False)
        if ok:
            assert done.returncode == 0, f"cardsvc {' '.join(args)}: {done.returncode}\n{done.stderr}{done.stdout}"
        return json.loads(done.stdout) if done.stdout.strip() else None


def make_cli(db: str, keystore: Path, layouts_dir: Path | None) -> Cli:
    env = {**os.environ, "CARDSVC_DB_URL": db, "CARDSVC_KEYSTORE": str(keystore), "CARDSVC_STATION": "cli-1",
           "CARDSVC_OPERATOR": "pytest"}
    env.setdefault(PASSPHRASE_ENV, "cross-tests-" + os.urandom(8).hex())
    os.environ.setdefault(PASSPHRASE_ENV, env[PASSPHRASE_ENV])  # the service in this process opens the same store
    if layouts_dir is not None:
        env["CARDSVC_LAYOUTS_DIR"] = str(layouts_dir)
    else:
        env.pop("CARDSVC_LAYOUTS_DIR", None)
    return Cli(env)


@dataclass
class Api:
    client: TestClient
    tokens: dict[Role, str]

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.client.app.state.ctx  # type: ignore[attr-defined]
        return ctx

    def call(self, role: Role, method: str, path: str, **kw: Any) -> Any:
        return self.client.request(method, path, headers={"Authorization": f"Bearer {self.tokens[role]}"}, **kw)

    def ok(self, role: Role, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = self.call(role, method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def wait_job(self, job_id: int, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self.ok(Role.PRINT_STATION, "GET", f"/api/jobs/{job_id}")
            if not job["progress"].get("running"):
                return job
            assert time.monotonic() < deadline, job
            time.sleep(0.02)

    def run_job(self, job_id: int, reader: str = READERS[0]) -> dict[str, Any]:
        """A blank card into `reader`, the job run on it, until it stops."""
        self.ok(Role.PRINT_STATION, "POST", "/api/desk/insert", json={"reader": reader})
        self.ok(Role.PRINT_STATION, "POST", f"/api/jobs/{job_id}/run", 202, json={"reader": reader})
        return self.wait_job(job_id)


def published_status_list(api: Api, layout_id: str) -> bytes:
    """The city's signed status list (COSE) the service publishes, as an offline counter caches it."""
    r = api.call(Role.DEPARTMENT, "GET", f"/api/status-list?layout_id={layout_id}")
    assert r.status_code == 200, r.text
    return bytes(r.content)


@pytest.fixture
def api_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Opens the service on a registry and key store, with a layouts directory (None: the shipped ones)."""
    opened: list[TestClient] = []

    def open_api(db: str, keystore: Path, layouts_dir: Path | None) -> Api:
        if layouts_dir is not None:
            monkeypatch.setenv("CARDSVC_LAYOUTS_DIR", str(layouts_dir))
        else:
            monkeypatch.delenv("CARDSVC_LAYOUTS_DIR", raising=False)
        settings = Settings(database_url=db, keystore_dir=keystore, readers=ReaderMode.VIRTUAL,
                            virtual_readers=READERS, dev=True, layouts_dir=layouts_dir)
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        ctx: AppContext = client.app.state.ctx  # type: ignore[attr-defined]
        tokens = {}
        with ctx.sessions.begin() as s:
            for role, station in ROLES.items():
                tokens[role] = issue_token(s, SETUP, role=role, station_id=station, label=role.value,
                                           department="education" if role is Role.DEPARTMENT else None,
                                           at=datetime.now(UTC)).token
        return Api(client, tokens)

    yield open_api
    for client in reversed(opened):
        client.__exit__(None, None, None)
