"""Temporary registrations through the CLI (`cardsvc registration add|list|end`, a subprocess) on SQLite.

ZZ Art.11 "（三）租赁房屋居住的流动人员，由房屋出租人办理"; SMX Art.7 "应当主动…申报暂住登记" (the holder);
SMX Art.17 ¶2 "应到现居住地登记站申报暂住登记" (a holder's new registration after a move). A bad value is one
line on stderr naming the field, exit status non-zero, nothing written; `cardsvc status` shows the holder's
registrations.
"""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from cardsvc.registry import make_engine, session_factory
from cardsvc.registry.lookup import local_date
from cardsvc.registry.models import TemporaryRegistration
from tests.scenarios.test_cli import cli

CID = "11010519491231002X"  # GB 11643's well-known example


def _count(db: str) -> int:
    with session_factory(make_engine(db))() as s:
        return int(s.scalar(select(func.count()).select_from(TemporaryRegistration)) or 0)


def test_cli_registration_add_list_end(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    common = ["--db", db, "--station", "S-02", "--operator", "tester"]
    today = local_date(dt.datetime.now(dt.UTC))
    arrived = (today - timedelta(days=20)).isoformat()
    added = cli("registration", "add", *common, "--citizen-id", CID, "--county", "410105", "--arrived-on", arrived,
                "--registered-on", arrived, "--stay-days", "365", "--declared-by", "landlord", "--json")
    assert added.returncode == 0, added.stderr
    rec = json.loads(added.stdout)
    assert rec["declared_by"] == "landlord" and rec["in_force"] and len(rec["certificate_number"]) == 16, rec
    # SMX Art.7: a landlord does not report a registration in Sanmenxia
    refused = cli("registration", "add", *common, "--citizen-id", CID, "--county", "411202", "--arrived-on", arrived,
                  "--stay-days", "365", "--declared-by", "landlord")
    assert refused.returncode != 0 and "declared_by" in refused.stderr and "SMX Art.7" in refused.stderr
    assert "Traceback" not in refused.stderr
    for bad, field in ((["--certificate", "123"], "certificate_number"),
                       (["--valid-until", (today - timedelta(days=30)).isoformat()], "valid_until")):
        refused = cli("registration", "add", *common, "--citizen-id", CID, "--county", "410105",
                      "--arrived-on", arrived, "--registered-on", arrived, "--stay-days", "365", *bad)
        assert refused.returncode != 0 and field in refused.stderr and "Traceback" not in refused.stderr, refused
    refused = cli("registration", "add", *common, "--citizen-id", CID[:17] + "1", "--county", "410105",
                  "--arrived-on", arrived, "--stay-days", "365")
    assert refused.returncode != 0 and "citizen_id" in refused.stderr, refused.stderr  # GB 11643 check character
    assert _count(db) == 1
    # its last day is in force (ended_on: the last day it held); from the next day it is not
    ended = cli("registration", "end", *common, "--id", str(rec["id"]), "--reason", "moved", "--json")
    assert ended.returncode == 0, ended.stderr
    assert json.loads(ended.stdout)["ended_on"] == today.isoformat() and json.loads(ended.stdout)["in_force"]
    again = cli("registration", "end", *common, "--id", str(rec["id"]), "--reason", "moved")
    assert again.returncode != 0 and "already ended" in again.stderr
    listed = cli("registration", "list", *common, "--citizen-id", CID, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(r["id"], r["end_reason"], r["in_force"]) for r in json.loads(listed.stdout)] == \
        [(rec["id"], "moved", True)]


def test_cli_holder_registration_in_status(tmp_path: Path) -> None:
    """A permit holder's new registration (SMX Art.17 ¶2) by permit number, shown by `cardsvc status`."""
    keys = cli("keys", "init", "--keystore", str(tmp_path / "ks"), "--layout", "smx")
    assert keys.returncode == 0, keys.stderr
    db = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    common = ["--db", db, "--station", "S-03", "--operator", "tester"]
    issued = cli("issue", "--layout", "smx", "--keystore", str(tmp_path / "ks"), *common,
                 "--card", str(tmp_path / "c.cbor"), "--sample", "1", "--seed", "9", "--json", "--quiet")
    assert issued.returncode == 0, issued.stderr
    number = json.loads(issued.stdout)["cards"][0]["permit_number"]
    yesterday = (local_date(dt.datetime.now(dt.UTC)) - timedelta(days=1)).isoformat()
    added = cli("registration", "add", *common, "--permit-number", number, "--county", "411224",
                "--arrived-on", yesterday, "--stay-days", "730", "--json")
    assert added.returncode == 0, added.stderr
    shown = cli("status", "--db", db, "--permit-number", number, "--json")
    assert shown.returncode == 0, shown.stderr
    regs = json.loads(shown.stdout)["registrations"]
    # the sample's own registration (cardsvc.issuance.demo), then the new one in 卢氏县
    assert len(regs) == 2 and regs[-1]["id"] == json.loads(added.stdout)["id"], regs
    assert regs[-1]["county_code"] == "411224" and regs[-1]["declared_by"] == "self"
