"""Issue 16 item 1 through the API: each department writes, updates and reads each of its declared records
on the card in a reader; every other department's token is refused (403) before the card is touched;
bad values name the field; the audit log names the record and write number, never the values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from cardsvc.api.auth import Role, issue_token
from cardsvc.departments.record import record_efs
from cardsvc.registry.models import AuditEntry
from tests.api.conftest import READERS, SETUP, Service
from tests.api.helpers import issue
from tests.departments.support import departments_with_records, sample_values
from tests.scenarios.support import insert_card, issue_ok, status


def _tokens(service: Service, departments: list[str]) -> dict[str, str]:
    with service.ctx.sessions.begin() as s:
        return {d: issue_token(s, SETUP, role=Role.DEPARTMENT, station_id=f"{d[:20]}-1", label=d, department=d,
                               at=datetime.now(UTC)).token for d in departments}


def _call(service: Service, token: str, method: str, path: str, **kw: Any) -> Any:
    return service.client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)


def test_each_department_writes_updates_reads_its_records(service: Service) -> None:
    number, _ = issue(service, "zz", seed=31)
    layout = service.ctx.layout("zz")
    departments = departments_with_records(layout)
    assert departments == ["education", "family_planning_health", "housing"]
    tokens = _tokens(service, [df.department for df in layout.dfs if df.department])
    values_seen: list[str] = []
    for department in departments:
        token = tokens[department]
        for ef in record_efs(layout, department):
            path = f"/api/departments/{department}/card/records/{ef.name}"
            for n in (1, 2):
                values = sample_values(ef, n)
                values_seen += [v for v in values.values() if len(v) > 3]
                r = _call(service, token, "PUT", path, json={"reader": READERS[0], "values": values})
                assert r.status_code == 200, r.text
                assert r.json()["seq"] == n and r.json()["values"] == values and r.json()["intact"]
                assert r.json()["serves"] == ef.serves
        got = _call(service, token, "GET", f"/api/departments/{department}/card", params={"reader": READERS[0]})
        assert got.status_code == 200, got.text
        records = {r["record"]: r for r in got.json()["records"]}
        assert set(records) == {ef.name for ef in record_efs(layout, department)}
        for ef in record_efs(layout, department):
            assert records[ef.name]["values"] == sample_values(ef, 2) and records[ef.name]["seq"] == 2
        # Every other department's token: refused by the API, the card untouched.
        for other, other_token in tokens.items():
            if other == department:
                continue
            ef = record_efs(layout, department)[0]
            put = _call(service, other_token, "PUT", f"/api/departments/{department}/card/records/{ef.name}",
                        json={"reader": READERS[0], "values": sample_values(ef, 9)})
            assert put.status_code == 403, (other, put.text)
            read = _call(service, other_token, "GET", f"/api/departments/{department}/card",
                         params={"reader": READERS[0]})
            assert read.status_code == 403, (other, read.text)
        again = _call(service, token, "GET", f"/api/departments/{department}/card", params={"reader": READERS[0]})
        assert all(r["seq"] == 2 for r in again.json()["records"])
    with service.ctx.sessions() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action.like("department.record.%"))).all()
    writes = [r for r in rows if r.action == "department.record.write"]
    assert len(writes) == 2 * sum(len(record_efs(layout, d)) for d in departments)
    for row in rows:  # audited without personal data: record names and write numbers only
        assert row.card_number and not row.permit_number
        assert not any(v in row.reason for v in values_seen), row.reason
    del number


def test_bad_request_names_the_field(service: Service) -> None:
    issue(service, "zz", seed=32)
    token = _tokens(service, ["housing"])["housing"]
    path = "/api/departments/housing/card/records/public_rental_eligibility"
    r = _call(service, token, "PUT", path, json={"reader": READERS[0], "values": {"eligible": "12"}})
    assert r.status_code == 422 and r.json()["field"] == "values.eligible", r.text
    r = _call(service, token, "PUT", path, json={"reader": READERS[0], "values": {"landlord": "x"}})
    assert r.status_code == 422 and r.json()["field"] == "values.landlord", r.text
    r = _call(service, token, "PUT", "/api/departments/housing/card/records/education_enrolment",
              json={"reader": READERS[0], "values": {"school": "x"}})
    assert r.status_code == 422 and r.json()["field"] == "record", r.text
    # public_security is a ZZ department only: an SMX card has no application for it.
    issue(service, "smx", seed=33, reader=READERS[1])
    police = _tokens(service, ["public_security"])["public_security"]
    r = _call(service, police, "GET", "/api/departments/public_security/card", params={"reader": READERS[1]})
    assert r.status_code == 404 and r.json()["field"] == "department", r.text
    # The education token of the fixture may not write housing's record either.
    r = service.call(Role.DEPARTMENT, "PUT", path, json={"reader": READERS[0], "values": {"eligible": "1"}})
    assert r.status_code == 403  # type: ignore[attr-defined]


def test_writes_only_onto_the_holders_valid_card(service: Service) -> None:
    """Issue 16 gap 2 (cardsvc.departments.standing): suspended (SMX Art.19), lost (ZZ Art.16-17), replaced,
    renewed (SMX Art.20) or cancelled (ZZ Art.25): the write is refused naming card_number, nothing reaches
    the card; the department's own record stays readable with the card's standing beside it."""
    number, job = issue(service, "zz", seed=34)
    token = _tokens(service, ["housing"])["housing"]
    path = "/api/departments/housing/card/records/public_rental_eligibility"

    def put(reader: str, n: int) -> Any:
        return _call(service, token, "PUT", path, json={"reader": reader, "values": {"eligible": str(n % 2)}})

    def refused(reader: str, why: str) -> None:
        r = put(reader, 9)
        assert r.status_code == 422 and r.json()["field"] == "card_number", r.text
        assert why in r.json()["detail"] and "not the holder's valid card" in r.json()["detail"], r.text

    def standing(reader: str) -> tuple[str, bool, int]:
        r = _call(service, token, "GET", "/api/departments/housing/card", params={"reader": reader})
        assert r.status_code == 200, r.text
        return r.json()["card_status"], r.json()["card_usable"], r.json()["records"][0]["seq"]

    assert put(READERS[0], 1).status_code == 200
    assert standing(READERS[0]) == ("active", True, 1)
    assert status(service, number, "suspend", reason="other").status_code == 200
    refused(READERS[0], "suspended for other (SMX Art.19(六)")
    assert standing(READERS[0]) == ("suspended", False, 1)  # read stays possible, nothing was written
    assert status(service, number, "reinstate").status_code == 200
    assert put(READERS[0], 2).status_code == 200
    assert status(service, number, "report_lost").status_code == 200
    refused(READERS[0], "reported lost (ZZ Art.16-17)")
    assert standing(READERS[0]) == ("lost", False, 2)
    # The replacement (补领) in the other reader takes department data; the lost card still does not.
    second = issue_ok(service, number, "replacement", READERS[1])
    assert put(READERS[1], 1).status_code == 200
    refused(READERS[0], "reported lost")
    # Renewal (换领, the old card handed back): the returned card is revoked for good.
    issue_ok(service, number, "renewal", READERS[0], old_card_returned=True)
    insert_card(service, second, READERS[1])
    refused(READERS[1], "renewed and returned (换领, SMX Art.20)")
    assert standing(READERS[1])[:2] == ("revoked_renewed", False)
    assert put(READERS[0], 3).status_code == 200
    assert status(service, number, "cancel").status_code == 200
    refused(READERS[0], "cancelled (注销, ZZ Art.25)")
    del job
