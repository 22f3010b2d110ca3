"""Validation at every door (issue 12): application intake, correction (ZZ Art.27), endorsement data,
address changes, and last the personalization plan. Invalid data gets 422 with `field` naming the request
field and the reason; nothing is written; nothing reaches a card."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cardsvc.api.auth import Role
from cardsvc.permit.citizen_id import make_citizen_id
from cardsvc.permit.record import dump_permit
from cardsvc.registry.lookup import permit_by_number
from cardsvc.registry.models import Endorsement
from cardsvc.registry.models import Permit as PermitRow
from cardsvc.rules.dates import add_years
from tests.api.conftest import READERS, Service
from tests.scenarios.support import (
    TODAY,
    application_body,
    apply,
    apply_ok,
    counts,
    endorse,
    issue_ok,
    run_job,
    sample_permit,
    set_day,
    verify,
)

DAY = TODAY


def _wrong_check_char(cid: str) -> str:
    return cid[:17] + ("0" if cid[17] != "0" else "1")


@pytest.mark.parametrize("layout_id", ["smx", "zz"])
def test_intake_refuses_what_the_issue_saw_issued(svc: Service, layout_id: str) -> None:
    """GB 11643 check character, sex against the ID's sequence digit, the minority-name middle dot
    (U+00B7, not U+2022): refused at `POST /api/applications` with the field, nothing written."""
    set_day(svc, DAY)
    p = sample_permit(layout_id, 3, DAY)
    other_sex = 2 if int(p.sex) == 1 else 1
    cases = [({"citizen_id": _wrong_check_char(p.citizen_id)}, "applicant.citizen_id", "check character"),
             ({"sex": other_sex}, "applicant.sex", "disagrees with the citizen ID"),
             ({"name": "买买提\u2022艾力"}, "applicant.name", "U+2022"),
             ({"contact": "12345"}, "applicant.contact", "not a mobile"),
             ({"marital_status": "77"}, "applicant.marital_status", "GB/T 2261.2")]
    for change, field, reason in cases:
        r = apply(svc, application_body(layout_id, p, DAY, **change))
        assert r.status_code == 422, (change, r.text)
        assert r.json()["field"] == field and reason in r.json()["detail"], r.json()
    assert counts(svc) == (0, 0)  # nothing written: no application, no permit


def test_intake_refuses_an_address_later_endorsements_cannot_write(svc: Service) -> None:
    """SMX Art.16-17: every endorsement writes the residence address again, into a record of 96 bytes
    (the permit file took 120 before issue 12): an address of 97 bytes is refused at intake, one of 96
    accepted (boundary: one byte before / at / after)."""
    set_day(svc, DAY)
    p = sample_permit("smx", 4, DAY)
    base = "三门峡市湖滨区"  # 7 characters, 14 bytes GB 18030

    def address(nbytes: int) -> str:
        return base + "1" * (nbytes - 14)

    for nbytes, ok in ((95, True), (96, True), (97, False)):
        r = apply(svc, application_body("smx", p, DAY, residence_address=address(nbytes)))
        if ok:
            assert r.status_code == 201, r.text
        else:
            assert r.status_code == 422 and r.json()["field"] == "applicant.residence_address", r.text
            assert "97 bytes exceed the layout's limit of 96" in r.json()["detail"]


def test_correction_refuses_unknown_fields_and_invalid_values_and_reaches_the_index(svc: Service) -> None:
    """ZZ Art.27 "持证人发现本人的信息不真实、不准确的，可以提供证明材料向公安机关申请变更、更正": unknown field
    names (`nmae`) and invalid values are refused with the field; a corrected citizen ID reaches the
    registry's indexed column and the new card generation verifies genuine with it."""
    number = apply_ok(svc, "zz", 5, DAY)
    issue_ok(svc, number)
    bad = [({"nmae": "王五"}, "changes.nmae"),
           ({"permit_number": "41010520260000001"}, "changes.permit_number"),
           ({"ethnicity": "99"}, "changes.ethnicity"),
           ({"birth_date": "1990-13-01"}, "changes.birth_date")]
    with svc.ctx.sessions() as s:
        row = permit_by_number(s, number)
        stored, cid = dict(row.data), row.citizen_id
    bad.append(({"citizen_id": _wrong_check_char(cid)}, "changes.citizen_id"))
    for changes, field in bad:
        r = svc.call(Role.PRINT_STATION, "POST", "/api/jobs", json={
            "permit_number": number, "event": "correction", "changes": changes, "evidence": "户口簿"})
        assert r.status_code == 422 and r.json()["field"] == field, (changes, r.text)
    with svc.ctx.sessions() as s:
        assert permit_by_number(s, number).data == stored  # nothing written
    # A valid correction: the holder's citizen ID had a wrong sequence number (same birth date and sex).
    born = date.fromisoformat(stored["birth_date"])
    seq = int(cid[14:17])
    fixed = make_citizen_id(cid[:6], born, seq + 2 if seq < 990 else seq - 2)
    card = issue_ok(svc, number, "correction", changes={"citizen_id": fixed}, evidence="户口簿第2页")
    with svc.ctx.sessions() as s:
        assert s.scalars(select(PermitRow.permit_number).where(PermitRow.citizen_id == fixed)).one() == number
    v = verify(svc)
    assert v["result"] == "genuine_valid" and v["card_number"] == card, v
    assert v["display"]["citizen_id"] == fixed


@pytest.mark.parametrize("kind", ["yearly", "address_change"])
def test_endorsement_and_address_change_data_refused_before_writing(svc: Service, kind: str) -> None:
    """SMX Art.16 (签注居住地住址) / Art.17 (address change endorsed): the address goes into an endorsement
    record; one that does not fit it (or breaks the text rules) is refused with the field, no endorsement
    is recorded and the card is untouched."""
    number = apply_ok(svc, "smx", 6, DAY)
    issue_ok(svc, number)
    anniversary = add_years(DAY, 1)
    set_day(svc, anniversary - timedelta(days=10))  # inside the SMX Art.16 window of the first anniversary
    moved = (anniversary - timedelta(days=12)).isoformat()
    extra = {"new_county": "411202", "moved_on": moved} if kind == "address_change" else {}
    for address, reason in (("三门峡市湖滨区" + "1" * 83, "bytes"), (" 三门峡市湖滨区", "spaces")):
        r = endorse(svc, number, kind=kind, residence_address=address, **extra)
        assert r.status_code == 422 and r.json()["field"] == "residence_address", r.text
        assert reason in r.json()["detail"]
    with svc.ctx.sessions() as s:
        assert s.scalars(select(Endorsement)).first() is None
    assert len(verify(svc)["display"].get("endorsements", [])) == 0


def test_plan_is_the_last_door(svc: Service) -> None:
    """Data that reached the registry some other way (here: written into the row directly) is refused by
    the personalization plan: the job fails naming the field, and no card is written."""
    number = apply_ok(svc, "zz", 7, DAY)
    with svc.ctx.sessions.begin() as s:
        row = permit_by_number(s, number)
        data = dict(row.data)
        data["citizen_id"] = _wrong_check_char(data["citizen_id"])
        row.data = data
    done = run_job(svc, number)
    assert done["state"] == "failed" and "citizen_id" in (done["last_error"] or ""), done
    v = verify(svc, READERS[0])
    assert v["result"] != "genuine_valid" and not v["genuine"], v


def test_minor_without_guardian_and_adult_agent_accepted(svc: Service) -> None:
    """ZZ Art.10: "未满16周岁的可以自愿申领" — no guardian rule; SMX Art.10: "可以由其监护人、近亲属代为申领"
    — optional, and recordable for adults (elderly, disabled) with the agent's valid citizen ID, which is
    validated like the holder's; the guardian is in the registry, never on the card."""
    set_day(svc, DAY)
    minor_born = date(2012, 5, 5)
    minor = replace(sample_permit("zz", 8, DAY), birth_date=minor_born,
                    citizen_id=make_citizen_id("410105", minor_born, 12), sex=2, marital_status=None)
    r = apply(svc, application_body("zz", minor, DAY))
    assert r.status_code == 201 and r.json()["permit_number"], r.text
    agent = {"citizen_id": make_citizen_id("411202", date(1980, 2, 2), 31), "name": "王芳"}
    adult = sample_permit("smx", 9, DAY)
    bad = {**agent, "citizen_id": _wrong_check_char(agent["citizen_id"])}
    r = apply(svc, application_body("smx", adult, DAY, guardian=bad))
    assert r.status_code == 422 and r.json()["field"] == "applicant.guardian.citizen_id", r.text
    r = apply(svc, application_body("smx", adult, DAY, guardian=agent))
    assert r.status_code == 201, r.text
    number = r.json()["permit_number"]
    card = issue_ok(svc, number)
    out = svc.call(Role.ADMIN, "GET", f"/api/permits/{number}").json()
    assert out["data"]["guardian"]["name"] == "王芳"
    v = verify(svc)
    assert v["result"] == "genuine_valid" and v["card_number"] == card


def test_smx_minor_may_apply_alone_or_through_guardian(svc: Service) -> None:
    """SMX Art.10: "未满16周岁的未成年人…可以由其监护人、近亲属代为申领居住证" — 可以 (may): a 15-year-old's
    own application is accepted and issued like an adult's; the same minor's application through a
    guardian is accepted too (the guardian's citizen ID validated, kept in the registry)."""
    set_day(svc, DAY)
    born = add_years(DAY, -16) + timedelta(days=1)  # 16 tomorrow: still a minor today
    minor = replace(sample_permit("smx", 21, DAY), birth_date=born,
                    citizen_id=make_citizen_id("411202", born, 12), sex=2, marital_status=None)
    r = apply(svc, application_body("smx", minor, DAY))
    assert r.status_code == 201 and r.json()["permit_number"], r.text
    issue_ok(svc, r.json()["permit_number"])
    assert verify(svc)["result"] == "genuine_valid"
    guardian = {"citizen_id": make_citizen_id("411202", date(1980, 2, 2), 31), "name": "王芳"}
    other = replace(minor, citizen_id=make_citizen_id("411202", born, 14), name="李小梅")
    r = apply(svc, application_body("smx", other, DAY, guardian=guardian))
    assert r.status_code == 201, r.text


def test_guardian_never_on_the_card(svc: Service) -> None:
    """Issue 12 (SMX Art.10): the guardian or agent is shown in the registry, never on the card."""
    set_day(svc, DAY)
    agent = {"citizen_id": make_citizen_id("411202", date(1980, 2, 2), 31), "name": "王芳"}
    r = apply(svc, application_body("smx", sample_permit("smx", 9, DAY), DAY, guardian=agent))
    number = r.json()["permit_number"]
    issue_ok(svc, number)
    v = verify(svc)
    assert v["result"] == "genuine_valid" and "王芳" not in str(v["display"])
    assert agent["citizen_id"] not in str(v["display"])
    assert svc.call(Role.ADMIN, "GET", f"/api/permits/{number}").json()["data"]["guardian"]["name"] == "王芳"


def test_record_of_a_refused_door_is_unchanged_json(svc: Service) -> None:
    """The stored record is the one permit record format (cardsvc.permit.record) after intake."""
    number = apply_ok(svc, "smx", 10, DAY)
    with svc.ctx.sessions() as s:
        data = permit_by_number(s, number).data
    assert data["format"] == "cardsvc.permit/2" and data["card_number"] == ""
    assert dump_permit(sample_permit("smx", 10, DAY))["format"] == data["format"]
