"""`cardsvc dept write|read` on a virtual card file: write, update, read back; audited without the values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cardsvc.cli import main
from cardsvc.issuance.jobs import IssuanceService
from cardsvc.layout import builtin_layout
from cardsvc.registry import make_engine, migrate, session_factory
from cardsvc.session import CardSession
from simulator.transport import InProcessConnection
from tests.issuance_support import ACTOR, blank_card, register, request_for
from tests.verify_support import make_keys, permit_for


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, str]:
    """A ZZ card issued through the registry (the department write checks it holds the card active)."""
    root = tmp_path_factory.mktemp("dept-cli")
    keys = make_keys(root / "keys")
    layout = builtin_layout("zz")
    permit = permit_for(layout, 51)
    db = f"sqlite:///{root / 'registry.sqlite3'}"
    migrate(db)
    factory = session_factory(make_engine(db))
    register(factory, permit, layout)
    card = blank_card()
    assert IssuanceService(factory, ACTOR, keys).issue(request_for(permit, layout),
                                                       CardSession(InProcessConnection(card))).issued
    card_file = root / "card.cbor"
    card.save(card_file)
    return root / "keys", card_file, db, permit.card_number


def test_write_update_read(setup: tuple[Path, Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    keys, card_file, db, number = setup
    base = ["--layout", "zz", "--department", "housing", "--card", str(card_file), "--keystore", str(keys),
            "--db", db, "--station", "ZZ-HOUSING-01", "--operator", "clerk7"]
    write = ["dept", "write", *base, "--record", "public_rental_eligibility"]
    assert main([*write, "--set", "eligible=1", "--set", "decision_number=ZGZ-2025-0117", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["seq"] == 1
    assert main([*write, "--set", "eligible=0", "--set", "decision_number=ZGZ-2025-0999", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seq"] == 2 and out["card_number"] == number
    assert main(["dept", "read", *base, "--json"]) == 0
    read = json.loads(capsys.readouterr().out)
    assert read["records"] == [{"record": "public_rental_eligibility", "seq": 2, "intact": True, "problems": [],
                                "values": {"eligible": "0", "decision_number": "ZGZ-2025-0999"}}]
    assert main(["dept", "read", *base]) == 0
    assert "public_rental_eligibility #2: eligible=0" in capsys.readouterr().out
    # A field the record does not declare: a clear error naming it, nothing written.
    assert main([*write, "--set", "landlord=x"]) == 2
    assert "landlord" in capsys.readouterr().err
    with create_engine(db).connect() as c:
        rows = c.execute(text("select action, station_id, operator, card_number, reason from audit_log "
                              "where action like 'department.record.%'")).all()
    assert [r[0] for r in rows] == ["department.record.write"] * 2 + ["department.record.read"] * 2
    assert all(r[1:4] == ("ZZ-HOUSING-01", "clerk7", number) for r in rows)
    assert not any("ZGZ" in r[4] for r in rows)  # never the values


def test_write_refused_on_a_card_reported_lost(setup: tuple[Path, Path, str, str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """ZZ Art.16-17 through the CLI: once reported lost (`cardsvc status --report-lost`, the API's path), the
    department writes nothing onto the card; its own record stays readable, with the standing shown."""
    keys, card_file, db, number = setup
    base = ["--layout", "zz", "--department", "housing", "--card", str(card_file), "--keystore", str(keys),
            "--db", db, "--station", "ZZ-HOUSING-01", "--operator", "clerk7"]
    write = ["dept", "write", *base, "--record", "public_rental_eligibility", "--set", "eligible=1"]
    assert main([*write, "--json"]) == 0
    seq = json.loads(capsys.readouterr().out)["seq"]
    oral = dt.datetime.now(dt.UTC).isoformat()  # after the issue, before the CLI records the report
    assert main(["status", "--card-number", number, "--report-lost", "--note", "电话挂失", "--db", db,
                 "--reported-at", oral, "--json"]) == 0
    capsys.readouterr()
    assert main([*write]) == 1
    err = capsys.readouterr().err
    assert f"card {number} is reported lost (ZZ Art.16-17)" in err and "not the holder's valid card" in err
    assert main(["dept", "read", *base, "--json"]) == 0
    read = json.loads(capsys.readouterr().out)
    assert (read["card_status"], read["card_usable"]) == ("lost", False)
    assert read["records"][0]["seq"] == seq  # nothing was written
