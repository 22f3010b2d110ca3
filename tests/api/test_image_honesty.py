"""Issue 13 item 4: a card image proves data, not a chip. Outside dev mode `/api/verify/image` reports
the chip check as not run and never `genuine_valid`; the secret-bearing image download is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cardsvc.api import ReaderMode, Settings, create_app
from cardsvc.api.auth import Role, issue_token
from cardsvc.api.context import AppContext
from tests.api.conftest import READERS, ROLE_STATIONS, SETUP, Service
from tests.api.helpers import issue


@pytest.fixture
def production(tmp_path: Path, keys_dir: Path) -> Iterator[Service]:
    """The service as deployed (dev off), on in-process virtual readers so a card can be issued."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'registry.sqlite3'}", keystore_dir=keys_dir,
                        readers=ReaderMode.VIRTUAL, virtual_readers=READERS, dev=False)
    app = create_app(settings)
    with TestClient(app) as client:
        ctx: AppContext = app.state.ctx
        with ctx.sessions.begin() as s:
            tokens = {role: issue_token(s, SETUP, role=role, station_id=station, label=role.value,
                                        department=department, at=datetime.now(UTC)).token
                      for role, (station, department) in ROLE_STATIONS.items()}
        yield Service(app, client, tokens, "")


def test_an_image_is_never_genuine_valid_outside_dev_mode(production: Service) -> None:
    issue(production, "zz", seed=12)
    card = production.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]}).json()  # type: ignore[attr-defined]
    assert card["result"] == "genuine_valid", card  # the card itself in a reader: its chip answered
    assert "image" not in next(c for c in card["checks"] if c["check"] == "chip_auth")["detail"]
    desk = production.ctx.hub.desk
    assert desk is not None
    card_id = desk.cards()[0].card_id
    # Secret keys leave only a dev service, and only to an admin.
    assert production.call(Role.COUNTER, "GET", f"/api/desk/{card_id}/image").status_code == 403  # type: ignore[attr-defined]
    refused = production.call(Role.ADMIN, "GET", f"/api/desk/{card_id}/image")
    assert refused.status_code == 403 and refused.json()["type"].endswith("dev-only")  # type: ignore[attr-defined]
    image = desk.image(card_id)  # what someone with the card's image holds
    r = production.call(Role.COUNTER, "POST", "/api/verify/image", files={"file": ("card.cbor", image)})
    verdict = r.json()  # type: ignore[attr-defined]
    assert r.status_code == 200 and verdict["result"] == "cloned" and not verdict["valid"]  # type: ignore[attr-defined]
    chip = next(c for c in verdict["checks"] if c["check"] == "chip_auth")
    assert chip["outcome"] == "not_run" and "not a chip" in chip["detail"]
    passive = next(c for c in verdict["checks"] if c["check"] == "passive_auth")
    assert passive["outcome"] == "pass"  # the data itself is proven
