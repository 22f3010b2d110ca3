"""Issue 16 item 1 over the real PC/SC stack (pyscard → pcscd → vpcd → simulator), for both cities' layouts:
each department writes, updates and reads each of its declared records through the API at its reader;
every other department's token is refused by the API and every other department's key by the card; an
altered record is reported, never shown; and once the card is reported lost (ZZ Art.16-17) the department
writes nothing onto it (cardsvc.departments.standing). Power torn at every APDU of a department write:
tests/departments/test_department_tearing.py (the simulator runtime, both layouts)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from applets.fs import DedicatedFile, TransparentEf
from cardsvc.api import ReaderMode, Settings, create_app
from cardsvc.api.auth import Role, issue_token
from cardsvc.departments.card import DepartmentCard, department_key_name, record_ef_parent
from cardsvc.departments.record import record_efs, slot_size
from cardsvc.iso7816.commands import update_binary
from cardsvc.iso7816.errors import ApduError
from cardsvc.issuance.jobs import IssuanceService
from cardsvc.issuance.keys import StationKeys
from cardsvc.layout import Layout, builtin_layout
from cardsvc.security.errors import AuthenticationError
from cardsvc.security.kdf import key_store_role
from cardsvc.security.keystore import EncryptedFileKeyStore
from cardsvc.security.mutual_auth import secure_session
from cardsvc.security.suite import layout_suite
from cardsvc.session import CardSession
from cardsvc.transport.pcsc import connect
from devtools.pcsc_stack import SimulatorCard
from simulator import VirtualCard
from simulator.transport import InProcessConnection
from tests.api.conftest import SETUP, keys_dir
from tests.departments.support import departments_with_records, sample_values
from tests.issuance_support import ACTOR, blank_card, register, request_for, sample_permit, variant
from tests.pcsc.conftest import InsertCard

__all__ = ["keys_dir"]
LAYOUTS = ("zz", "smx")
Tokens = dict[str, str]


@pytest.fixture
def service(tmp_path: Path, keys_dir: Path) -> Iterator[tuple[TestClient, FastAPI, Tokens]]:
    """The service on pcscd's readers; a department token for every department of both layouts (bound to
    its department) and a counter token under "counter"."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'registry.sqlite3'}", keystore_dir=keys_dir,
                        readers=ReaderMode.PCSC)
    app = create_app(settings)
    departments = sorted({df.department for lid in LAYOUTS for df in builtin_layout(lid).dfs if df.department})
    with TestClient(app) as c:
        with app.state.ctx.sessions.begin() as s:
            now = datetime.now(UTC)
            tokens = {d: issue_token(s, SETUP, role=Role.DEPARTMENT, station_id=f"{d[:20]}-pcsc", label=d,
                                     department=d, at=now).token for d in departments}
            tokens["counter"] = issue_token(s, SETUP, role=Role.COUNTER, station_id="counter-pcsc", label="counter",
                                            department=None, at=now).token
        yield c, app, tokens


def _issued_card_in_reader(app: FastAPI, keys_dir: Path, layout: Layout, insert_card: InsertCard, port: int,
                           n: int) -> tuple[str, str, SimulatorCard]:
    """A card issued through the service's own registry (it is the holder's valid card), put in vpcd's
    reader on `port`; returns (permit number, card number, the simulator process)."""
    keys = StationKeys(EncryptedFileKeyStore.for_layouts(keys_dir, [layout]))
    permit = variant(sample_permit(layout, 7000 + n), layout, n)
    register(app.state.ctx.sessions, permit, layout)
    card = blank_card()
    assert IssuanceService(app.state.ctx.sessions, ACTOR, keys).issue(
        request_for(permit, layout), CardSession(InProcessConnection(card))).issued
    return permit.permit_number, permit.card_number, insert_card(card, port)


def _call(c: TestClient, token: str, method: str, path: str, **kw: Any) -> Any:
    return c.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)


def _wait_present(c: TestClient, token: str, reader: str, card_number: str) -> None:
    """Until the service sees the card in `reader` (pcscd polls ~400 ms)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        readers = {r["name"]: r for r in _call(c, token, "GET", "/api/readers").json()}
        if readers.get(reader, {}).get("present"):
            return
        time.sleep(0.1)
    raise AssertionError(f"card {card_number} not seen in {reader}")


@pytest.mark.parametrize("layout_id", LAYOUTS)
def test_departments_write_update_read_through_pcscd(service: tuple[TestClient, FastAPI, Tokens], keys_dir: Path,
                                                    insert_card: InsertCard, reader_names: dict[int, str],
                                                    layout_id: str) -> None:
    c, app, tokens = service
    layout = builtin_layout(layout_id)
    reader = reader_names[35964]
    permit_number, number, _ = _issued_card_in_reader(app, keys_dir, layout, insert_card, 35964, 1)
    _wait_present(c, tokens["counter"], reader, number)
    departments = departments_with_records(layout)
    assert len(departments) >= 3, departments  # ZZ Art.21(2)-(3)/(6)/(7); SMX Art.21 ¶1, (1)-(3)
    for department in departments:
        for ef in record_efs(layout, department):
            for n in (1, 2):  # write, then update
                r = _call(c, tokens[department], "PUT", f"/api/departments/{department}/card/records/{ef.name}",
                          json={"reader": reader, "values": sample_values(ef, n)})
                assert r.status_code == 200, r.text
                assert r.json()["seq"] == n and r.json()["values"] == sample_values(ef, n) and r.json()["intact"]
        got = _call(c, tokens[department], "GET", f"/api/departments/{department}/card", params={"reader": reader})
        assert got.status_code == 200, got.text
        assert (got.json()["card_number"], got.json()["layout_id"], got.json()["card_status"]) == \
            (number, layout_id, "active")
        assert [(r["record"], r["seq"], r["values"]) for r in got.json()["records"]] == \
            [(ef.name, 2, sample_values(ef, 2)) for ef in record_efs(layout, department)]
        # Every other department's token (of either city): refused by the API before the card is touched.
        ef = record_efs(layout, department)[0]
        for other, token in tokens.items():
            if other in (department, "counter"):
                continue
            read = _call(c, token, "GET", f"/api/departments/{department}/card", params={"reader": reader})
            put = _call(c, token, "PUT", f"/api/departments/{department}/card/records/{ef.name}",
                        json={"reader": reader, "values": sample_values(ef, 9)})
            assert (read.status_code, put.status_code) == (403, 403), (other, read.text, put.text)
    # Reported lost (ZZ Art.16-17): no department writes onto it; its own record is still read, flagged.
    lost = _call(c, tokens["counter"], "POST", f"/api/permits/{permit_number}/status",
                 json={"action": "report_lost", "note": "持证人挂失"})
    assert lost.status_code == 200, lost.text
    department = departments[0]
    ef = record_efs(layout, department)[0]
    refused = _call(c, tokens[department], "PUT", f"/api/departments/{department}/card/records/{ef.name}",
                    json={"reader": reader, "values": sample_values(ef, 3)})
    assert refused.status_code == 422 and refused.json()["field"] == "card_number", refused.text
    assert "reported lost (ZZ Art.16-17)" in refused.json()["detail"]
    got = _call(c, tokens[department], "GET", f"/api/departments/{department}/card", params={"reader": reader})
    assert (got.json()["card_status"], got.json()["card_usable"]) == ("lost", False)
    assert got.json()["records"][0]["seq"] == 2 and got.json()["records"][0]["values"] == sample_values(ef, 2)


def _ef_data(card: VirtualCard, layout: Layout, department: str, fid: int) -> bytearray:
    adf = card.state.mf.child(layout.df(record_ef_parent(layout, department)).fid)
    assert isinstance(adf, DedicatedFile)
    ef = adf.child(fid)
    assert isinstance(ef, TransparentEf)
    return ef.data


@pytest.mark.parametrize("layout_id", LAYOUTS)
def test_altered_record_is_reported_through_pcscd(service: tuple[TestClient, FastAPI, Tokens], keys_dir: Path,
                                                  insert_card: InsertCard, reader_names: dict[int, str],
                                                  layout_id: str, tmp_path: Path) -> None:
    """Every declared record written through pcscd, then one byte of each altered on the card itself (the
    card pulled, its image edited, put back): the department's read reports each, shows none."""
    c, app, tokens = service
    layout = builtin_layout(layout_id)
    reader = reader_names[35963]
    _, number, sim = _issued_card_in_reader(app, keys_dir, layout, insert_card, 35963, 2)
    _wait_present(c, tokens["counter"], reader, number)
    slots: dict[str, int] = {}
    for department in departments_with_records(layout):
        for ef in record_efs(layout, department):
            r = _call(c, tokens[department], "PUT", f"/api/departments/{department}/card/records/{ef.name}",
                      json={"reader": reader, "values": sample_values(ef, 5)})
            assert r.status_code == 200, r.text
            slots[ef.name] = 0  # the first write of a blank EF goes to slot 0 (record.next_slot)
    sim.remove()  # SIGTERM: the simulator saves the card image
    card = VirtualCard.load(sim.card_file)
    for department in departments_with_records(layout):
        for ef in record_efs(layout, department):
            _ef_data(card, layout, department, ef.fid)[slots[ef.name] * slot_size(ef) + 7] ^= 0x01  # a body byte
    insert_card(card, 35963)
    _wait_present(c, tokens["counter"], reader, number)
    for department in departments_with_records(layout):
        got = _call(c, tokens[department], "GET", f"/api/departments/{department}/card", params={"reader": reader})
        assert got.status_code == 200, got.text
        for record in got.json()["records"]:
            assert not record["intact"] and record["values"] is None, record
            assert [p["slot"] for p in record["problems"]] == [slots[record["record"]]]
            assert "MAC" in record["problems"][0]["reason"]


@pytest.mark.parametrize("layout_id", LAYOUTS)
def test_card_refuses_every_other_departments_key_through_pcscd(
        service: tuple[TestClient, FastAPI, Tokens], keys_dir: Path, insert_card: InsertCard,
        reader_names: dict[int, str], layout_id: str) -> None:
    _, app, _ = service
    layout = builtin_layout(layout_id)
    _, number, _ = _issued_card_in_reader(app, keys_dir, layout, insert_card, 35963, 3)
    keys = StationKeys(EncryptedFileKeyStore.for_layouts(keys_dir, [layout]))
    all_departments = [df.department for df in layout.dfs if df.department]
    cipher = layout_suite(layout).cipher
    with connect(reader_names[35963], wait=10) as conn:
        for target in departments_with_records(layout):
            ef = record_efs(layout, target)[0]
            DepartmentCard(CardSession(conn), layout, target, keys.card_key).write(ef.name, sample_values(ef, 4))
            for other in all_departments:
                if other == target:
                    continue
                other_decl = layout.keys[department_key_name(layout, other)]
                s = CardSession(conn)
                s.select_aid(layout.df(record_ef_parent(layout, target)).aid)
                other_key = keys.card_key(key_store_role(other_decl.role), number)
                with (pytest.raises((ApduError, AuthenticationError)),
                      secure_session(s, other_key, other_decl.ref, cipher)):
                    s.send(update_binary(bytes(slot_size(ef)), sfi=ef.sfi), context="UPDATE BINARY other department")
            got = DepartmentCard(CardSession(conn), layout, target, keys.card_key).read(ef.name)
            assert got.values == sample_values(ef, 4) and got.intact, (target, got)
