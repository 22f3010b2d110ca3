"""Card generations carry the permit forward; the old card keeps its own status.

SMX Art.20 "居住证损坏难以辨认或丢失的 … 办理换领、补领手续。换领新居住证的，应当交回原证件"; ZZ Art.16 "居住证遗失
… 应先 … 办理挂失手续 … 补办"; ZZ Art.17 (loss effective from the report); ZZ Art.27 (correction); ZZ Art.25
"持证人离开居住地的，应当及时到原发证机关申请办理注销手续"; SMX Art.16 / ZZ Art.13 (yearly endorsement).

The whole life through the API, every card a virtual card in a reader, every verdict the counter's:
first issue → endorse → lose → replace (补领) → endorse → renew (换领) → correct → cancel.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cardsvc.api.auth import Role
from cardsvc.layout import builtin_layout
from cardsvc.registry import jobs as registry_jobs
from cardsvc.registry.lookup import permit_by_number
from cardsvc.registry.models import FeeRecord, JobState
from cardsvc.rules.dates import add_years
from tests.api.conftest import READERS, Service
from tests.api.helpers import wait_job
from tests.scenarios.support import (
    TODAY,
    apply_ok,
    card_status,
    endorse,
    insert_card,
    issue_ok,
    set_day,
    status,
    verify,
)

A1 = add_years(TODAY, 1)
A2 = add_years(TODAY, 2)


def _fees(svc: Service, number: str) -> list[str]:
    audit = svc.call(Role.ADMIN, "GET", f"/api/audit?permit_number={number}&limit=500").json()
    return [a["action"] for a in audit if a["action"].startswith("fee")]


@pytest.mark.parametrize("layout_id", ["smx", "zz"])
def test_lifecycle_path(svc: Service, layout_id: str) -> None:
    number = apply_ok(svc, layout_id, 31, TODAY)
    card1 = issue_ok(svc, number)
    # Yearly endorsement on time (SMX Art.16 / ZZ Art.13): record 1, validity to the second anniversary.
    set_day(svc, A1 - timedelta(days=5))
    r = endorse(svc, number, kind="yearly")
    assert r.status_code == 201 and r.json()["seq"] == 1 and r.json()["card_sync"] == "written", r.text
    assert date.fromisoformat(r.json()["valid_until"]) == A2
    # Loss reported (ZZ Art.16), then replacement (补领) on a new blank card.
    set_day(svc, A1 + timedelta(days=10))
    assert status(svc, number, "report_lost").status_code == 200
    card2 = issue_ok(svc, number, "replacement")
    v2 = verify(svc)
    assert v2["card_number"] == card2 and v2["result"] == "genuine_valid", v2  # same validity as before
    assert len(v2["display"].get("endorsements", [])) == 1
    # The lost card stays LOST (ZZ Art.16-17): online, in the status list and at the counter.
    assert card_status(svc, card1)["status"] == "lost"
    insert_card(svc, card1)
    v1 = verify(svc, READERS[1])
    assert v1["card_number"] == card1 and v1["result"] == "lost" and v1["genuine"], v1
    # The next yearly endorsement appends record 2 to the replacement card.
    set_day(svc, A2 - timedelta(days=3))
    r = endorse(svc, number, kind="yearly")
    assert r.status_code == 201 and r.json()["seq"] == 2 and r.json()["card_sync"] == "written", r.text
    v2 = verify(svc)
    assert v2["result"] == "genuine_valid" and len(v2["display"]["endorsements"]) == 2, v2
    # Renewal (换领) of a damaged card: the old card handed back ends REVOKED_RENEWED (SMX Art.20).
    set_day(svc, A2 + timedelta(days=20))
    card3 = issue_ok(svc, number, "renewal", old_card_returned=True)
    v3 = verify(svc)
    assert v3["card_number"] == card3 and v3["result"] == "genuine_valid", v3
    assert len(v3["display"]["endorsements"]) == 2
    assert card_status(svc, card2)["status"] == "revoked_renewed"
    insert_card(svc, card2)
    v_old = verify(svc, READERS[1])
    assert v_old["result"] == "revoked" and v_old["card_number"] == card2, v_old
    # Correction (ZZ Art.27): a new generation with the corrected data; the old one REVOKED_CORRECTED.
    card4 = issue_ok(svc, number, "correction", changes={"contact": "13900000000"}, evidence="本人申请")
    v4 = verify(svc)
    assert v4["card_number"] == card4 and v4["result"] == "genuine_valid", v4
    assert len(v4["display"]["endorsements"]) == 2
    assert card_status(svc, card3)["status"] == "revoked_corrected"
    assert card_status(svc, card1)["status"] == "lost"  # still, after three more generations
    # Cancellation (ZZ Art.25): the card in use is cancelled.
    assert status(svc, number, "cancel").status_code == 200
    assert verify(svc)["result"] == "cancelled"


def _fee_rows(svc: Service, number: str) -> list[tuple[str, int]]:
    with svc.ctx.sessions() as s:
        permit_id = permit_by_number(s, number).id
        return [(f.event, f.amount_fen) for f in s.scalars(select(FeeRecord).where(FeeRecord.permit_id == permit_id)
                                                           .order_by(FeeRecord.id))]


def test_one_fee_per_replacement_event(svc: Service) -> None:
    """SMX Art.20 "首次申领居住证，免收证件工本费；办理签注手续不得收取费用 … 换领、补领居住证，应当缴纳证件工本费";
    ZZ Art.15: one fee per replacement event, however many blanks the station spoils or jobs it needs;
    the first issue and the endorsement are free."""
    number = apply_ok(svc, "zz", 32, TODAY)
    issue_ok(svc, number)
    set_day(svc, A1 - timedelta(days=3))
    assert endorse(svc, number, kind="yearly").status_code == 201
    assert status(svc, number, "report_lost").status_code == 200
    job = svc.call(Role.PRINT_STATION, "POST", "/api/jobs",
                   json={"permit_number": number, "event": "replacement"}).json()
    # The first blank loses power late in personalization (after its chip key was generated and recorded).
    svc.call(Role.PRINT_STATION, "POST", "/api/desk/remove", json={"reader": READERS[0]})
    svc.call(Role.PRINT_STATION, "POST", "/api/desk/insert", json={"reader": READERS[0]})
    svc.ctx.hub.desk.card_in(READERS[0]).cut_power(55)  # type: ignore[union-attr]
    svc.call(Role.PRINT_STATION, "POST", f"/api/jobs/{job['id']}/run", json={"reader": READERS[0]})
    assert wait_job(svc, job["id"])["state"] == "failed_retryable"
    # The station gives that job up for good; a second job for the same replacement is the same event.
    with svc.ctx.sessions.begin() as s:
        registry_jobs.advance(s, job["id"], JobState.FAILED, at=svc.ctx.clock(), error="blank card damaged")
    card2 = issue_ok(svc, number, "replacement")
    v = verify(svc)
    assert v["result"] == "genuine_valid" and v["card_number"] == card2, v
    fee = builtin_layout("zz").rules.card_fee_fen
    assert fee > 0
    assert _fee_rows(svc, number) == [("first_issue", 0), ("replacement", fee)]
