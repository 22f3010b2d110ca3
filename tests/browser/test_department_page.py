"""The department counter page (issue 16 item 3) in a real headless Chromium: a card issued through the
API is in the reader; the education department reads its records, writes the enrolment record, updates
it, sees the write number and the integrity verdict, and toggles English."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cardsvc.api.auth import Role, issue_token
from cardsvc.api.deps import COOKIE
from tests.api.conftest import READERS, SETUP
from tests.browser.test_pages import CHROMIUM, FLAGS, SHOTS, Server, login, playwright_sync, server

__all__ = ["server"]


def _issue_card(server: Server) -> str:
    """An issued ZZ card left in reader 0, through the API as the print station would."""
    token = server.token(Role.ADMIN, "admin-dept-browser")

    def call(method: str, path: str, body: object | None = None) -> Any:
        req = urllib.request.Request(server.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:  # raises on 4xx/5xx
            return json.loads(r.read())

    number = call("POST", "/api/applications/sample", {"layout_id": "zz", "seed": 41})["permit_number"]
    job = call("POST", "/api/jobs", {"permit_number": number})
    call("POST", "/api/desk/insert", {"reader": READERS[0]})
    call("POST", f"/api/jobs/{job['id']}/run", {"reader": READERS[0]})
    deadline = time.monotonic() + 30
    while (state := call("GET", f"/api/jobs/{job['id']}"))["progress"].get("running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state["state"] == "issued", state
    return str(state["card_number"])


def _department_token(server: Server, department: str) -> str:
    with server.app.state.ctx.sessions.begin() as s:
        return issue_token(s, SETUP, role=Role.DEPARTMENT, station_id=f"{department}-browser", label=department,
                           department=department, at=datetime.now(UTC)).token


def test_department_page_reads_writes_updates(server: Server) -> None:
    card_number = _issue_card(server)
    token = _department_token(server, "education")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = login(browser, server, token)
            page.wait_for_url("**/dept")  # a department token lands on its counter page
            playwright_sync.expect(page.locator("[data-testid=department]")).to_have_text("教育")
            page.select_option("[data-testid=reader]", READERS[0])
            page.click("[data-testid=read]")
            playwright_sync.expect(page.locator("[data-testid=card]")).to_have_text(card_number)
            status = page.locator("[data-testid=status-education_enrolment]")
            playwright_sync.expect(status).to_have_text("卡上尚无此记录")
            assert "ZZ Art.21(6)" in page.locator("[data-record=education_enrolment] h2").inner_text()
            page.fill("[data-testid=field-education_enrolment-child_name]", "王小明")
            page.fill("[data-testid=field-education_enrolment-school]", "郑州市金水区第一小学")
            page.fill("[data-testid=field-education_enrolment-enrolled_on]", "20250901")
            page.click("[data-testid=write-education_enrolment]")
            playwright_sync.expect(status).to_have_text("完整性校验通过 · 写入次数 #1", timeout=10_000)
            page.fill("[data-testid=field-education_enrolment-school]", "郑州市金水区第二小学")
            page.click("[data-testid=write-education_enrolment]")
            playwright_sync.expect(status).to_have_text("完整性校验通过 · 写入次数 #2", timeout=10_000)
            playwright_sync.expect(page.locator("[data-testid=field-education_enrolment-school]")).to_have_value(
                "郑州市金水区第二小学")
            # A bad value: the problem names the field, nothing written.
            page.fill("[data-testid=field-education_enrolment-enrolled_on]", "2025-09")
            page.click("[data-testid=write-education_enrolment]")
            playwright_sync.expect(page.locator("[data-testid=error]")).to_contain_text("enrolled_on")
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "department.png"), full_page=True)
            page.click("[data-testid=lang]")
            playwright_sync.expect(page.locator("[data-testid=department]")).to_have_text("Education")
            playwright_sync.expect(status).to_have_text("Integrity verified · Write no. #2")
            playwright_sync.expect(page.locator("[data-record=education_enrolment] h2")).to_contain_text(
                "Child's school enrolment")
        finally:
            browser.close()


def test_department_page_needs_a_department_token(server: Server) -> None:
    counter = server.token(Role.COUNTER, "counter-dept-browser")
    netloc = urlsplit(server.url).netloc

    def get(headers: dict[str, str]) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection(netloc, timeout=10)
        conn.request("GET", "/dept", headers=headers)
        return conn.getresponse()

    assert get({"Cookie": f"{COOKIE}={counter}"}).status == 403  # a counter token: signed in, not a department
    assert get({}).getheader("location") == "/login?next=/dept"


def test_department_page_on_a_card_reported_lost(server: Server) -> None:
    """ZZ Art.16-17 (cardsvc.departments.standing): the page still shows the department's own record of a
    card reported lost, says the card is not the holder's valid card, and a write is refused."""
    from cardsvc.registry.lookup import card_by_number

    card_number = _issue_card(server)
    token = _department_token(server, "housing")
    counter = server.token(Role.COUNTER, "counter-dept-browser")
    with server.app.state.ctx.sessions() as s:
        permit_number = card_by_number(s, card_number).permit.permit_number
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = login(browser, server, token)
            page.wait_for_url("**/dept")
            page.select_option("[data-testid=reader]", READERS[0])
            page.click("[data-testid=read]")
            standing = page.locator("[data-testid=standing]")
            playwright_sync.expect(page.locator("[data-testid=card]")).to_have_text(card_number)
            playwright_sync.expect(standing).to_be_hidden()  # the holder's valid card
            page.fill("[data-testid=field-public_rental_eligibility-eligible]", "1")
            page.click("[data-testid=write-public_rental_eligibility]")
            status = page.locator("[data-testid=status-public_rental_eligibility]")
            playwright_sync.expect(status).to_have_text("完整性校验通过 · 写入次数 #1", timeout=10_000)
            r = page.request.post(server.url + f"/api/permits/{permit_number}/status",
                                  headers={"Authorization": f"Bearer {counter}"},
                                  data={"action": "report_lost", "note": "持证人挂失"})
            assert r.ok, r.text()
            page.click("[data-testid=read]")
            playwright_sync.expect(standing).to_have_text("此卡不是持证人的有效证件，不能写入部门数据 (已挂失)")
            playwright_sync.expect(standing).to_have_attribute("data-status", "lost")
            playwright_sync.expect(status).to_have_text("完整性校验通过 · 写入次数 #1")  # its own record, still shown
            page.fill("[data-testid=field-public_rental_eligibility-eligible]", "0")
            page.click("[data-testid=write-public_rental_eligibility]")
            playwright_sync.expect(page.locator("[data-testid=error]")).to_contain_text("reported lost (ZZ Art.16-17)")
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "department-lost-card.png"), full_page=True)
            page.click("[data-testid=lang]")
            playwright_sync.expect(standing).to_have_text(
                "Not the holder's valid card: department data cannot be written (reported lost)")
        finally:
            browser.close()
