"""A move across counties within Sanmenxia (SMX Art.17 ¶2, Art.19(5)).

SMX Art.17 ¶2 "在三门峡市内跨县（市、区）行政区域更换居住地的，应到现居住地登记站申报暂住登记。暂住登记满半年后，再办理
签注手续"; Art.19 "有下列情形之一的，居住证使用功能中止 … （五）持证人在市内跨县（市、区）行政区域更换居住地的".
Use is suspended at the move; a new temporary registration in the new county; use comes back only by
the endorsement carrying the new address and county authority once that registration is half a year old
(day before / of). Afterwards a change within the new county is an ordinary endorsement (SMX Art.17 ¶1).
"""

from __future__ import annotations

from datetime import timedelta

from cardsvc.api.auth import Role
from cardsvc.rules.dates import add_months
from tests.api.conftest import Service
from tests.scenarios.support import TODAY, apply_ok, endorse, issue_ok, set_day, status, verify

MOVED = TODAY + timedelta(days=20)
LUSHI = "411224"  # 卢氏县, another county of the city


def test_cross_county_move(svc: Service) -> None:
    number = apply_ok(svc, "smx", 51, TODAY)
    issue_ok(svc, number)
    set_day(svc, MOVED + timedelta(days=2))
    move = {"kind": "address_change", "new_county": LUSHI, "moved_on": MOVED.isoformat(),
            "residence_address": "卢氏县城关镇解放路9号"}
    r = endorse(svc, number, **move)
    assert r.status_code == 201 and r.json()["seq"] is None and "reregister" in r.json()["note"], r.text
    v = verify(svc)
    assert v["result"] == "suspended" and v["genuine"], v  # Art.19(5)
    # A counter cannot simply reinstate (the issue saw it allowed the day after the move).
    r = status(svc, number, "reinstate")
    assert r.status_code == 422 and "SMX Art.17" in r.json()["detail"], r.text
    # Without a registration in the new county the endorsement is refused.
    r = endorse(svc, number, **move)
    assert r.status_code == 422 and r.json()["field"] == "new_county", r.text
    r = svc.call(Role.COUNTER, "POST", f"/api/permits/{number}/registrations", json={
        "county_code": LUSHI, "arrived_on": MOVED.isoformat(), "registered_on": (MOVED + timedelta(days=2)).isoformat(),
        "intended_stay_days": 730})
    assert r.status_code == 201, r.text
    ready = add_months(MOVED + timedelta(days=2), 6)
    # Day before the registration is half a year old: refused, use still suspended.
    set_day(svc, ready - timedelta(days=1))
    r = endorse(svc, number, **move)
    assert r.status_code == 422 and f"half a year old on {ready.isoformat()}" in r.json()["detail"], r.text
    assert verify(svc)["result"] == "suspended"
    # The day it is: the endorsement with the new address and Lushi's authority restores use.
    set_day(svc, ready)
    r = endorse(svc, number, **move)
    assert r.status_code == 201 and r.json()["seq"] == 1 and r.json()["card_sync"] == "written", r.text
    v = verify(svc)
    assert v["result"] == "genuine_valid", v
    last = v["display"]["endorsements"][-1]
    assert LUSHI in str(last) and "卢氏县城关镇解放路9号" in str(last)
    # Later a move within Lushi is an ordinary address-change endorsement (SMX Art.17 ¶1), no suspension.
    set_day(svc, ready + timedelta(days=10))
    r = endorse(svc, number, kind="address_change", new_county=LUSHI, moved_on=(ready + timedelta(days=5)).isoformat(),
                residence_address="卢氏县城关镇新建路3号")
    assert r.status_code == 201 and r.json()["seq"] == 2, r.text
    assert verify(svc)["result"] == "genuine_valid"


def test_cross_county_move_reads_the_registration_records(svc: Service) -> None:
    """SMX Art.17 ¶2 "应到现居住地登记站申报暂住登记。暂住登记满半年后": only a registration in the new county
    made since the move and still in force counts; one made before the move, or ended, does not."""
    number = apply_ok(svc, "smx", 52, TODAY)
    issue_ok(svc, number)
    set_day(svc, MOVED + timedelta(days=2))
    old = svc.call(Role.COUNTER, "POST", f"/api/permits/{number}/registrations", json={
        "county_code": LUSHI, "arrived_on": (MOVED - timedelta(days=5)).isoformat(),
        "registered_on": (MOVED - timedelta(days=1)).isoformat(), "intended_stay_days": 730})
    assert old.status_code == 201, old.text  # the day before the move: not the new registration
    move = {"kind": "address_change", "new_county": LUSHI, "moved_on": MOVED.isoformat(),
            "residence_address": "卢氏县城关镇解放路9号"}
    r = endorse(svc, number, **move)
    assert r.status_code == 201 and "reregister" in r.json()["note"], r.text
    new = svc.call(Role.COUNTER, "POST", f"/api/permits/{number}/registrations", json={
        "county_code": LUSHI, "arrived_on": MOVED.isoformat(), "registered_on": MOVED.isoformat(),
        "intended_stay_days": 730})
    assert new.status_code == 201, new.text
    ready = add_months(MOVED, 6)
    set_day(svc, ready)
    # the new registration ended the day before: none in force, refused
    r = svc.call(Role.COUNTER, "POST", f"/api/registrations/{new.json()['id']}/end",
                 json={"ended_on": (ready - timedelta(days=1)).isoformat(), "reason": "moved"})
    assert r.status_code == 200, r.text
    r = endorse(svc, number, **move)
    assert r.status_code == 422 and r.json()["field"] == "new_county" and "in force" in r.json()["detail"], r.text
    assert verify(svc)["result"] == "suspended"
