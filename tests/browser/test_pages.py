"""The pages in a real headless Chromium (Debian's, driven by Playwright): issue a card on the print-station
page, verify it on the counter page through the virtual readers, with live updates on insertion and
removal, the zh/en toggle, and screenshots whose verdict colour the test checks.

Screenshots go to $CARDSVC_SCREENSHOTS (default build/screenshots/, git-ignored).
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from PIL import Image

from cardsvc.api import ReaderMode, Settings, create_app
from cardsvc.api.auth import Role, issue_token
from tests.api.conftest import READERS, SETUP

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("CARDSVC_SCREENSHOTS", "build/screenshots"))
GREEN, RED = (0x1B, 0x7F, 0x3B), (0xB3, 0x26, 0x1E)  # --ok / --bad in static/style.css

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"chromium not found at {CHROMIUM}: the browser tier must run in CI")
    pytest.skip("Debian chromium is not installed (make system-deps installs it as root)", allow_module_level=True)


class Server:
    def __init__(self, tmp: Path, keys_dir: Path) -> None:
        settings = Settings(database_url=f"sqlite:///{tmp / 'registry.sqlite3'}", keystore_dir=keys_dir,
                            readers=ReaderMode.VIRTUAL, virtual_readers=READERS, dev=True)
        self.app = create_app(settings)
        # Port 0: the OS picks a free one (never the vpcd ports).
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning",
                                                    timeout_graceful_shutdown=1))  # pages hold long polls
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def token(self, role: Role, station: str) -> str:
        with self.app.state.ctx.sessions.begin() as s:
            return issue_token(s, SETUP, role=role, station_id=station, label=f"{role.value} browser",
                               department=None, at=datetime.now(UTC)).token


@pytest.fixture
def server(tmp_path: Path, keys_dir: Path) -> Iterator[Server]:
    with Server(tmp_path, keys_dir) as srv:
        yield srv


def login(browser: object, server: Server, token: str, lang: str = "zh") -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.url + "/login")
    page.evaluate(f"localStorage.setItem('cardsvc.lang', '{lang}')")
    page.fill("[data-testid=token]", token)
    page.click("[data-testid=login]")
    return page


def verdict_colour(page: object, name: str) -> tuple[int, int, int]:
    """Screenshot the page, save it, and return the mean colour inside the verdict box."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=str(SHOTS / name), full_page=True)  # type: ignore[attr-defined]
    box = page.locator("[data-testid=verdict]").bounding_box()  # type: ignore[attr-defined]
    image = Image.open(io.BytesIO(png)).convert("RGB")
    inner = image.crop((int(box["x"]) + 4, int(box["y"]) + 4, int(box["x"] + 40), int(box["y"] + 12)))
    r, g, b = (round(sum(band.histogram()[v] * v for v in range(256)) / (inner.width * inner.height))
               for band in inner.split())
    return r, g, b


def close_to(colour: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(colour, target, strict=True))


def test_issue_on_print_page_then_verify_on_counter_page(server: Server) -> None:
    admin = server.token(Role.ADMIN, "admin-browser")
    counter_token = server.token(Role.COUNTER, "counter-browser")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            # --- print station: sample application → job → blank card in reader 0 → write → face ---------
            page = login(browser, server, admin)
            page.wait_for_url("**/print")
            page.click("[data-testid=sample]")
            create = page.locator("[data-testid^=create-]").first
            create.wait_for()
            permit_number = (create.get_attribute("data-testid") or "").removeprefix("create-")
            create.click()
            run = page.locator("[data-testid^=run-]").first
            run.wait_for()
            page.click("[data-testid=desk-new]")  # a blank virtual card into Virtual Reader 0
            page.locator("[data-card-label]").first.wait_for()
            run.click()
            job_row = page.locator("[data-testid^=job-]").first
            playwright_sync.expect(job_row).to_have_attribute("data-state", "issued", timeout=20_000)
            front = page.locator("[data-testid=face-front]")
            front.wait_for()
            page.wait_for_function("document.querySelector('[data-testid=face-front]').naturalWidth > 0")
            assert page.evaluate("document.querySelector('[data-testid=face-front]').naturalWidth") == 1011
            card_number = job_row.locator("td").nth(2).inner_text()
            page.locator(f"[data-card-label='{card_number}']").wait_for()  # the desk labels the issued card
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "print-station.png"), full_page=True)
            page.click("[data-testid=desk-remove-card-1]")  # take the new card out of the print reader

            # --- counter: the card goes into reader 1; the page updates by itself -------------------------
            counter = login(browser, server, counter_token)
            counter.wait_for_url("**/counter")
            counter.select_option("[data-testid=reader]", READERS[1])
            verdict = counter.locator("[data-testid=verdict]")
            playwright_sync.expect(verdict).to_have_text("请插入居住证")
            counter.click("[data-testid=desk-insert-card-1]")
            playwright_sync.expect(verdict).to_have_attribute("data-result", "genuine_valid", timeout=10_000)
            playwright_sync.expect(verdict).to_contain_text("真实有效")
            fields = counter.locator("[data-testid=fields]")
            playwright_sync.expect(fields.locator("tr[data-field=permit_number] td")).to_have_text(permit_number)
            playwright_sync.expect(fields.locator("tr[data-field=card_number] td")).to_have_text(card_number)
            assert counter.evaluate("document.querySelector('[data-testid=photo]').naturalWidth") > 0
            assert close_to(verdict_colour(counter, "counter-genuine.png"), GREEN)
            counter.click("[data-testid=lang]")  # English toggle
            playwright_sync.expect(verdict).to_contain_text("Genuine and valid")
            playwright_sync.expect(fields.locator("tr[data-field=permit_number] th")).to_have_text("Permit number")
            counter.screenshot(path=str(SHOTS / "counter-genuine-en.png"), full_page=True)
            counter.click("[data-testid=lang]")

            # --- endorsement page: reads the card's permit number; a fresh card is refused as too early ----
            page.goto(server.url + "/endorse")
            page.select_option("[data-testid=reader]", READERS[1])
            page.click("[data-testid=read]")
            playwright_sync.expect(page.locator("[data-testid=permit]")).to_have_value(permit_number)
            page.click("[data-testid=endorse]")
            playwright_sync.expect(page.locator("[data-testid=error]")).to_contain_text("window opens")
            page.screenshot(path=str(SHOTS / "endorse-too-early.png"), full_page=True)

            # --- removal clears the page; a loss report turns the same card red ---------------------------
            counter.click("[data-testid=desk-remove-card-1]")
            playwright_sync.expect(verdict).to_have_text("请插入居住证")
            page.request.post(server.url + f"/api/permits/{permit_number}/status",
                              headers={"Authorization": f"Bearer {admin}"},
                              data={"action": "report_lost", "note": "browser test loss report"})
            counter.click("[data-testid=desk-insert-card-1]")
            playwright_sync.expect(verdict).to_have_attribute("data-result", "lost", timeout=10_000)
            playwright_sync.expect(verdict).to_contain_text("已挂失")
            assert close_to(verdict_colour(counter, "counter-lost.png"), RED)
            playwright_sync.expect(counter.locator("[data-testid=reasons] li").first).to_contain_text("status")
        finally:
            browser.close()
    for name in ("print-station.png", "counter-genuine.png", "counter-genuine-en.png", "counter-lost.png"):
        assert (SHOTS / name).stat().st_size > 10_000
