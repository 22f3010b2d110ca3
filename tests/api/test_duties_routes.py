"""The duties through the service: loss reports on the counter's verdict (ZZ Art.16-17), the issuance
queue (SMX Art.12) and the overdue list (SMX Art.18-19) by role, and an admin's manual run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cardsvc.api.auth import Role
from tests.api.conftest import READERS, Service
from tests.api.helpers import issue, sample_permit


def lost(service: Service, number: str, **details: Any) -> Any:
    return service.call(Role.COUNTER, "POST", f"/api/permits/{number}/status",
                        json={"action": "report_lost", "note": "持证人挂失", **details})


def verdict(service: Service, reader: str = READERS[0]) -> dict[str, Any]:
    r = service.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": reader})
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    out: dict[str, Any] = r.json()  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize(("offset", "accepted"), [
    (dt.timedelta(seconds=-1), True),  # oral report a second before it is recorded
    (dt.timedelta(0), True),  # the same moment
    (dt.timedelta(seconds=1), False),  # a report "made" after it is recorded cannot be
])
def test_oral_loss_report_shows_its_effective_moment(service: Service, offset: dt.timedelta,
                                                     accepted: bool) -> None:
    number, _ = issue(service)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)  # after the card's issue
    service.ctx.clock = lambda: now
    oral = now + offset
    r = lost(service, number, reported_at=oral.isoformat())
    if not accepted:
        assert r.status_code == 422 and r.json()["field"] == "reported_at", r.text
        assert verdict(service)["registry_status"] == "active"  # nothing written
        return
    assert r.status_code == 200, r.text
    v = verdict(service)
    assert v["result"] == "lost" and v["loss"] == {
        "channel": "oral", "bank_certificate": None, "effective_at": oral.isoformat().replace("+00:00", "Z"),
        "recorded_at": now.isoformat().replace("+00:00", "Z")}


def test_bank_certificate_and_counter_reports(service: Service) -> None:
    number, _ = issue(service)
    assert lost(service, number, bank_certificate="no spaces").json()["field"] == "bank_certificate"
    r = service.call(Role.COUNTER, "POST", f"/api/permits/{number}/status",
                     json={"action": "suspend", "reason": "other", "note": "x", "bank_certificate": "ICBC-123"})
    assert r.status_code == 422 and r.json()["field"] == "bank_certificate"
    assert lost(service, number, bank_certificate="ICBC-2026-0001").status_code == 200
    loss = verdict(service)["loss"]
    assert loss["channel"] == "bank" and loss["bank_certificate"] == "ICBC-2026-0001"
    assert loss["effective_at"] == loss["recorded_at"]  # no bank time given: effective when recorded
    other, _ = issue(service, seed=2, reader=READERS[1])
    assert lost(service, other).status_code == 200  # neither detail: reported at the counter
    loss = verdict(service, READERS[1])["loss"]
    assert loss["channel"] == "counter" and loss["bank_certificate"] is None


def test_issuance_queue_and_duty_runs_by_role(service: Service) -> None:
    number = sample_permit(service, "smx")  # accepted today, due in 15 days (SMX Art.12), no card yet
    today = service.ctx.clock().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    q = service.call(Role.PRINT_STATION, "GET", "/api/duties/queue").json()
    row = next(r for r in q["rows"] if r["permit_number"] == number)
    assert row["due"] == (today + dt.timedelta(days=15)).isoformat() and row["days_left"] == 15
    late = service.call(Role.COUNTER, "GET", f"/api/duties/queue?on={today + dt.timedelta(days=16)}").json()
    row = next(r for r in late["rows"] if r["permit_number"] == number)
    assert row["overdue"] and late["overdue_by_county"] == {row["county_code"]: 1}
    assert service.call(Role.DEPARTMENT, "GET", "/api/duties/queue").status_code == 403
    assert service.call(Role.COUNTER, "POST", "/api/duties/run", json={"name": "overdue"}).status_code == 403
    ran = service.call(Role.ADMIN, "POST", "/api/duties/run", json={"name": "overdue"}).json()
    assert ran["ran"] and ran["last_outcome"] == "suspended 0, marked for re-registration 0"
    runs = {r["name"]: r for r in service.call(Role.COUNTER, "GET", "/api/duties/runs").json()}
    assert runs["overdue"]["last_outcome"] == ran["last_outcome"] and runs["deadline"]["last_run_at"] is None
    assert service.call(Role.ADMIN, "POST", "/api/duties/run", json={"name": "nope"}).json()["field"] == "name"


def test_notice_pdf_is_for_the_counter(service: Service) -> None:
    r = service.call(Role.COUNTER, "POST", "/api/duties/notice", json={"application_id": 999})
    assert r.status_code == 404 and r.json()["field"] == "application_id"  # type: ignore[attr-defined]
    assert service.call(Role.PRINT_STATION, "POST", "/api/duties/notice",
                        json={"application_id": 1}).status_code == 403  # type: ignore[attr-defined]
    assert service.call(Role.COUNTER, "GET", "/api/duties/receipt?fee_id=7").json()["field"] == "fee_id"  # type: ignore[attr-defined]
    number, _ = issue(service, seed=7)
    [first] = service.call(Role.COUNTER, "GET", f"/api/duties/fees?permit_number={number}").json()  # type: ignore[attr-defined]
    assert (first["event"], first["amount_fen"]) == ("first_issue", 0)  # ZZ Art.15: first issue free
    free = service.call(Role.COUNTER, "GET", f"/api/duties/receipt?fee_id={first['fee_id']}")
    assert free.status_code == 422 and "no receipt" in free.json()["detail"]  # type: ignore[attr-defined]


def test_termination_report_and_worklist(service: Service) -> None:
    # A day whose 7th working day the holiday calendar holds (cardsvc.duties.workdays refuses a year it
    # does not hold; the real date may be in the last days of the calendar's last year).
    service.ctx.clock = lambda: dt.datetime(2026, 6, 15, 4, tzinfo=dt.UTC)
    number = sample_permit(service, "zz", seed=5)
    today = service.ctx.clock().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    future = service.call(Role.COUNTER, "POST", f"/api/duties/terminations/{number}",
                          json={"reporter": "landlord", "ended_on": str(today + dt.timedelta(days=1))})
    assert future.status_code == 422 and future.json()["field"] == "ended_on"  # type: ignore[attr-defined]
    r = service.call(Role.COUNTER, "POST", f"/api/duties/terminations/{number}",
                     json={"reporter": "employer", "ended_on": str(today)}).json()  # type: ignore[attr-defined]
    assert r["reported_on"] == str(today) and not r["late"]
    [item] = service.call(Role.PRINT_STATION, "GET", "/api/duties/terminations").json()  # type: ignore[attr-defined]
    assert item["permit_number"] == number and item["reporter"] == "employer"
    assert service.call(Role.PRINT_STATION, "POST", f"/api/duties/terminations/{number}",
                        json={"reporter": "employer", "ended_on": str(today)}).status_code == 403  # type: ignore[attr-defined]


def test_residence_years_and_certificate(service: Service) -> None:
    number, _ = issue(service, "smx", seed=6)
    today = service.ctx.clock().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    r = service.call(Role.COUNTER, "GET", f"/api/duties/residence-years?permit_number={number}").json()  # type: ignore[attr-defined]
    assert r["continuous_years"] == 0 and r["spans"] == [
        {"start": str(today), "end": None, "started_by": "首次发证", "ended_by": None}]
    later = service.call(Role.COUNTER, "GET", f"/api/duties/residence-years?permit_number={number}"
                         f"&on={today.replace(year=today.year + 1)}").json()  # type: ignore[attr-defined]
    assert later["continuous_years"] == 1
    pdf = service.call(Role.COUNTER, "GET", f"/api/duties/residence-years.pdf?permit_number={number}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")  # type: ignore[attr-defined]
    assert service.call(Role.DEPARTMENT, "GET", f"/api/duties/residence-years.pdf?permit_number={number}"
                        ).status_code == 403  # type: ignore[attr-defined]


def test_termination_deadline_in_a_year_the_calendar_does_not_hold(service: Service) -> None:
    """ZZ Art.25 ¶1-2 counts working days by the State Council's notice; past the calendar's last year the
    report is kept (nothing lost) with its due date pending and its lateness undetermined, never counted as
    Monday-Friday; ¶3: the permit is on the worklist all the same."""
    from cardsvc.duties.workdays import covered_years

    last = covered_years().stop - 1
    service.ctx.clock = lambda: dt.datetime(last, 12, 29, 4, tzinfo=dt.UTC)
    number = sample_permit(service, "zz", seed=8)
    r = service.call(Role.COUNTER, "POST", f"/api/duties/terminations/{number}",
                     json={"reporter": "landlord", "ended_on": f"{last}-12-28"})
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    assert r.json()["due_on"] is None and r.json()["late"] is None  # type: ignore[attr-defined]
    [item] = service.call(Role.PRINT_STATION, "GET", "/api/duties/terminations").json()  # type: ignore[attr-defined]
    assert item["permit_number"] == number and item["due_on"] is None and item["late"] is None
