"""Issue 16 item 1 over the real PC/SC stack (pyscard → pcscd → vpcd → simulator): each ZZ department
writes, updates and reads each of its records through the API at its reader; another department's token
is refused by the API and another department's key by the card."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cardsvc.api import ReaderMode, Settings, create_app
from cardsvc.api.auth import Role, issue_token
from cardsvc.departments.card import DepartmentCard, department_key_name, record_ef_parent
from cardsvc.departments.record import record_efs, slot_size
from cardsvc.iso7816.commands import update_binary
from cardsvc.iso7816.errors import ApduError
from cardsvc.issuance.jobs import make_plan
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.personalize import personalize
from cardsvc.layout import builtin_layout
from cardsvc.security.errors import AuthenticationError
from cardsvc.security.kdf import key_store_role
from cardsvc.security.keystore import EncryptedFileKeyStore
from cardsvc.security.mutual_auth import secure_session
from cardsvc.security.suite import layout_suite
from cardsvc.session import CardSession
from cardsvc.transport.pcsc import connect
from simulator.transport import InProcessConnection
from tests.api.conftest import SETUP, keys_dir
from tests.departments.support import departments_with_records, sample_values
from tests.issuance_support import blank_card
from tests.pcsc.conftest import InsertCard
from tests.verify_support import permit_for

__all__ = ["keys_dir"]
LAYOUT = builtin_layout("zz")


@pytest.fixture
def service(tmp_path: Path, keys_dir: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'registry.sqlite3'}", keystore_dir=keys_dir,
                        readers=ReaderMode.PCSC)
    app = create_app(settings)
    with TestClient(app) as c:
        with app.state.ctx.sessions.begin() as s:
            tokens = {df.department: issue_token(s, SETUP, role=Role.DEPARTMENT, station_id=f"{df.name[:20]}-pcsc",
                                                 label=df.department, department=df.department,
                                                 at=datetime.now(UTC)).token
                      for df in LAYOUT.dfs if df.department}
        yield c, tokens


def _issued_card_in_reader(keys_dir: Path, insert_card: InsertCard, port: int) -> str:
    keys = StationKeys(EncryptedFileKeyStore.for_layouts(keys_dir, [LAYOUT]))
    permit = permit_for(LAYOUT, 61)
    card = blank_card()
    personalize(CardSession(InProcessConnection(card)), make_plan(permit, LAYOUT, keys), keys,
                permit.authority.code)
    insert_card(card, port)
    return permit.card_number


def _wait_present(c: TestClient, token: str, reader: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        readers = {r["name"]: r for r in c.get("/api/readers", headers={"Authorization": f"Bearer {token}"}).json()}
        if readers.get(reader, {}).get("present"):
            return
        time.sleep(0.1)
    raise AssertionError(f"no card in {reader}")


def test_departments_write_update_read_through_pcscd(service: tuple[TestClient, dict[str, str]], keys_dir: Path,
                                                    insert_card: InsertCard, reader_names: dict[int, str]) -> None:
    c, tokens = service
    reader = reader_names[35964]
    number = _issued_card_in_reader(keys_dir, insert_card, 35964)
    _wait_present(c, tokens["education"], reader)
    for department in departments_with_records(LAYOUT):
        h = {"Authorization": f"Bearer {tokens[department]}"}
        for ef in record_efs(LAYOUT, department):
            for n in (1, 2):
                r = c.put(f"/api/departments/{department}/card/records/{ef.name}", headers=h,
                          json={"reader": reader, "values": sample_values(ef, n)})
                assert r.status_code == 200, r.text
                assert r.json()["seq"] == n and r.json()["values"] == sample_values(ef, n)
        got = c.get(f"/api/departments/{department}/card", params={"reader": reader}, headers=h).json()
        assert got["card_number"] == number
        assert [(r["record"], r["seq"], r["values"]) for r in got["records"]] == \
            [(ef.name, 2, sample_values(ef, 2)) for ef in record_efs(LAYOUT, department)]
        for other, token in tokens.items():
            if other != department:
                refused = c.get(f"/api/departments/{department}/card", params={"reader": reader},
                                headers={"Authorization": f"Bearer {token}"})
                assert refused.status_code == 403, (other, refused.text)


def test_card_refuses_another_departments_key_through_pcscd(keys_dir: Path, insert_card: InsertCard,
                                                           reader_names: dict[int, str]) -> None:
    number = _issued_card_in_reader(keys_dir, insert_card, 35963)
    keys = StationKeys(EncryptedFileKeyStore.for_layouts(keys_dir, [LAYOUT]))
    target, other = "housing", "education"
    ef = record_efs(LAYOUT, target)[0]
    with connect(reader_names[35963], wait=10) as conn:
        s = CardSession(conn)
        DepartmentCard(s, LAYOUT, target, keys.card_key).write(ef.name, sample_values(ef, 4))
        other_decl = LAYOUT.keys[department_key_name(LAYOUT, other)]
        s.select_aid(LAYOUT.df(record_ef_parent(LAYOUT, target)).aid)
        other_key = keys.card_key(key_store_role(other_decl.role), number)
        with (pytest.raises((ApduError, AuthenticationError)),
              secure_session(s, other_key, other_decl.ref, layout_suite(LAYOUT).cipher)):
            s.send(update_binary(bytes(slot_size(ef)), sfi=ef.sfi), context="UPDATE BINARY other department")
        got = DepartmentCard(CardSession(conn), LAYOUT, target, keys.card_key).read(ef.name)
        assert got.values == sample_values(ef, 4) and got.intact
