"""Scenario fixtures (issue 12): the service on SQLite and on PostgreSQL (the registry tier's throwaway
cluster), with a clock the scenario moves day by day, in-process virtual readers, one token per role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cardsvc.api import ReaderMode, Settings, create_app
from cardsvc.api.auth import issue_token
from cardsvc.api.context import AppContext
from tests.api.conftest import READERS, ROLE_STATIONS, SETUP, Service, keys_dir, service  # noqa: F401 (fixtures)
from tests.registry.conftest import _truncate_all, pg_cluster, pg_shared  # noqa: F401 (fixtures)


class Clock:
    """The service's clock: a fixed instant the scenario sets (China noon of a day)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(params=["sqlite", "postgresql"])
def svc(request: pytest.FixtureRequest, tmp_path: Path, keys_dir: Path) -> Iterator[Service]:  # noqa: F811
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_shared")
        _truncate_all(url)
    settings = Settings(database_url=url, keystore_dir=keys_dir, readers=ReaderMode.VIRTUAL,
                        virtual_readers=READERS, dev=True)
    app = create_app(settings)
    with TestClient(app) as client:
        ctx: AppContext = app.state.ctx
        tokens = {}
        with ctx.sessions.begin() as s:
            for role, (station, department) in ROLE_STATIONS.items():
                tokens[role] = issue_token(s, SETUP, role=role, station_id=station, label=role.value,
                                           department=department, at=datetime.now(UTC)).token
        yield Service(app, client, tokens, "")
