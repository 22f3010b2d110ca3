"""Steps the scenarios share, all through the public HTTP API (TestClient): apply, issue on a virtual card
in a reader, verify at the counter, endorse, report loss, replace, renew, correct, move the clock."""

from __future__ import annotations

import base64
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cardsvc.api.auth import Role
from cardsvc.layout import builtin_layout
from cardsvc.permit.model import Permit
from cardsvc.rules.materials import Ground
from cardsvc.samples import generate_permit
from tests.api.conftest import READERS, Service
from tests.api.helpers import wait_job

CHINA = ZoneInfo("Asia/Shanghai")
# The key ceremony's certificates start now: scenario days are counted from today (China).
TODAY = datetime.now(CHINA).date()
COUNTY = {"smx": "411202", "zz": "410105"}


def set_day(svc: Service, day: date) -> None:
    """The service's clock to noon (China) of `day`, or now when that is earlier (certificates start now;
    the scenarios' CRL is current for years, conftest.scenario_keys)."""
    at = max(datetime.combine(day, time(12), CHINA).astimezone(UTC), datetime.now(UTC))
    assert at.astimezone(CHINA).date() == day, day
    svc.ctx.clock = lambda: at


def sample_permit(layout_id: str, seed: int, today: date, **changes: Any) -> Permit:
    from dataclasses import replace
    permit = generate_permit(builtin_layout(layout_id), random.Random(seed), today=today, minor=False,
                             max_endorsements=0)
    return replace(permit, **changes)


def application_body(layout_id: str, permit: Permit, today: date, **applicant: Any) -> dict[str, Any]:
    """An application (with what the city asks of an employed applicant) carrying `permit`'s data."""
    layout = builtin_layout(layout_id)
    arrived = today - timedelta(days=400)
    body: dict[str, Any] = {
        "layout_id": layout_id,
        "applicant": {"name": permit.name, "sex": int(permit.sex), "ethnicity": permit.ethnicity,
                      "birth_date": permit.birth_date.isoformat(), "citizen_id": permit.citizen_id,
                      "photo": base64.b64encode(permit.photo).decode(),
                      "household_address": permit.household_address,
                      "residence_address": permit.residence_address, "service_place": permit.service_place,
                      "contact": permit.contact, "marital_status": permit.marital_status,
                      "residence_reason": permit.residence_reason},
        "registration": {"county_code": COUNTY[layout_id], "arrived_on": arrived.isoformat(),
                         "registered_on": arrived.isoformat(), "intended_stay_days": 730},
        "grounds": [Ground.EMPLOYMENT.value],
        "materials": sorted(m.value for m in layout.rules.materials_needed(
            frozenset({Ground.EMPLOYMENT}), via_agent="guardian" in applicant)),
    }
    body["applicant"].update(applicant)
    return body


def apply(svc: Service, body: dict[str, Any]) -> Any:
    return svc.call(Role.COUNTER, "POST", "/api/applications", json=body)


def apply_ok(svc: Service, layout_id: str, seed: int, today: date, **applicant: Any) -> str:
    set_day(svc, today)
    r = apply(svc, application_body(layout_id, sample_permit(layout_id, seed, today), today, **applicant))
    assert r.status_code == 201, r.text
    number: str = r.json()["permit_number"]
    assert number, r.json()
    return number


def run_job(svc: Service, number: str, event: str = "first_issue", reader: str = READERS[0],
            **extra: Any) -> dict[str, Any]:
    """A job of `event` for the permit on a new blank card in `reader`; returns the finished job."""
    r = svc.call(Role.PRINT_STATION, "POST", "/api/jobs", json={"permit_number": number, "event": event, **extra})
    assert r.status_code in (200, 201), r.text
    job = r.json()
    svc.call(Role.PRINT_STATION, "POST", "/api/desk/remove", json={"reader": reader})
    assert svc.call(Role.PRINT_STATION, "POST", "/api/desk/insert", json={"reader": reader}).status_code == 200
    run = svc.call(Role.PRINT_STATION, "POST", f"/api/jobs/{job['id']}/run", json={"reader": reader})
    assert run.status_code == 202, run.text
    done: dict[str, Any] = wait_job(svc, job["id"])
    return done


def issue_ok(svc: Service, number: str, event: str = "first_issue", reader: str = READERS[0],
             **extra: Any) -> str:
    done = run_job(svc, number, event, reader, **extra)
    assert done["state"] == "issued", done
    card: str = done["card_number"]
    return card


def verify(svc: Service, reader: str = READERS[0]) -> dict[str, Any]:
    r = svc.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": reader})
    assert r.status_code == 200, r.text
    verdict: dict[str, Any] = r.json()
    return verdict


def endorse(svc: Service, number: str, reader: str | None = READERS[0], **body: Any) -> Any:
    payload = {"permit_number": number, **body}
    if reader:
        payload["reader"] = reader
    return svc.call(Role.ENDORSEMENT, "POST", "/api/endorsements", json=payload)


def status(svc: Service, number: str, action: str, **body: Any) -> Any:
    return svc.call(Role.COUNTER, "POST", f"/api/permits/{number}/status",
                    json={"action": action, "note": "scenario", **body})


def permit(svc: Service, number: str) -> dict[str, Any]:
    r = svc.call(Role.ADMIN, "GET", f"/api/permits/{number}")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def card_status(svc: Service, card_number: str) -> dict[str, Any]:
    r = svc.call(Role.COUNTER, "GET", f"/api/status/{card_number}")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def counts(svc: Service) -> tuple[int, int]:
    """(applications, permits) in the registry: what a refused request must leave unchanged."""
    apps = svc.call(Role.COUNTER, "GET", "/api/applications").json()
    permits = svc.call(Role.ADMIN, "GET", "/api/permits").json()
    return len(apps), len(permits)


def insert_card(svc: Service, card_number: str, reader: str = READERS[1]) -> None:
    """Put the (virtual) card labelled `card_number` from the desk into `reader`."""
    svc.call(Role.COUNTER, "POST", "/api/desk/remove", json={"reader": reader})
    cards = svc.call(Role.COUNTER, "GET", "/api/desk").json()
    card_id = next(c["card_id"] for c in cards if c["label"] == card_number)
    r = svc.call(Role.COUNTER, "POST", "/api/desk/insert", json={"reader": reader, "card_id": card_id})
    assert r.status_code == 200, r.text
