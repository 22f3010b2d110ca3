"""ZZ Art.14 change registration of the service place through the real PC/SC stack (pyscard → pcscd → vpcd →
simulator): a card issued through the service on one reader, the change written to it on the other by the
endorsement writer (secure messaging, APPEND RECORD), then the counter verifier reads the signed record.

ZZ Art.14 "居住证持有人现居住地址、服务处所等登记事项发生变更的，应当自变更之日起 7 日内，到现居住地公安派出所办理
变更登记"."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from simulator import VirtualCard
from tests.pcsc.conftest import InsertCard
from tests.pcsc.test_service_pcsc import _events, client, keys_dir

__all__ = ["client", "keys_dir"]

SERVICE_PLACE = "郑州𠈌园物流有限公司"


def test_service_place_change_through_pcscd(client: tuple[TestClient, dict[str, str]], insert_card: InsertCard,
                                            reader_names: dict[int, str]) -> None:
    c, h = client
    print_reader, counter_reader = reader_names[35963], reader_names[35964]
    start = c.get("/api/readers/events", headers=h).json()["last_seq"]
    blank = insert_card(VirtualCard.blank(), 35963)
    after = _events(c, h, start, "inserted", print_reader)
    number = c.post("/api/applications/sample", json={"layout_id": "zz", "seed": 23}, headers=h).json()["permit_number"]
    job = c.post("/api/jobs", json={"permit_number": number}, headers=h).json()
    assert c.post(f"/api/jobs/{job['id']}/run", json={"reader": print_reader}, headers=h).status_code == 202
    deadline = time.monotonic() + 30
    while (state := c.get(f"/api/jobs/{job['id']}", headers=h).json())["progress"].get("running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state["state"] == "issued", (state["last_error"], state["progress"])
    blank.remove()
    _events(c, h, after, "removed", print_reader)
    insert_card(VirtualCard.load(blank.card_file), 35964)
    changed_on = (datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=3)  # China date, 3 days ago
    r = c.post("/api/endorsements", headers=h, json={
        "permit_number": number, "kind": "service_place_change", "service_place": SERVICE_PLACE,
        "changed_on": changed_on.isoformat(), "reader": counter_reader})
    assert r.status_code == 201, r.text
    assert r.json()["seq"] == 1 and r.json()["card_sync"] == "written" and r.json()["late"] is False, r.json()
    verdict = c.post("/api/verify/reader", json={"reader": counter_reader}, headers=h).json()
    assert verdict.get("result") == "genuine_valid", verdict
    assert verdict["display"]["current_service_place"] == SERVICE_PLACE
    assert [x["service_place"] for x in verdict["display"]["changes"]] == [SERVICE_PLACE]
