"""The service over the real PC/SC stack: PcscHub lists vpcd's readers, reports insert/remove events from
pcscd, issues a card through the API on one reader and verifies it genuine on the other."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cardsvc.api import ReaderMode, Settings, create_app
from cardsvc.api.auth import Role, issue_token
from simulator import VirtualCard
from tests.api.conftest import SETUP, keys_dir
from tests.pcsc.conftest import InsertCard

__all__ = ["keys_dir"]


@pytest.fixture
def client(tmp_path: Path, keys_dir: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'registry.sqlite3'}", keystore_dir=keys_dir,
                        readers=ReaderMode.PCSC)
    app = create_app(settings)
    with TestClient(app) as c:
        with app.state.ctx.sessions.begin() as s:
            token = issue_token(s, SETUP, role=Role.ADMIN, station_id="pcsc-admin", label="pcsc test",
                                department=None, at=datetime.now(UTC)).token
        yield c, {"Authorization": f"Bearer {token}"}


def _events(c: TestClient, h: dict[str, str], after: int, want: str, reader: str) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body: dict[str, Any] = c.get(f"/api/readers/events?after={after}&timeout=2", headers=h).json()
        for e in body["events"]:
            after = max(after, e["seq"])
            if e["kind"] == want and e["reader"] == reader:
                return after
    raise AssertionError(f"no {want} event for {reader}")


def test_issue_and_verify_through_pcscd(client: tuple[TestClient, dict[str, str]], insert_card: InsertCard,
                                        reader_names: dict[int, str]) -> None:
    c, h = client
    print_reader, counter_reader = reader_names[35963], reader_names[35964]
    start = c.get("/api/readers/events", headers=h).json()["last_seq"]
    blank = insert_card(VirtualCard.blank(), 35963)
    after = _events(c, h, start, "inserted", print_reader)
    readers = {r["name"]: r for r in c.get("/api/readers", headers=h).json()}
    assert readers[print_reader]["present"] and readers[print_reader]["atr"]
    number = c.post("/api/applications/sample", json={"layout_id": "zz", "seed": 21}, headers=h).json()["permit_number"]
    job = c.post("/api/jobs", json={"permit_number": number}, headers=h).json()
    assert c.post(f"/api/jobs/{job['id']}/run", json={"reader": print_reader}, headers=h).status_code == 202
    deadline = time.monotonic() + 30
    while (state := c.get(f"/api/jobs/{job['id']}", headers=h).json())["progress"].get("running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state["state"] == "issued", (state["last_error"], state["progress"])
    blank.remove()  # the simulator saves the personalized image on exit
    _events(c, h, after, "removed", print_reader)
    insert_card(VirtualCard.load(blank.card_file), 35964)
    verdict = c.post("/api/verify/reader", json={"reader": counter_reader}, headers=h).json()
    assert verdict.get("result") == "genuine_valid", verdict
    assert verdict["card_number"] == job["card_number"] and verdict["stats"]["apdus"] > 0


def test_dev_bring_up_puts_blank_cards_in_vpcd_readers(tmp_path: Path) -> None:
    """`make run` with pcscd: vpcd bridges in the service process; issue on one reader, move the card
    (faster than pcscd polls), verify on the other."""
    from devtools.devenv import bring_up

    env = bring_up(tmp_path / "var", use_pcscd=True, samples=1)
    try:
        assert env.settings.readers is ReaderMode.PCSC and env.pcscd is None  # the session's pcscd, reused
        with TestClient(create_app(env.settings, hub=env.hub)) as c:
            h = {"Authorization": f"Bearer {env.admin_token}"}
            deadline = time.monotonic() + 10
            while not all(r["present"] for r in c.get("/api/readers", headers=h).json()):
                assert time.monotonic() < deadline, "blank cards not seen by pcscd"
                time.sleep(0.1)
            number = c.get("/api/permits?status=pending", headers=h).json()[0]["permit_number"]
            job = c.post("/api/jobs", json={"permit_number": number}, headers=h).json()
            assert c.post(f"/api/jobs/{job['id']}/run", json={"reader": "Virtual PCD 00 00"},
                          headers=h).status_code == 202
            while (state := c.get(f"/api/jobs/{job['id']}", headers=h).json())["progress"].get("running"):
                assert time.monotonic() < deadline + 20
                time.sleep(0.05)
            assert state["state"] == "issued", state["last_error"]
            card = next(d for d in c.get("/api/desk", headers=h).json() if d["reader"] == "Virtual PCD 00 00")
            assert card["label"] == job["card_number"]
            c.post("/api/desk/remove", json={"reader": "Virtual PCD 00 00"}, headers=h)
            c.post("/api/desk/remove", json={"reader": "Virtual PCD 00 01"}, headers=h)
            c.post("/api/desk/insert", json={"reader": "Virtual PCD 00 01", "card_id": card["card_id"]}, headers=h)
            verdict = c.post("/api/verify/reader", json={"reader": "Virtual PCD 00 01"}, headers=h).json()
            assert verdict.get("result") == "genuine_valid", verdict
            seen: list[tuple[str, str]] = []
            while ("inserted", "Virtual PCD 00 01") not in seen[2:] and time.monotonic() < deadline + 30:
                events = c.get("/api/readers/events?timeout=1", headers=h).json()["events"]
                seen = [(e["kind"], e["reader"]) for e in events]
            assert ("removed", "Virtual PCD 00 00") in seen and seen[-1] == ("inserted", "Virtual PCD 00 01")
    finally:
        env.close()
        env.hub.close()


def test_sim_cli_start_toggle_stop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cardsvc sim`: virtual cards in vpcd's readers as simulator processes, pulled and stopped by pid file."""
    from cardsvc.cli import main
    from cardsvc.transport.pcsc import list_readers

    def present(name: str) -> bool:
        return next(s.present for s in list_readers() if s.name == name)

    def wait(name: str, want: bool) -> None:
        deadline = time.monotonic() + 10
        while present(name) is not want:
            assert time.monotonic() < deadline, f"{name} present={not want} after 10 s"
            time.sleep(0.1)

    var = str(tmp_path / "var")
    assert main(["sim", "--var", var, "start", "--readers", "1", "--detach", "--json"]) == 0
    started = json.loads(capsys.readouterr().out)
    try:
        wait("Virtual PCD 00 00", True)
        assert main(["sim", "--var", var, "toggle", "--reader", "0"]) == 0
        wait("Virtual PCD 00 00", False)
        assert main(["sim", "--var", var, "toggle", "--reader", "0"]) == 0
        wait("Virtual PCD 00 00", True)
    finally:
        assert main(["sim", "--var", var, "stop", "--reader", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["pid"] == started["pid"]
    wait("Virtual PCD 00 00", False)
    assert (tmp_path / "var" / "cards" / "vpcd-0.cbor").stat().st_size > 0
    assert main(["sim", "--var", var, "toggle", "--reader", "0"]) == 2  # nothing runs any more
