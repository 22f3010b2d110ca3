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
            # SMX Art.12: applications accepted 16, 15 and 14 days ago: due yesterday, today, tomorrow
            numbers = {}
            for seed, ago in ((3, 16), (4, 15), (5, 14)):
                server.app.state.ctx.clock = lambda a=ago: real_clock() - dt.timedelta(days=a)
                numbers[ago] = call(page, server, admin, "POST", "/api/applications/sample",
                                    {"layout_id": "smx", "seed": seed})["permit_number"]
            server.app.state.ctx.clock = real_clock
            page.goto(server.url + "/duties")
            rows = page.locator("[data-testid=queue] tr[data-overdue]")
            playwright_sync.expect(rows).to_have_count(3)
            for i, (ago, left, overdue) in enumerate(((16, "已逾期 (1)", "true"), (15, "0", "false"),
                                                      (14, "1", "false"))):  # ordered by due date
                row = rows.nth(i)
                playwright_sync.expect(row.locator("td").nth(4)).to_have_text(numbers[ago])
                playwright_sync.expect(row.locator("td").nth(1)).to_have_text(left)
                playwright_sync.expect(row).to_have_attribute("data-overdue", overdue)
            county = rows.nth(0).locator("td").nth(2).inner_text()
            playwright_sync.expect(page.locator("[data-testid=by-county]")).to_have_text(f"{county}: 1")
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "duties-queue.png"), full_page=True)
            page.click("[data-testid=lang]")
            playwright_sync.expect(page.locator("h2").first).to_have_text("Issuance deadline (15 days)")
            playwright_sync.expect(rows.nth(0).locator("td").nth(1)).to_have_text("Overdue (1)")
            page.click("[data-testid=lang]")
        finally:
            server.app.state.ctx.clock = real_clock
            browser.close()


def _issue_into_reader(page: Any, server: Server, admin: str, *, seed: int) -> str:
    """A ZZ sample permit issued into reader 0 through the API, as the print station would."""
    number: str = call(page, server, admin, "POST", "/api/applications/sample", {"layout_id": "zz", "seed": seed}
                       )["permit_number"]
    job = call(page, server, admin, "POST", "/api/jobs", {"permit_number": number})
    call(page, server, admin, "POST", "/api/desk/insert", {"reader": READERS[0]})
    call(page, server, admin, "POST", f"/api/jobs/{job['id']}/run", {"reader": READERS[0]})
    deadline = time.monotonic() + 30
    while call(page, server, admin, "GET", f"/api/jobs/{job['id']}")["state"] != "issued":
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.1)
    return number


def test_loss_report_on_the_counter_verdict(server: Server) -> None:
    admin = server.token(Role.ADMIN, "admin-browser")
    counter_token = server.token(Role.COUNTER, "counter-browser")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            counter = login(browser, server, counter_token)
            counter.wait_for_url("**/counter")
            number = _issue_into_reader(counter, server, admin, seed=4)
            time.sleep(1.1)  # the oral report, made after the card was issued (whole seconds)
            oral = dt.datetime.now(CHINA).replace(microsecond=0)
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


def test_bank_loss_report_from_the_cli_on_the_counter_verdict(server: Server) -> None:
    """ZZ Art.16 formal report through the other door (`cardsvc status --report-lost --bank-certificate …
    --reported-at …`, the API's code path): the counter page shows the channel, the certificate number and
    the moment the loss took effect (ZZ Art.17)."""
    from cardsvc.cli import main

    admin = server.token(Role.ADMIN, "admin-browser")
    counter_token = server.token(Role.COUNTER, "counter-browser")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            counter = login(browser, server, counter_token)
            counter.wait_for_url("**/counter")
            number = _issue_into_reader(counter, server, admin, seed=9)
            time.sleep(1.1)  # the bank's report, made after the card was issued (whole seconds)
            at_bank = dt.datetime.now(CHINA).replace(microsecond=0)
            assert main(["status", "--permit-number", number, "--report-lost", "--note", "持证人银行挂失",
                         "--bank-certificate", "ICBC-ZZ-2026-0042", "--reported-at", at_bank.isoformat(),
                         "--db", str(server.app.state.ctx.settings.database_url), "--json"]) == 0
            counter.select_option("[data-testid=reader]", READERS[0])
            verdict = counter.locator("[data-testid=verdict]")
            playwright_sync.expect(verdict).to_have_attribute("data-result", "lost", timeout=10_000)
            loss = counter.locator("[data-testid=loss]")
            playwright_sync.expect(loss.locator("caption")).to_have_text("挂失记录: 银行挂失证明")
            playwright_sync.expect(loss.locator("tr[data-field=bank_certificate] td")).to_have_text("ICBC-ZZ-2026-0042")
            playwright_sync.expect(loss.locator("tr[data-field=loss_effective] td")).to_have_text(
                at_bank.strftime("%Y-%m-%d %H:%M"))
        finally:
            browser.close()
