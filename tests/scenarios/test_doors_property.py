"""Invalid data never reaches a card (issue 12): random invalid applications fed to every door — API
intake, the CLI's intake (cardsvc.issuance.demo.register_permit, what `cardsvc issue --sample` runs),
correction (ZZ Art.27), endorsement data (SMX Art.16-17 / ZZ Art.13-14) and the personalization plan;
and random invalid temporary registrations (SMX Art.7, ZZ Art.10-11) to every registration door.
Each refuses with the field at fault and writes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardsvc.api.auth import Role
from cardsvc.issuance.demo import register_permit
from cardsvc.issuance.jobs import make_plan
from cardsvc.layout import builtin_layout
from cardsvc.permit.errors import PermitInvalid
from cardsvc.permit.model import Permit
from cardsvc.permit.permit_number import make_card_number
from cardsvc.permit.record import dump_permit, load_permit
from cardsvc.registry.audit import Actor
from cardsvc.registry.errors import RegistryError
from cardsvc.registry.lookup import permit_by_number
from tests.api.conftest import Service
from tests.scenarios.support import TODAY, application_body, apply, apply_ok, counts, endorse, issue_ok, sample_permit

LOOKALIKES = ["\u2022", "\u30fb", "\uff0e", "\u2027", "\uff65", "\u22c5", "\u0387", "."]
MAX_ENDORSED_ADDRESS = {"smx": 96, "zz": 90}  # bytes of the endorsement record's residence_address
CLI = Actor("cli-station", "pytest", "print_station")


def _mutations(layout_id: str) -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.tuples(st.just("citizen_id"), st.integers(1, 10)),  # wrong check character (offset mod 11)
        st.tuples(st.just("sex"), st.none()),
        st.tuples(st.just("name"), st.sampled_from(LOOKALIKES)),
        st.tuples(st.just("ethnicity"), st.integers(59, 96).map(str)),
        st.tuples(st.just("contact"), st.text("0123456789-", min_size=1, max_size=6)),
        st.tuples(st.just("residence_address"), st.integers(1, 20)),  # bytes over the endorsement record
        st.tuples(st.just("birth_date"), st.integers(1, 4000)),  # days off the citizen ID's date
        st.tuples(st.just("marital_status"), st.sampled_from(["00", "11", "29", "77", "99"])),
        st.tuples(st.just("household_address"), st.sampled_from([" ", "\t"])),
    )


def _mutate(p: Permit, layout_id: str, kind: str, arg: Any) -> Permit:
    if kind == "citizen_id":
        chars = "0123456789X"
        return replace(p, citizen_id=p.citizen_id[:17] + chars[(chars.index(p.citizen_id[17]) + arg) % 11])
    if kind == "sex":
        return replace(p, sex=2 if int(p.sex) == 1 else 1)
    if kind == "name":
        return replace(p, name=p.name[:1] + arg + p.name[1:])
    if kind == "residence_address":
        head = "住址"  # 4 bytes in GB 18030
        return replace(p, residence_address=head + "1" * (MAX_ENDORSED_ADDRESS[layout_id] - 4 + arg))
    if kind == "birth_date":
        return replace(p, birth_date=p.birth_date - timedelta(days=arg))
    if kind == "household_address":
        return replace(p, household_address=arg + p.household_address)
    return replace(p, **{kind: arg})


@pytest.mark.parametrize("layout_id", ["smx", "zz"])
def test_every_door_refuses_random_invalid_data(service: Service, layout_id: str) -> None:
    svc = service
    layout = builtin_layout(layout_id)
    keys = svc.ctx.station_keys()
    issued = apply_ok(svc, layout_id, 99, TODAY)  # a permit with a card, for correction and endorsement
    issue_ok(svc, issued)
    before = counts(svc)
    with svc.ctx.sessions() as s:
        held = load_permit(permit_by_number(s, issued).data)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(seed=st.integers(0, 10_000), mutation=_mutations(layout_id))
    def check(seed: int, mutation: tuple[str, Any]) -> None:
        kind, arg = mutation
        valid = sample_permit(layout_id, seed, TODAY)
        bad = _mutate(valid, layout_id, kind, arg)
        # 1. API intake
        r = apply(svc, application_body(layout_id, bad, TODAY))
        assert r.status_code == 422, (kind, r.text)
        field = r.json()["field"]
        assert field.startswith("applicant.") and field != "applicant.", r.json()
        # 2. the CLI's intake (a station-registered permit carries its card number)
        with pytest.raises((PermitInvalid, RegistryError)) as err:  # the registry's own ID shape check may come first
            register_permit(svc.ctx.sessions, CLI, bad, layout)
        assert str(err.value).split(":")[0] in {f.split(".")[0] for f in ("citizen_id", "birth_date", kind)}
        assert counts(svc) == before
        # 3. correction of the issued permit to the same invalid value (ZZ Art.27)
        value = dump_permit(_mutate(held, layout_id, kind, arg))[kind]
        r = svc.call(Role.PRINT_STATION, "POST", "/api/jobs", json={
            "permit_number": issued, "event": "correction", "changes": {kind: value}, "evidence": "材料"})
        if kind in ("sex", "birth_date"):  # alone it breaks agreement with the ID: either field is at fault
            assert r.status_code == 422 and r.json()["field"].startswith("changes."), r.text
        else:
            assert r.status_code == 422 and r.json()["field"] == f"changes.{kind}", r.text
        # 4. endorsement data (the address written to the card)
        if kind in ("residence_address",):
            r = endorse(svc, issued, reader=None, residence_address=bad.residence_address)
            assert r.status_code == 422 and r.json()["field"] == "residence_address", r.text
        # 5. the personalization plan, last
        with pytest.raises(PermitInvalid):
            make_plan(replace(bad, card_number=make_card_number(layout.card_number.prefix, seed,
                                                                layout.card_number.serial_digits)),
                      layout, keys, today=TODAY)
        assert counts(svc) == before

    check()
    jobs = svc.call(Role.PRINT_STATION, "GET", "/api/jobs").json()
    assert len(jobs) == 1  # only the first issue: no refused correction started a job


def _registration_mutations(layout_id: str) -> st.SearchStrategy[tuple[str, Any]]:
    other = "411224" if layout_id == "zz" else "410105"  # a county of the other city (GB/T 2260)
    kinds = [
        st.tuples(st.just("county_code"), st.sampled_from([other, "110105", "419901"])),
        st.tuples(st.just("certificate_number"), st.text("0123456789", min_size=1, max_size=15)),
        st.tuples(st.just("certificate_number"), st.sampled_from(["county", "year", "serial"])),
        st.tuples(st.just("registered_on"), st.integers(1, 400)),  # after today
        st.tuples(st.just("arrived_on"), st.integers(1, 100)),  # after registered_on
        st.tuples(st.just("valid_until"), st.integers(1, 400)),  # before registered_on
    ]
    if layout_id == "smx":  # SMX Art.7: only the holder reports
        kinds.append(st.tuples(st.just("declared_by"), st.sampled_from(["employer", "individual_employer",
                                                                        "landlord"])))
    return st.one_of(*kinds)


def _bad_registration(layout_id: str, kind: str, arg: Any) -> tuple[dict[str, Any], str]:
    """A registration body with one invalid value, and the field that must be named."""
    registered = TODAY - timedelta(days=30)
    county = {"smx": "411202", "zz": "410105"}[layout_id]
    body: dict[str, Any] = {"county_code": county, "arrived_on": registered.isoformat(),
                            "registered_on": registered.isoformat(), "intended_stay_days": 730}
    if kind == "certificate_number" and arg in ("county", "year", "serial"):
        wrong = {"county": ("411203" if layout_id == "smx" else "410102", registered.year, 1),
                 "year": (county, registered.year - 1, 1), "serial": (county, registered.year, 0)}[arg]
        body[kind] = f"{wrong[0]}{wrong[1]:04d}{wrong[2]:06d}"
    elif kind == "registered_on":
        body[kind] = (TODAY + timedelta(days=arg)).isoformat()
        body["arrived_on"] = body[kind]
    elif kind == "arrived_on":
        body[kind] = (registered + timedelta(days=arg)).isoformat()
        return body, "registered_on"  # registered before arriving: the registration date is at fault
    elif kind == "valid_until":
        body[kind] = (registered - timedelta(days=arg)).isoformat()
    else:
        body[kind] = arg
    return body, kind


@pytest.mark.parametrize("layout_id", ["smx", "zz"])
def test_every_registration_door_refuses_random_invalid_data(service: Service, layout_id: str) -> None:
    """Temporary registrations (SMX Art.7, ZZ Art.10-11) at every door: the registration route, the
    application's inline block, a holder's new registration (SMX Art.17 ¶2, Art.18) and the registry service
    the CLI runs (`cardsvc registration add`). Each refuses with the field at fault and writes nothing."""
    from sqlalchemy import func, select

    from cardsvc.errors import FieldError
    from cardsvc.registry.models import Applicant, TemporaryRegistration
    from cardsvc.registry.registrations import add_registration
    from cardsvc.rules.registration import Declarer, Registration

    svc = service
    layout = builtin_layout(layout_id)
    issued = apply_ok(svc, layout_id, 98, TODAY)

    def rows() -> int:
        with svc.ctx.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(TemporaryRegistration)) or 0)

    before = rows()

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(seed=st.integers(0, 10_000), mutation=_registration_mutations(layout_id))
    def check(seed: int, mutation: tuple[str, Any]) -> None:
        kind, arg = mutation
        body, field = _bad_registration(layout_id, kind, arg)
        holder = sample_permit(layout_id, seed, TODAY)
        r = svc.call(Role.COUNTER, "POST", "/api/registrations",
                     json={"layout_id": layout_id, "citizen_id": holder.citizen_id, **body})
        assert r.status_code == 422 and r.json()["field"] == field, (kind, r.text)
        application = application_body(layout_id, holder, TODAY)
        application["registration"] = body
        r = apply(svc, application)
        assert r.status_code == 422 and r.json()["field"] == f"registration.{field}", (kind, r.text)
        r = svc.call(Role.COUNTER, "POST", f"/api/permits/{issued}/registrations", json=body)
        assert r.status_code == 422 and r.json()["field"] == field, (kind, r.text)
        with svc.ctx.sessions.begin() as s, pytest.raises((FieldError, RegistryError)) as err:
            applicant = s.scalars(select(Applicant)).first()
            assert applicant is not None
            add_registration(s, applicant, layout.rules, Registration(
                body["county_code"], date.fromisoformat(body["registered_on"]),
                date.fromisoformat(body["arrived_on"]), body["intended_stay_days"],
                declared_by=Declarer(body.get("declared_by", "self")),
                certificate_number=body.get("certificate_number"),
                valid_until=date.fromisoformat(body["valid_until"]) if "valid_until" in body else None),
                at=svc.ctx.clock())
        assert getattr(err.value, "field", None) == field, (kind, err.value)
        assert rows() == before

    check()
