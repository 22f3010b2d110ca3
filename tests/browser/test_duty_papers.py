"""The printable papers of the /duties page in the real browser (issue 16 gap 6): each button yields a PDF
(opened in a new tab) whose text, read back with pypdf, holds the holder's facts:
- the one-time written notice of missing materials (SMX Art.11): the applicant, the application and every
  missing material with its article; a complete application gets no notice, and the page says why;
- the fee receipt of a replacement card (SMX Art.20 ¶2, ZZ Art.15): permit number, event, amount, article;
- the residence-years certificate (SMX Art.18, 25-26): holder, permit number, continuous years."""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import Any

import pypdf

from cardsvc.api.auth import Role
from cardsvc.rules.materials import Material
from tests.api.conftest import READERS
from tests.browser.test_duties_pages import CHINA, call
from tests.browser.test_pages import CHROMIUM, FLAGS, SHOTS, Server, login, playwright_sync, server
from tests.scenarios.support import application_body, sample_permit

__all__ = ["server"]


def _press(page: Any, button: str, path: str) -> str:
    """Press a paper button: the page fetches the PDF and opens it in a new tab (a blob: URL). The bytes the
    page received are taken on their way in (page.route passes them on unchanged); returns their text."""
    seen: list[bytes] = []

    def keep(route: Any) -> None:
        response = route.fetch()
        assert response.ok and response.headers["content-type"] == "application/pdf", response.status
        seen.append(response.body())
        route.fulfill(response=response)

    page.route(f"**{path}*", keep)
    try:
        with page.expect_popup() as popup:
            page.click(f"[data-testid={button}]")
    finally:
        page.unroute(f"**{path}*")
    assert popup.value.url.startswith("blob:"), popup.value.url
    popup.value.close()
    [body] = seen
    assert body.startswith(b"%PDF-"), body[:100]
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages)


def _run_job(page: Any, server: Server, admin: str, number: str, event: str, **extra: Any) -> dict[str, Any]:
    job = call(page, server, admin, "POST", "/api/jobs", {"permit_number": number, "event": event, **extra})
    page.request.post(server.url + "/api/desk/remove", headers={"Authorization": f"Bearer {admin}"},
                      data={"reader": READERS[0]})  # the card before, if any (409 when the reader is empty)
    call(page, server, admin, "POST", "/api/desk/insert", {"reader": READERS[0]})
    call(page, server, admin, "POST", f"/api/jobs/{job['id']}/run", {"reader": READERS[0]})
    deadline = time.monotonic() + 30
    while (done := call(page, server, admin, "GET", f"/api/jobs/{job['id']}"))["state"] != "issued":
        assert time.monotonic() < deadline, done
        time.sleep(0.1)
    return done


def test_notice_of_missing_materials_button(server: Server) -> None:
    counter_token = server.token(Role.COUNTER, "counter-browser")
    today = datetime.now(CHINA).date()  # the service's local date (cardsvc.registry.lookup.local_date)
    permit = sample_permit("smx", 21, today)
    body = application_body("smx", permit, today)
    body["materials"] = [Material.ID_CARD.value]  # SMX Art.9: the employment proof (and more) missing
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = login(browser, server, counter_token)
            page.wait_for_url("**/counter")
            app = call(page, server, counter_token, "POST", "/api/applications", body)
            assert not app["accepted"], app
            complete = call(page, server, counter_token, "POST", "/api/applications/sample",
                            {"layout_id": "smx", "seed": 22})
            page.goto(server.url + "/duties")
            page.fill("[data-testid=paper-application]", str(app["id"]))
            text = _press(page, "notice", "/api/duties/notice")
            lines = text.splitlines()
            assert lines[0] == "三门峡市居住证申领补充材料一次性告知书"
            assert f"申领人：{permit.name}" in lines
            assert f"申请编号：{app['id']}" in text and f"申请日期：{today.isoformat()}" in text
            missing = app["decision"]["missing"]
            numbered = [ln for ln in lines if ln[:1].isdigit() and "（SMX Art." in ln]
            assert len(numbered) == len(missing) > 0, (numbered, missing)  # every one at once
            assert "合法稳定就业证明" in text  # the missing employment proof, by its name on paper
            assert permit.citizen_id not in text  # the papers carry no citizen ID number
            # SMX Art.11 "一次性": pressed again, the same paper (kept with the application).
            assert _press(page, "notice", "/api/duties/notice") == text
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "duties-papers.png"), full_page=True)
            # A complete application lacks nothing: no notice, the page names the reason.
            page.fill("[data-testid=paper-application]", str(complete["id"]))
            page.click("[data-testid=notice]")
            playwright_sync.expect(page.locator("[data-testid=error]")).to_contain_text("lacks no material")
        finally:
            browser.close()


def test_fee_receipt_and_residence_certificate_buttons(server: Server) -> None:
    admin = server.token(Role.ADMIN, "admin-browser")
    counter_token = server.token(Role.COUNTER, "counter-browser")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = login(browser, server, counter_token)
            page.wait_for_url("**/counter")
            number = call(page, server, admin, "POST", "/api/applications/sample", {"layout_id": "zz", "seed": 23}
                          )["permit_number"]
            _run_job(page, server, admin, number, "first_issue")
            call(page, server, counter_token, "POST", f"/api/permits/{number}/status",
                 {"action": "report_lost", "note": "持证人挂失"})
            _run_job(page, server, admin, number, "replacement")  # 补领: charged (ZZ Art.15)
            fees = call(page, server, counter_token, "GET", f"/api/duties/fees?permit_number={number}")
            [charged] = [f for f in fees if f["amount_fen"] > 0]
            assert charged["event"] == "replacement"
            name = call(page, server, admin, "GET", f"/api/permits/{number}")["data"]["name"]
            page.goto(server.url + "/duties")
            page.fill("[data-testid=paper-fee]", str(charged["fee_id"]))
            receipt = _press(page, "receipt", "/api/duties/receipt").splitlines()
            yuan = f"{charged['amount_fen'] // 100}.{charged['amount_fen'] % 100:02d}"
            assert receipt[0] == "郑州市居住证工本费收据"
            for line in (f"居住证号码：{number}", "收费事项：补领居住证", f"金额：人民币 {yuan} 元",
                         f"依据：{charged['article']}"):
                assert line in receipt, (line, receipt)
            assert any(ln.startswith("收据编号：ZZ-") for ln in receipt)
            page.fill("[data-testid=paper-permit]", number)
            certificate = _press(page, "residence", "/api/duties/residence-years.pdf").splitlines()
            assert certificate[0] == "郑州市居住年限证明"
            assert f"持证人：{name}" in certificate and f"居住证号码：{number}" in certificate
            assert any(ln.endswith("连续居住年限：0 年") for ln in certificate), certificate  # issued today
            assert any("首次发证" in ln and "至今" in ln for ln in certificate), certificate
        finally:
            browser.close()
