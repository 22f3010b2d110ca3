"""A third city is files only (issue 11 item 3): its layout TOML and face file are copied into a layouts
directory beside the shipped ones, the service and the CLI are pointed at it (CARDSVC_LAYOUTS_DIR), and a
permit of that city goes application → job → issue on a virtual card → counter verification genuine →
endorsement → loss report → verification shows it, once through the HTTP API and once through the CLI.

The new city is found as the layout the directory adds; no Python file names it (checked below).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cardsvc.api.auth import Role
from cardsvc.layout import Layout, load_layouts
from cardsvc.layout.loader import LAYOUT_DIR
from tests.cross.conftest import READERS, Api, make_cli, published_status_list

CITY_FILES = Path(__file__).resolve().parents[1] / "fixtures" / "cities"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def city(tmp_path: Path) -> tuple[Path, Layout]:
    """The shipped layouts directory with the new city's files added; (directory, the new city's layout)."""
    target = tmp_path / "layouts"
    shutil.copytree(LAYOUT_DIR.resolve(), target)
    for src in CITY_FILES.rglob("*.toml"):
        (target / src.relative_to(CITY_FILES)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target / src.relative_to(CITY_FILES))
    added = [layout for lid, layout in load_layouts(target).items() if lid not in load_layouts()]
    assert len(added) == 1, [layout.id for layout in added]
    return target, added[0]


def _own_aid(layout: Layout) -> bytes:
    return layout.df("permit").aid


def test_the_new_city_is_its_own(city: tuple[Path, Layout]) -> None:
    """Its own code, card numbers, county authorities, AIDs, face and rule numbers, from its files only."""
    _, layout = city
    shipped = load_layouts()
    assert layout.layout.city_code not in {s.layout.city_code for s in shipped.values()}
    assert all(a.code[:4] == layout.layout.city_code[:4] for a in layout.authorities)
    assert layout.card_number.prefix == layout.layout.city_code[:4]
    others = {df.aid for s in shipped.values() for df in (s.mf, *s.dfs)}
    assert not others & {df.aid for df in (layout.mf, *layout.dfs)}
    assert layout.face_path() is not None and layout.face_path().parent.parent == city[0]
    assert layout.rules.city == layout.id and layout.rules.endorsement_window.days == 45


def test_no_python_file_names_the_new_city(city: tuple[Path, Layout]) -> None:
    _, layout = city
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    needles = (layout.layout.city, layout.layout.city_code, f'"{layout.id}"', f"'{layout.id}'")
    naming = [(f, n) for f in files for n in needles if n in (ROOT / f).read_text(encoding="utf-8")]
    assert not naming


def test_third_city_through_the_api(city: tuple[Path, Layout], tmp_path: Path, api_factory: object) -> None:
    layouts_dir, layout = city
    db, keys = f"sqlite:///{tmp_path / 'registry.sqlite3'}", tmp_path / "keys"
    make_cli(db, keys, layouts_dir).run("keys", "init")  # signers for every authority in the directory
    api: Api = api_factory(db, keys, layouts_dir)  # type: ignore[operator]
    assert layout.id in [lay["id"] for lay in api.ok(Role.COUNTER, "GET", "/api/layouts")]
    # Application (the city's materials come from its file) → job → card in a virtual reader.
    application = api.ok(Role.COUNTER, "POST", "/api/applications/sample", 201, json={"layout_id": layout.id,
                                                                                      "seed": 4})
    assert application["accepted"], application
    number = application["permit_number"]
    job = api.ok(Role.PRINT_STATION, "POST", "/api/jobs", 201, json={"permit_number": number})
    assert job["card_number"].startswith(layout.card_number.prefix)
    done = api.run_job(job["id"])
    assert done["state"] == "issued", done
    card_id = api.ctx.hub.desk.cards()[0].card_id  # type: ignore[union-attr]
    exported = api.call(Role.ADMIN, "GET", f"/api/desk/{card_id}/image")
    assert exported.status_code == 200, exported.text
    image = exported.content
    assert _own_aid(layout) in image or _own_aid(layout).hex().upper() in image.decode("latin-1").upper()
    front = api.call(Role.PRINT_STATION, "GET", f"/api/faces/{number}/front.png")
    assert front.status_code == 200 and front.headers["content-type"] == "image/png"
    verdict = api.ok(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]})
    assert verdict["result"] == "genuine_valid", verdict
    # Address change to another county of the city: an endorsement record on the card.
    county = next(a for a in layout.authorities if a.code != verdict["display"].get("authority.code"))
    moved = api.ok(Role.ENDORSEMENT, "POST", "/api/endorsements", 201, json={
        "permit_number": number, "kind": "address_change", "new_county": county.code,
        "moved_on": dt.date.today().isoformat(), "residence_address": f"{layout.layout.city}新街1号",
        "reader": READERS[0]})
    assert moved["card_sync"] == "written", moved
    verdict = api.ok(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]})
    assert verdict["result"] == "genuine_valid", verdict
    assert verdict["display"]["endorsements"][-1]["residence_address"] == f"{layout.layout.city}新街1号"
    # Loss report (ZZ Art.16): the registry, the status list and the counter all say so.
    api.ok(Role.COUNTER, "POST", f"/api/permits/{number}/status",
           json={"action": "report_lost", "note": "holder reported the card lost"})
    verdict = api.ok(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]})
    assert verdict["result"] == "lost" and verdict["genuine"], verdict


def test_third_city_through_the_cli(city: tuple[Path, Layout], tmp_path: Path, api_factory: object) -> None:
    layouts_dir, layout = city
    db, keys, card = f"sqlite:///{tmp_path / 'registry.sqlite3'}", tmp_path / "keys", tmp_path / "card.cbor"
    cli = make_cli(db, keys, layouts_dir)
    cli.run("keys", "init")
    api: Api = api_factory(db, keys, layouts_dir)  # type: ignore[operator]

    def verify() -> dict[str, Any]:
        """The counter's verification against the signed status list published for this registry."""
        (tmp_path / "status.cose").write_bytes(published_status_list(api, layout.id))
        verdict: dict[str, Any] = cli.run("verify", "--layout", layout.id, "--card", str(card), "--show-data",
                                          "--status-list", str(tmp_path / "status.cose"), ok=False)
        return verdict

    # Application of a synthetic applicant with the city's materials, job, issue onto a card file.
    issued = cli.run("issue", "--layout", layout.id, "--card", str(card), "--sample", "1", "--quiet")
    assert issued["issued"] == 1, issued
    number, card_number = issued["cards"][0]["permit_number"], issued["cards"][0]["card_number"]
    assert card_number.startswith(layout.card_number.prefix)
    assert verify()["result"] == "genuine_valid"
    county = next(a.code for a in reversed(layout.authorities))
    endorsed = cli.run("endorse", "--layout", layout.id, "--card", str(card), "--permit-number", number,
                       "--new-county", county, "--address", f"{layout.layout.city}新街2号")
    assert endorsed["written"] == [1], endorsed
    verdict = verify()
    assert verdict["result"] == "genuine_valid" and len(verdict["endorsements"]) == 1, verdict
    status = cli.run("status", "--permit-number", number, "--report-lost", "--note", "holder reported it")
    assert status["status"] == "lost" and status["cards"][0]["status"] == "lost", status
    assert verify()["result"] == "lost"
