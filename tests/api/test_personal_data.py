"""Issue 13 (ZZ Art.29, SMX Art.27): no personal data in audit rows, nor in the logs at any level — as
text or as the hex of an APDU trace. An operator's free-text note goes to the status history only, and a
note carrying a citizen ID or a phone number, in any spacing, is refused."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from cardsvc.api.auth import Role
from cardsvc.permit.record import load_permit
from cardsvc.registry.lookup import permit_by_number
from cardsvc.registry.models import AuditEntry
from tests.api.conftest import READERS, Service
from tests.api.helpers import issue


def encodings(value: str) -> list[str]:
    """The value as text and as the hex an APDU trace would print (spaced upper, plain lower/upper)."""
    raw = value.encode("utf-8")
    return [value, raw.hex(" ").upper(), raw.hex(), raw.hex().upper()]


@pytest.mark.parametrize("note", [
    "张先生来电挂失, 身份证 410105 19900101 123X",
    "holder's ID 4101-0519-9001-0112-3X",
    "联系电话 138 0013 8000",
    "call +86-138-0013-8000",
    "办公电话 0371-6562 1234",
])
def test_a_note_with_an_id_or_phone_number_is_refused(service: Service, note: str) -> None:
    number, _ = issue(service, "zz", seed=21)
    r = service.call(Role.COUNTER, "POST", f"/api/permits/{number}/status",
                     json={"action": "suspend", "reason": "circumstances_changed", "note": note})
    assert r.status_code == 422 and r.json()["field"] == "reason", r.text  # type: ignore[attr-defined]


def test_no_personal_data_in_audit_rows_or_logs_at_any_level(service: Service,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)  # every level, the APDU trace (below DEBUG) included
    number, job = issue(service, "zz", seed=22)
    note = "王小明本人来窗口说明情况"  # a name in free text: allowed in the status history, never in audit
    assert service.call(Role.COUNTER, "GET", f"/api/permits/{number}").status_code == 200  # type: ignore[attr-defined]
    assert service.call(Role.COUNTER, "POST", "/api/verify/reader",  # type: ignore[attr-defined]
                        json={"reader": READERS[0]}).status_code == 200
    r = service.call(Role.COUNTER, "POST", f"/api/permits/{number}/status",
                     json={"action": "suspend", "reason": "circumstances_changed", "note": note})
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    history = service.call(Role.COUNTER, "GET", f"/api/permits/{number}/history").json()  # type: ignore[attr-defined]
    assert any(note in h["reason"] for h in history)  # kept where only status-changing roles read it
    real_clock = service.ctx.clock
    service.ctx.clock = lambda: real_clock() + dt.timedelta(days=350)
    service.call(Role.ENDORSEMENT, "POST", "/api/endorsements", json={"permit_number": number, "reader": READERS[0]})
    service.ctx.clock = real_clock
    with service.ctx.sessions() as s:
        permit = load_permit(permit_by_number(s, number).data)
        audit_text = "\n".join(f"{a.action} {a.reason} {a.operator} {a.station_id} {a.card_number}"
                               for a in s.scalars(select(AuditEntry)))
    personal = [permit.name, permit.citizen_id, permit.residence_address, permit.household_address, note]
    if permit.contact:
        personal.append(permit.contact)
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert [r for r in caplog.records if r.levelno < logging.DEBUG]  # the trace really was on
    for value in personal:
        assert value not in audit_text, value
        for form in encodings(value):
            assert form not in log_text, (value, form)
    assert job["card_number"] in audit_text  # the audit names cards and permits by number
