"""The temporary registration (暂住登记) as a record, and the rules computed from it.

SMX Art.7 "公民离开常住户口所在地到其他城市居住的，应当主动向居住地公安派出所…申报暂住登记。
登记站…免费为其制发暂住登记凭证";
SMX Art.8 "公民办理暂住登记满半年以上，符合下列条件之一的，可以凭暂住登记凭证向登记站申领居住证";
SMX Art.18 "超过半年申请补办签注手续的，需重新申报暂住登记";
ZZ Art.10 ¶2 "拟在郑州市居住 30 日以上…应当在到达居住地 7 日内…申报暂住登记";
ZZ Art.11 "（一）单位招用流动人员并提供住宿的，由用人单位申报办理；（二）个体工商户…由雇主申报办理；（三）租赁房屋居住的
流动人员，由房屋出租人办理；（四）其他流动人员，由本人申报办理".
A clerk records the registration (who declared it, its certificate), the application refers to it, and
eligibility, the late-registration warning and re-registration are read from the records (day before / of /
after each boundary), through the HTTP API on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cardsvc.api.auth import Role
from cardsvc.rules.dates import add_months, add_years
from tests.api.conftest import Service
from tests.scenarios.support import (
    COUNTY,
    TODAY,
    application_body,
    apply,
    apply_ok,
    endorse,
    issue_ok,
    permit,
    sample_permit,
    set_day,
    verify,
)


def register(svc: Service, citizen_id: str, county: str, registered_on: date, **extra: Any) -> Any:
    body = {"layout_id": next(k for k, v in COUNTY.items() if v[:4] == county[:4]), "citizen_id": citizen_id,
            "county_code": county, "arrived_on": registered_on.isoformat(),
            "registered_on": registered_on.isoformat(), "intended_stay_days": 730, **extra}
    return svc.call(Role.COUNTER, "POST", "/api/registrations", json=body)


def apply_with(svc: Service, layout_id: str, seed: int, day: date, registration_id: int) -> Any:
    set_day(svc, day)
    body = application_body(layout_id, sample_permit(layout_id, seed, day), day)
    del body["registration"]
    body["registration_id"] = registration_id
    return apply(svc, body)


def test_record_list_end(svc: Service) -> None:
    """ZZ Art.11(3): the landlord declares; the station issues the certificate (SMX Art.7 制发暂住登记凭证)."""
    set_day(svc, TODAY)
    holder = sample_permit("zz", 201, TODAY)
    r = register(svc, holder.citizen_id, "410105", TODAY - timedelta(days=40), declared_by="landlord")
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["declared_by"] == "landlord" and rec["in_force"] and rec["ended_on"] is None
    assert rec["certificate_number"].startswith(f"410105{(TODAY - timedelta(days=40)).year}"), rec
    # a certificate number given by the station that registered it is kept; the same one twice is a conflict
    given = f"410102{TODAY.year}000777"
    r = register(svc, holder.citizen_id, "410102", TODAY, declared_by="employer", certificate_number=given)
    assert r.status_code == 201 and r.json()["certificate_number"] == given, r.text
    r = register(svc, holder.citizen_id, "410102", TODAY, certificate_number=given)
    assert r.status_code == 409 and r.json()["field"] == "certificate_number", r.text
    listed = svc.call(Role.COUNTER, "POST", "/api/registrations/lookup", json={"citizen_id": holder.citizen_id})
    assert listed.status_code == 200 and [x["id"] for x in listed.json()] == [rec["id"], rec["id"] + 1], listed.text
    # ended: its last day and why; ending it again is a conflict
    r = svc.call(Role.COUNTER, "POST", f"/api/registrations/{rec['id']}/end",
                 json={"ended_on": (TODAY - timedelta(days=1)).isoformat(), "reason": "moved"})
    assert r.status_code == 200 and not r.json()["in_force"] and r.json()["end_reason"] == "moved", r.text
    r = svc.call(Role.COUNTER, "POST", f"/api/registrations/{rec['id']}/end",
                 json={"ended_on": TODAY.isoformat(), "reason": "moved"})
    assert r.status_code == 409 and r.json()["field"] == "registration_id", r.text
    # an application referring to the ended registration: refused, the record is not in force
    r = apply_with(svc, "zz", 201, TODAY, rec["id"])
    assert r.status_code == 201 and not r.json()["accepted"], r.text
    assert [f["condition"] for f in r.json()["decision"]["failures"]] == ["registration_not_in_force"]
    # another person's registration cannot be referred to
    r = apply_with(svc, "zz", 202, TODAY, rec["id"] + 1)
    assert r.status_code == 422 and r.json()["field"] == "registration_id", r.text


@pytest.mark.parametrize(("layout_id", "change", "field"), [
    ("smx", {"county_code": "410105"}, "county_code"),  # GB/T 2260: Zhengzhou's county, not Sanmenxia's
    ("smx", {"declared_by": "landlord"}, "declared_by"),  # SMX Art.7: the holder reports
    ("zz", {"declared_by": "neighbour"}, "declared_by"),  # not a ZZ Art.11 declarer
    ("zz", {"certificate_number": "410105{last_year}000001"}, "certificate_number"),  # year part not the year's
    ("zz", {"certificate_number": "410102{year}000001"}, "certificate_number"),  # county part is another's
    ("zz", {"certificate_number": "410105{year}0001"}, "certificate_number"),  # 14 digits
    ("zz", {"certificate_number": "410105{year}000000"}, "certificate_number"),  # serial 0
    ("zz", {"registered_on": (TODAY + timedelta(days=1)).isoformat()}, "registered_on"),  # after today
    ("zz", {"arrived_on": (TODAY + timedelta(days=1)).isoformat()}, "registered_on"),  # arrived after it
    ("zz", {"valid_until": (TODAY - timedelta(days=30)).isoformat()}, "valid_until"),  # before registered_on
])
def test_registration_door(svc: Service, layout_id: str, change: dict[str, Any], field: str) -> None:
    """Each bad value is refused with RFC 9457 `field` naming it, at the registration door and in the
    application's inline block (prefixed `registration.`), and nothing is written."""
    set_day(svc, TODAY)
    holder = sample_permit(layout_id, 203, TODAY)
    registered = TODAY - timedelta(days=10)
    body = {"county_code": COUNTY[layout_id], "arrived_on": registered.isoformat(),
            "registered_on": registered.isoformat(), "intended_stay_days": 730,
            **{k: v.format(year=registered.year, last_year=registered.year - 1) for k, v in change.items()}}
    r = svc.call(Role.COUNTER, "POST", "/api/registrations",
                 json={"layout_id": layout_id, "citizen_id": holder.citizen_id, **body})
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    application = application_body(layout_id, holder, TODAY)
    application["registration"] = body
    r = apply(svc, application)
    assert r.status_code == 422 and r.json()["field"] == f"registration.{field}", r.text
    listed = svc.call(Role.COUNTER, "POST", "/api/registrations/lookup", json={"citizen_id": holder.citizen_id})
    assert listed.json() == [] and svc.call(Role.COUNTER, "GET", "/api/applications").json() == []


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_smx_art8_half_a_year_from_the_record(svc: Service, offset: int) -> None:
    """SMX Art.8: 暂住登记满半年 — counted from the recorded registration the application refers to."""
    registered = TODAY - timedelta(days=170)
    eligible = add_months(registered, 6)
    set_day(svc, TODAY)
    holder = sample_permit("smx", 210 + offset, eligible + timedelta(days=offset))  # as apply_with makes it
    r = register(svc, holder.citizen_id, COUNTY["smx"], registered)
    assert r.status_code == 201, r.text
    reg_id = r.json()["id"]
    r = apply_with(svc, "smx", 210 + offset, eligible + timedelta(days=offset), reg_id)
    assert r.status_code == 201, r.text
    if offset < 0:
        assert not r.json()["accepted"] and r.json()["permit_number"] is None
        assert [f["condition"] for f in r.json()["decision"]["failures"]] == ["registration_too_recent"]
        assert eligible.isoformat() in r.json()["decision"]["failures"][0]["detail"]
    else:
        assert r.json()["accepted"] and r.json()["permit_number"], r.json()
        shown = permit(svc, r.json()["permit_number"])["registrations"]  # the registry view shows the record
        assert [x["id"] for x in shown] == [reg_id] and shown[0]["in_force"], shown


@pytest.mark.parametrize(("late_by", "warned"), [(6, False), (7, False), (8, True)])
def test_zz_art10_late_registration_from_the_record(svc: Service, late_by: int, warned: bool) -> None:
    """ZZ Art.10 ¶2: registered within 7 days of arrival; after that the application is still accepted
    (the text punishes, Art.30) with a late-registration warning read from the record."""
    set_day(svc, TODAY)
    holder = sample_permit("zz", 220 + late_by, TODAY)
    arrived = TODAY - timedelta(days=60)
    r = register(svc, holder.citizen_id, COUNTY["zz"], arrived + timedelta(days=late_by), declared_by="employer",
                 arrived_on=arrived.isoformat())
    assert r.status_code == 201, r.text
    r = apply_with(svc, "zz", 220 + late_by, TODAY, r.json()["id"])
    assert r.status_code == 201 and r.json()["accepted"], r.text
    warnings = [w["condition"] for w in r.json()["decision"]["warnings"]]
    assert warnings == (["late_registration"] if warned else []), r.json()


@pytest.mark.parametrize("registered_offset", [-1, 0, 1])
def test_smx_art18_reregistration_from_the_record(svc: Service, registered_offset: int) -> None:
    """SMX Art.18: from A + 6 months (A the anniversary) the late endorsement needs a new temporary
    registration: one made the day before does not count, one made that day or after does; with it the
    endorsement restores use and the residence years count from that day."""
    number = apply_ok(svc, "smx", 230 + registered_offset, TODAY)
    issue_ok(svc, number)
    anniversary = add_years(TODAY, 1)
    since = add_months(anniversary, 6)
    day = since + timedelta(days=1)  # the endorsement is asked for the day after the re-registration day
    set_day(svc, day)
    r = endorse(svc, number)
    assert r.status_code == 422 and "must be made anew" in r.json()["detail"], r.text
    r = svc.call(Role.COUNTER, "POST", f"/api/permits/{number}/registrations", json={
        "county_code": COUNTY["smx"], "arrived_on": (since - timedelta(days=30)).isoformat(),
        "registered_on": (since + timedelta(days=registered_offset)).isoformat(), "intended_stay_days": 730})
    assert r.status_code == 201, r.text
    r = endorse(svc, number)
    if registered_offset < 0:
        assert r.status_code == 422 and since.isoformat() in r.json()["detail"], r.text
        assert verify(svc)["result"] != "genuine_valid"
        return
    assert r.status_code == 201 and r.json()["late"] and r.json()["card_sync"] == "written", r.text
    assert r.json()["valid_until"] == add_years(day, 1).isoformat(), r.json()
    assert verify(svc)["result"] == "genuine_valid"
