"""End-to-end through the API on in-process virtual readers: issue, verify, faces, status, QR, endorsement,
retry after a pulled card, problem details, audit of every personal-data read, no personal data in logs."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from PIL import Image

from cardsvc.api.auth import Role
from cardsvc.api.services.cards import qr_text
from cardsvc.permit.record import load_permit
from cardsvc.registry.lookup import permit_by_number
from cardsvc.status_list import ListStatus, verify_status_list
from tests.api.conftest import READERS, Service
from tests.api.helpers import issue, sample_permit, wait_job


@pytest.mark.parametrize("layout_id", ["zz", "smx"])
def test_issue_then_verify_genuine_valid(service: Service, layout_id: str) -> None:
    number, job = issue(service, layout_id, seed=5)
    assert job["attempts"] == 1 and job["progress"]["done"] == job["progress"]["total"] > 0
    verdict = service.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]}).json()
    assert verdict["result"] == "genuine_valid" and verdict["valid"] and verdict["genuine"], verdict
    assert verdict["permit_number"] == number and verdict["card_number"] == job["card_number"]
    assert verdict["registry_status"] == "active" and verdict["photo"]
    with service.ctx.sessions() as s:
        stored = load_permit(permit_by_number(s, number).data)
    assert verdict["display"]["name"] == stored.name and verdict["display"]["citizen_id"] == stored.citizen_id
    audit = service.call(Role.ADMIN, "GET", f"/api/audit?permit_number={number}").json()
    actions = [a["action"] for a in audit]
    assert "issuance.first_issue.start" in actions and "permit.status.active" in actions
    verify_entries = service.call(Role.ADMIN, "GET", "/api/audit?limit=5").json()
    assert any(a["action"] == "card.verify" and a["station_id"] == "counter-1" for a in verify_entries)


def test_faces_status_list_and_qr(service: Service) -> None:
    number, job = issue(service, "zz", seed=6)
    front = service.call(Role.PRINT_STATION, "GET", f"/api/faces/{number}/front.png")
    assert front.status_code == 200 and front.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(front.content)).size == (1011, 638)
    pdf = service.call(Role.PRINT_STATION, "GET", f"/api/faces/{number}/face.pdf")
    assert pdf.content.startswith(b"%PDF")
    assert service.call(Role.COUNTER, "GET", f"/api/faces/{number}/front.png").status_code == 403
    # QR verification of the printed code, then a loss report changes the answer everywhere.
    with service.ctx.sessions() as s:
        permit = load_permit(permit_by_number(s, number).data)
    from dataclasses import replace
    text = qr_text(service.ctx, replace(permit, card_number=job["card_number"]))
    qr = service.call(Role.COUNTER, "POST", "/api/verify/qr", json={"text": text}).json()
    assert qr["valid"] and qr["display"]["permit_number"] == number
    bad = service.call(Role.COUNTER, "POST", "/api/verify/qr", json={"text": text[:-3] + "AAA"}).json()
    assert not bad["valid"] and bad["result"] == "invalid"
    lost = service.call(Role.COUNTER, "POST", f"/api/permits/{number}/status",
                        json={"action": "report_lost", "note": "holder reported the card lost"})
    assert lost.status_code == 200 and lost.json()[-1]["to_status"] == "lost"
    signed = service.call(Role.DEPARTMENT, "GET", "/api/status-list?layout_id=zz")
    assert signed.headers["content-type"] == "application/cose"
    status_list = verify_status_list(signed.content, service.ctx.station_keys().trust(), dt.datetime.now(dt.UTC))
    assert status_list.index()[job["card_number"]].status is ListStatus.LOST
    assert service.call(Role.COUNTER, "GET", f"/api/status/{job['card_number']}").json()["status"] == "lost"
    verdict = service.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]}).json()
    assert verdict["result"] == "lost" and verdict["genuine"] and not verdict["valid"]
    qr_lost = service.call(Role.COUNTER, "POST", "/api/verify/qr", json={"text": text}).json()
    assert not qr_lost["valid"] and "lost" in qr_lost["result"]


def test_pulled_card_fails_retryable_then_retry_issues(service: Service) -> None:
    number = sample_permit(service, "smx", seed=8)
    job = service.call(Role.PRINT_STATION, "POST", "/api/jobs", json={"permit_number": number}).json()
    service.call(Role.PRINT_STATION, "POST", "/api/desk/insert", json={"reader": READERS[1]})
    card = service.ctx.hub.desk.card_in(READERS[1])  # type: ignore[union-attr]
    card.cut_power(15)  # the card loses power at its 15th write: a card pulled mid-personalization
    service.call(Role.PRINT_STATION, "POST", f"/api/jobs/{job['id']}/run", json={"reader": READERS[1]})
    failed = wait_job(service, job["id"])
    assert failed["state"] == "failed_retryable" and failed["last_error"], failed
    half = service.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[1]}).json()
    assert not half["genuine"] and half["result"] != "genuine_valid"
    assert service.call(Role.PRINT_STATION, "POST", f"/api/jobs/{job['id']}/run",
                        json={"reader": READERS[1]}).status_code == 202  # run resumes a failed-retryable job
    done = wait_job(service, job["id"])
    assert done["state"] == "issued" and done["attempts"] == 2, done
    assert service.call(Role.PRINT_STATION, "POST", f"/api/jobs/{job['id']}/retry",
                        json={"reader": READERS[1]}).status_code == 409  # nothing left to retry
    verdict = service.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[1]}).json()
    assert verdict["result"] == "genuine_valid"


def test_image_upload_verification(service: Service) -> None:
    issue(service, "zz", seed=9)
    card_id = service.ctx.hub.desk.cards()[0].card_id  # type: ignore[union-attr]
    # The image carries the card's secret keys: admins of a dev service only (issue 13).
    assert service.call(Role.COUNTER, "GET", f"/api/desk/{card_id}/image").status_code == 403
    image = service.call(Role.ADMIN, "GET", f"/api/desk/{card_id}/image").content
    verdict = service.call(Role.COUNTER, "POST", "/api/verify/image", files={"file": ("card.cbor", image)}).json()
    assert verdict["result"] == "genuine_valid", verdict["reasons"]  # dev mode only, and it says so:
    chip = next(c for c in verdict["checks"] if c["check"] == "chip_auth")
    assert chip["outcome"] == "pass" and chip["detail"].startswith("DEV MODE")
    garbage = service.call(Role.COUNTER, "POST", "/api/verify/image", files={"file": ("card.cbor", b"\x00" * 40)})
    assert garbage.status_code == 422 and garbage.json()["field"] == "file"


def test_endorsement_written_to_card(service: Service) -> None:
    number, _ = issue(service, "smx", seed=10)
    early = service.call(Role.ENDORSEMENT, "POST", "/api/endorsements",
                         json={"permit_number": number, "reader": READERS[0]})
    assert early.status_code == 422 and "window opens" in early.json()["detail"]  # SMX Art.16
    real_clock = service.ctx.clock
    service.ctx.clock = lambda: real_clock() + dt.timedelta(days=350)  # inside the month before the anniversary
    r = service.call(Role.ENDORSEMENT, "POST", "/api/endorsements",
                     json={"permit_number": number, "reader": READERS[0], "residence_address": "三门峡市崤山路8号"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["seq"] == 1 and body["card_sync"] == "written"
    listed = service.call(Role.ENDORSEMENT, "GET", f"/api/endorsements?permit_number={number}").json()
    assert [e["card_sync"] for e in listed] == ["written"]
    service.ctx.clock = real_clock  # the dev CRL of the key store is current today, not in 350 days
    verdict = service.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]}).json()
    assert verdict["result"] == "genuine_valid", verdict
    assert verdict["display"]["endorsements"][0]["residence_address"] == "三门峡市崤山路8号"


def test_problem_details_name_the_field(service: Service) -> None:
    r = service.call(Role.ADMIN, "POST", "/api/jobs", json={"permit_number": "nope!"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "permit_number"
    r = service.call(Role.ADMIN, "GET", "/api/permits/41010520269999999")
    assert r.status_code == 404 and r.json()["field"] == "permit_number"
    r = service.call(Role.ADMIN, "POST", "/api/tokens", json={"role": "department", "station_id": "d", "label": "x"})
    assert r.status_code == 422 and r.json()["field"] == "department"
    r = service.call(Role.ADMIN, "POST", "/api/verify/reader", json={"reader": "No Such Reader"})
    assert r.status_code == 404 and r.json()["field"] == "reader"
    r = service.call(Role.ADMIN, "POST", "/api/verify/reader", json={"reader": READERS[1]})
    assert r.status_code == 409 and r.json()["type"].endswith("no-card")
    # A card error carries its status word: a blank card has no permit application to verify, but
    # issuing on a card whose file system refuses creation shows the SW; here: SELECT of a missing AID.
    service.call(Role.ADMIN, "POST", "/api/desk/insert", json={"reader": READERS[1]})
    blank = service.call(Role.ADMIN, "POST", "/api/verify/reader", json={"reader": READERS[1]}).json()
    assert blank["result"] == "unreadable" and not blank["genuine"]


def test_no_personal_data_in_logs(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)  # everything, APDU traffic included
    number, _ = issue(service, "zz", seed=12)
    service.call(Role.COUNTER, "GET", f"/api/permits/{number}")
    service.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]})
    with service.ctx.sessions() as s:
        permit = load_permit(permit_by_number(s, number).data)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records and permit.citizen_id not in text and permit.name not in text
    assert permit.residence_address not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_every_personal_data_read_is_audited(service: Service) -> None:
    number, job = issue(service, "zz", seed=13)
    card_id = service.ctx.hub.desk.cards()[0].card_id  # type: ignore[union-attr]
    reads = [
        (Role.COUNTER, "GET", f"/api/permits/{number}", "permit.read", "counter-1"),
        (Role.ENDORSEMENT, "GET", f"/api/permits/{number}/photo", "permit.read", "endorse-1"),
        (Role.PRINT_STATION, "GET", f"/api/faces/{number}/back.png", "permit.read", "print-1"),
        (Role.DEPARTMENT, "GET", f"/api/departments/education/permits/{number}", "department.read", "edu-1"),
        (Role.COUNTER, "POST", "/api/verify/reader", "card.verify", "counter-1"),
        (Role.ADMIN, "GET", f"/api/desk/{card_id}/image", "card.image.export", "admin-1"),  # admin-only (issue 13)
    ]
    for role, method, path, action, station in reads:
        kwargs = {"json": {"reader": READERS[0]}} if method == "POST" else {}
        assert service.call(role, method, path, **kwargs).status_code == 200, path  # type: ignore[attr-defined]
        latest = service.call(Role.ADMIN, "GET", "/api/audit?limit=1").json()[0]
        assert (latest["action"], latest["station_id"], latest["role"]) == (action, station, role.value), path
        assert latest["permit_number"] in (number, None) and latest["card_number"] in (job["card_number"], None)
