"""The duties in the real browser (issue 16 item 3): the print station's issuance-deadline queue (SMX Art.12)
flags an application overdue the day after its due day, per county; the counter's verdict for a card
reported lost shows how and when the loss took effect (ZZ Art.16-17). Chinese first, English toggle."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from cardsvc.api.auth import Role
from tests.api.conftest import READERS
from tests.browser.test_pages import CHROMIUM, FLAGS, SHOTS, Server, login, playwright_sync, server

__all__ = ["server"]
CHINA = dt.timezone(dt.timedelta(hours=8))


def call(page: Any, server: Server, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    r = page.request.fetch(server.url + path, method=method, headers={"Authorization": f"Bearer {token}"},
                           data=body)
    assert r.ok, (path, r.status, r.text())
    return r.json()


def test_issuance_deadline_queue_page(server: Server) -> None:
    admin = server.token(Role.ADMIN, "admin-browser")
    printer = server.token(Role.PRINT_STATION, "print-browser")
    real_clock = server.app.state.ctx.clock
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = login(browser, server, printer)
            page.wait_for_url("**/print")
            made = call(page, server, admin, "POST", "/api/applications/sample", {"layout_id": "smx", "seed": 3})
            number = made["permit_number"]
            page.goto(server.url + "/duties")
            row = page.locator("[data-testid=queue] tr", has_text=number)
            playwright_sync.expect(row).to_have_attribute("data-overdue", "false")
            playwright_sync.expect(row.locator("td").nth(1)).to_have_text("15")  # accepted today: 15 days left
            playwright_sync.expect(page.locator("[data-testid=by-county]")).to_have_text("无")
            for days, overdue, left in ((15, "false", "0"), (16, "true", "已逾期 (1)")):  # due day, day after
                server.app.state.ctx.clock = lambda d=days: real_clock() + dt.timedelta(days=d)
                page.click("[data-testid=refresh]")
                playwright_sync.expect(row.locator("td").nth(1)).to_have_text(left)
                playwright_sync.expect(row).to_have_attribute("data-overdue", overdue)
            county = row.locator("td").nth(2).inner_text()
            playwright_sync.expect(page.locator("[data-testid=by-county]")).to_have_text(f"{county}: 1")
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "duties-queue.png"), full_page=True)
            page.click("[data-testid=lang]")
            playwright_sync.expect(page.locator("h2").first).to_have_text("Issuance deadline (15 days)")
            playwright_sync.expect(row.locator("td").nth(1)).to_have_text("Overdue (1)")
            page.click("[data-testid=lang]")
        finally:
            server.app.state.ctx.clock = real_clock
            browser.close()


def test_loss_report_on_the_counter_verdict(server: Server) -> None:
    admin = server.token(Role.ADMIN, "admin-browser")
    counter_token = server.token(Role.COUNTER, "counter-browser")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            counter = login(browser, server, counter_token)
            counter.wait_for_url("**/counter")
            # issue a card into reader 0 through the API, as the print station would
            number = call(counter, server, admin, "POST", "/api/applications/sample", {"layout_id": "zz", "seed": 4}
                          )["permit_number"]
            job = call(counter, server, admin, "POST", "/api/jobs", {"permit_number": number})
            call(counter, server, admin, "POST", "/api/desk/insert", {"reader": READERS[0]})
            call(counter, server, admin, "POST", f"/api/jobs/{job['id']}/run", {"reader": READERS[0]})
            deadline = time.monotonic() + 30
            while call(counter, server, admin, "GET", f"/api/jobs/{job['id']}")["state"] != "issued":
                assert time.monotonic() < deadline, "job did not finish"
                time.sleep(0.1)
            oral = dt.datetime.now(CHINA).replace(microsecond=0)  # the oral report, just made
            call(counter, server, counter_token, "POST", f"/api/permits/{number}/status",
                 {"action": "report_lost", "note": "持证人电话挂失", "reported_at": oral.isoformat()})
            counter.select_option("[data-testid=reader]", READERS[0])
            verdict = counter.locator("[data-testid=verdict]")
            playwright_sync.expect(verdict).to_have_attribute("data-result", "lost", timeout=10_000)
            loss = counter.locator("[data-testid=loss]")
            playwright_sync.expect(loss.locator("caption")).to_have_text("挂失记录: 口头挂失")
            playwright_sync.expect(loss.locator("tr[data-field=loss_effective] td")).to_have_text(
                oral.strftime("%Y-%m-%d %H:%M"))
            SHOTS.mkdir(parents=True, exist_ok=True)
            counter.screenshot(path=str(SHOTS / "counter-loss-report.png"), full_page=True)
            counter.click("[data-testid=lang]")
            playwright_sync.expect(loss.locator("caption")).to_have_text("Loss report: Oral report (bank hotline)")
            playwright_sync.expect(loss.locator("tr[data-field=loss_effective] th")).to_have_text("Loss effective")
            counter.click("[data-testid=lang]")
            counter.click("[data-testid=desk-remove-card-1]")  # removal clears the loss lines with the verdict
            playwright_sync.expect(loss).to_be_hidden()
        finally:
            browser.close()
