"""The service and the CLI for a city whose layout names its own SM2 signer ID (issue 14 item 2).

The layouts directory is the fixture city alone (tests/fixtures/cities/sm2id, `sm2_distid =
"ALICE123@YAHOO.COM"`): `cardsvc keys init` makes the ceremony in that ID, the service opens its key store
in it, and a permit goes application → job → card → counter verdict → endorsement → QR check → signed
status list, all under the city ID. The QR and the status list the service signed are checked by the
trust store at the city ID and refused at the default one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from cardsvc.api.auth import Role
from cardsvc.api.services import cards
from cardsvc.layout import load_layout
from cardsvc.permit.record import load_permit
from cardsvc.qr import verify_qr_text
from cardsvc.registry.lookup import permit_by_number
from cardsvc.security import ceremony
from cardsvc.security.errors import SecurityError
from cardsvc.security.keystore import EncryptedFileKeyStore
from cardsvc.security.suite import GM, layout_suite
from cardsvc.status_list import open_status_list
from tests.cross.conftest import READERS, Api, make_cli, published_status_list

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cities" / "sm2id" / "zhengzhou_sm2id.toml"


def test_a_city_with_its_own_sm2_id_through_the_service(tmp_path: Path, api_factory: object) -> None:
    layout = load_layout(FIXTURE)
    db, keys = f"sqlite:///{tmp_path / 'registry.sqlite3'}", tmp_path / "keys"
    make_cli(db, keys, FIXTURE.parent).run("keys", "init")
    api: Api = api_factory(db, keys, FIXTURE.parent)  # type: ignore[operator]
    assert api.ctx.keystore.suite == layout_suite(layout) and api.ctx.keystore.suite.distid == b"ALICE123@YAHOO.COM"
    application = api.ok(Role.COUNTER, "POST", "/api/applications/sample", 201, json={"layout_id": layout.id,
                                                                                      "seed": 6})
    assert application["accepted"], application
    number = application["permit_number"]
    job = api.ok(Role.PRINT_STATION, "POST", "/api/jobs", 201, json={"permit_number": number})
    assert api.run_job(job["id"])["state"] == "issued"
    verdict = api.ok(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]})
    assert verdict["result"] == "genuine_valid", verdict
    county = next(a for a in layout.authorities if a.code != verdict["display"].get("authority.code"))
    moved = api.ok(Role.ENDORSEMENT, "POST", "/api/endorsements", 201, json={
        "permit_number": number, "kind": "address_change", "new_county": county.code,
        "moved_on": dt.date.today().isoformat(), "residence_address": f"{layout.layout.city}新街3号",
        "reader": READERS[0]})
    assert moved["card_sync"] == "written", moved
    verdict = api.ok(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]})
    assert verdict["result"] == "genuine_valid" and len(verdict["display"]["endorsements"]) == 1, verdict
    # The printed QR (what the face carries), signed by the service and checked by its QR route (city ID).
    with api.ctx.sessions() as s:
        permit = replace(load_permit(permit_by_number(s, number).data), card_number=job["card_number"])
    text = cards.qr_text(api.ctx, permit)
    checked = api.ok(Role.COUNTER, "POST", "/api/verify/qr", json={"text": text})
    assert checked["result"] == "genuine_valid" and checked["display"]["card_number"] == job["card_number"], checked
    # Both, and the signed status list, verify under the city ID and not under the default one.
    trust = ceremony.trust_store(EncryptedFileKeyStore.for_layouts(keys, [layout]))
    now = dt.datetime.now(dt.UTC)
    verify_qr_text(text, trust, now)
    with pytest.raises(SecurityError):
        verify_qr_text(text, trust.with_suite(GM), now)
    blob = published_status_list(api, layout.id)
    assert open_status_list(blob, trust, now).sequence >= 1
    with pytest.raises(SecurityError):
        open_status_list(blob, trust.with_suite(GM), now)
