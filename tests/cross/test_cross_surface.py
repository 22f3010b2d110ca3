"""One registry, two doors (issue 11): a permit registered through the API is issued, endorsed and
status-changed through the CLI, and one registered through the CLI goes on through the API; on SQLite
and on PostgreSQL. Both read and write the same permit record (cardsvc.permit.record)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from cardsvc.api.auth import Role
from cardsvc.layout import builtin_layout
from cardsvc.registry.lookup import permit_by_number
from tests.cross.conftest import READERS, Api, make_cli, published_status_list


def _verify(cli: Any, api: Api, tmp_path: Path, layout_id: str, card: Path) -> dict[str, Any]:
    (tmp_path / "status.cose").write_bytes(published_status_list(api, layout_id))
    verdict: dict[str, Any] = cli.run("verify", "--layout", layout_id, "--card", str(card), "--show-data",
                                      "--status-list", str(tmp_path / "status.cose"), ok=False)
    return verdict


def test_registered_through_the_api_then_the_cli(db_url: str, tmp_path: Path, api_factory: Any) -> None:
    keys, card = tmp_path / "keys", tmp_path / "card.cbor"
    cli = make_cli(db_url, keys, None)
    cli.run("keys", "init")
    api: Api = api_factory(db_url, keys, None)
    number = api.ok(Role.COUNTER, "POST", "/api/applications/sample", 201,
                    json={"layout_id": "zz", "seed": 21})["permit_number"]
    # The station issues the counter's permit: a card number of its own, the day it is made.
    issued = cli.run("issue", "--layout", "zz", "--card", str(card), "--permit-number", number, "--quiet")
    assert issued["issued"] == 1, issued
    card_number = issued["cards"][0]["card_number"]
    assert card_number.startswith(builtin_layout("zz").card_number.prefix)
    verdict = _verify(cli, api, tmp_path, "zz", card)
    assert verdict["result"] == "genuine_valid" and verdict["display"]["permit_number"] == number, verdict
    permit = api.ok(Role.COUNTER, "GET", f"/api/permits/{number}")
    assert permit["status"] == "active" and permit["card_number"] == card_number
    assert permit["data"]["issue_date"] == dt.date.today().isoformat()
    # ZZ Art.14: a change of address, endorsed on the card by the CLI.
    county = next(a.code for a in builtin_layout("zz").authorities if a.code != permit["data"]["authority"]["code"])
    endorsed = cli.run("endorse", "--layout", "zz", "--card", str(card), "--permit-number", number,
                       "--new-county", county, "--address", "郑州市金水区花园路9号")
    assert endorsed["written"] == [1], endorsed
    listed = api.ok(Role.ENDORSEMENT, "GET", f"/api/endorsements?permit_number={number}")
    assert [e["card_sync"] for e in listed] == ["written"]
    verdict = _verify(cli, api, tmp_path, "zz", card)
    assert verdict["result"] == "genuine_valid", verdict
    assert verdict["endorsements"][0]["residence_address"] == "郑州市金水区花园路9号"
    # ZZ Art.16: the CLI records the loss; the service and the counter see it.
    assert cli.run("status", "--permit-number", number, "--report-lost")["status"] == "lost"
    assert api.ok(Role.COUNTER, "GET", f"/api/status/{card_number}")["status"] == "lost"
    assert _verify(cli, api, tmp_path, "zz", card)["result"] == "lost"


def test_registered_through_the_cli_then_the_api(db_url: str, tmp_path: Path, api_factory: Any) -> None:
    keys, card = tmp_path / "keys", tmp_path / "card.cbor"
    cli = make_cli(db_url, keys, None)
    cli.run("keys", "init")
    issued = cli.run("issue", "--layout", "smx", "--card", str(card), "--sample", "1", "--seed", "5", "--quiet")
    assert issued["issued"] == 1, issued
    number, first_card = issued["cards"][0]["permit_number"], issued["cards"][0]["card_number"]
    api: Api = api_factory(db_url, keys, None)
    permit = api.ok(Role.COUNTER, "GET", f"/api/permits/{number}")
    assert permit["status"] == "active" and permit["card_number"] == first_card
    image = {"file": ("card.cbor", card.read_bytes())}
    assert api.ok(Role.COUNTER, "POST", "/api/verify/image", files=image)["result"] == "genuine_valid"
    # ZZ Art.16-17 / SMX Art.20: loss report, then a replacement made by the service's print station.
    api.ok(Role.COUNTER, "POST", f"/api/permits/{number}/status", json={"action": "report_lost", "note": "lost"})
    assert api.ok(Role.COUNTER, "POST", "/api/verify/image", files=image)["result"] == "lost"
    job = api.ok(Role.PRINT_STATION, "POST", "/api/jobs", 201, json={"permit_number": number, "event": "replacement"})
    done = api.run_job(job["id"])
    assert done["state"] == "issued" and done["card_number"] != first_card, done
    # SMX Art.17 ¶1: a new address in the same county, endorsed on the new card in the reader.
    county = permit["data"]["authority"]["code"]
    moved = api.ok(Role.ENDORSEMENT, "POST", "/api/endorsements", 201, json={
        "permit_number": number, "kind": "address_change", "new_county": county,
        "moved_on": dt.date.today().isoformat(), "residence_address": "三门峡市湖滨区崤山路8号", "reader": READERS[0]})
    assert moved["card_sync"] == "written", moved
    verdict = api.ok(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]})
    assert verdict["result"] == "genuine_valid" and verdict["card_number"] == done["card_number"], verdict
    assert verdict["display"]["endorsements"][0]["residence_address"] == "三门峡市湖滨区崤山路8号"
    status = cli.run("status", "--permit-number", number)
    assert [c["card_number"] for c in status["cards"]] == [first_card, done["card_number"]], status
    assert status["cards"][1]["status"] == "active" and status["cards"][0]["status"] != "active", status
    assert [e["on_card"] for e in status["endorsements"]] == ["written"]


@pytest.mark.parametrize("shape", ["service, no format key", "cardsvc.permit/1"])
def test_rows_of_the_former_shapes_are_issued_by_the_cli(db_url: str, tmp_path: Path, api_factory: Any,
                                                         shape: str) -> None:
    """The bug this issue starts from: a permit the service stored could not be issued by the CLI."""
    keys, card = tmp_path / "keys", tmp_path / "card.cbor"
    cli = make_cli(db_url, keys, None)
    cli.run("keys", "init")
    api: Api = api_factory(db_url, keys, None)
    number = api.ok(Role.COUNTER, "POST", "/api/applications/sample", 201,
                    json={"layout_id": "smx", "seed": 33})["permit_number"]
    with api.ctx.sessions.begin() as s:  # rewrite the row as the former writers stored it
        row = permit_by_number(s, number)
        data = {k: v for k, v in row.data.items() if k != "format"}
        if shape == "cardsvc.permit/1":
            data = {"format": shape, **{k: v for k, v in data.items() if v is not None}}
            data["endorsements"] = [{k: v for k, v in e.items() if k != "signature"} for e in data["endorsements"]]
        row.data = data
    issued = cli.run("issue", "--layout", "smx", "--card", str(card), "--permit-number", number, "--quiet")
    assert issued["issued"] == 1, issued
    assert _verify(cli, api, tmp_path, "smx", card)["result"] == "genuine_valid"
    assert api.ok(Role.COUNTER, "GET", f"/api/permits/{number}")["data"]["format"] == "cardsvc.permit/2"
