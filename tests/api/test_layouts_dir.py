"""The service reads its city layouts from the one settings object (CARDSVC_LAYOUTS_DIR, issue 11 item 4)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cardsvc.api import create_app
from cardsvc.api.auth import Role, issue_token
from cardsvc.registry.audit import Actor
from cardsvc.settings import Settings
from tests.unit.test_settings import layouts_dir


def test_the_service_takes_its_layouts_from_the_setting(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'r.sqlite3'}", layouts_dir=layouts_dir(tmp_path / "l"))
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.ctx.sessions.begin() as s:
            token = issue_token(s, Actor("test", "t", "admin"), role=Role.ADMIN, station_id="t-1", label="t",
                                department=None, at=app.state.ctx.clock()).token
        listed = client.get("/api/layouts", headers={"Authorization": f"Bearer {token}"}).json()
    assert [lay["id"] for lay in listed] == ["zz-copy"]
