"""The same doors through the CLI, run as a subprocess (`python -m cardsvc.cli`) on card files.

SMX Art.16 / ZZ Art.13 (the yearly endorsement writes the residence address to the card, within the window
before the anniversary): an address the endorsement record cannot hold is refused with the field and
nothing is recorded; an endorsement right after issue is refused with the window's dates.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cardsvc.permit.record import load_permit
from cardsvc.registry import make_engine, session_factory
from cardsvc.registry.lookup import permit_by_number
from cardsvc.registry.models import AuditEntry, Endorsement
from cardsvc.security.keystore import PASSPHRASE_ENV

ENV = {**os.environ, PASSPHRASE_ENV: "scenario cli passphrase"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cardsvc.cli", *args], capture_output=True, text=True, env=ENV,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("cli-station")
    done = cli("keys", "init", "--keystore", str(root / "ks"), "--layout", "smx")
    assert done.returncode == 0, done.stderr
    return root, ["--keystore", str(root / "ks"), "--db", f"sqlite:///{root / 'registry.sqlite3'}",
                  "--station", "S-01", "--operator", "tester"]


def test_cli_endorsement_door_and_window(station: tuple[Path, list[str]]) -> None:
    root, common = station
    card = root / "card.cbor"
    issued = cli("issue", "--layout", "smx", *common, "--card", str(card), "--sample", "1", "--seed", "3",
                 "--json", "--quiet")
    assert issued.returncode == 0, issued.stderr
    row = json.loads(issued.stdout)["cards"][0]
    assert row["state"] == "issued", row
    number = row["permit_number"]
    # 97 bytes: one more than the endorsement record's residence address holds (layouts/sanmenxia.toml)
    long_address = "三门峡市湖滨区" + "1" * 83
    refused = cli("endorse", "--layout", "smx", *common, "--card", str(card), "--permit-number", number,
                  "--address", long_address)
    assert refused.returncode != 0 and "residence_address" in refused.stderr, refused.stderr
    assert "97 bytes" in refused.stderr and "Traceback" not in refused.stderr
    too_early = cli("endorse", "--layout", "smx", *common, "--card", str(card), "--permit-number", number,
                    "--address", "三门峡市湖滨区崤山路8号")
    assert too_early.returncode != 0 and "window opens" in too_early.stderr, too_early.stderr
    factory = session_factory(make_engine(common[3]))
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Endorsement)) == 0  # nothing recorded
    status = cli("status", "--db", common[3], "--permit-number", number, "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["status"] == "active", status.stderr
    assert "basic_information" not in json.loads(status.stdout)  # personal data only when asked


def test_cli_basic_information(station: tuple[Path, list[str]]) -> None:
    """ZZ Art.33 "基础信息是指流动人口的姓名、性别、民族、出生日期、公民身份证号码、常住户口所在地住址、
    婚姻状况、服务处所、居住事由、联系方式等": shown by `cardsvc status --basic-info`; the read is
    audited (ZZ Art.29)."""
    root, common = station
    issued = cli("issue", "--layout", "smx", *common, "--card", str(root / "info.cbor"), "--sample", "1", "--seed", "5",
                 "--json", "--quiet")
    assert issued.returncode == 0, issued.stderr
    number = json.loads(issued.stdout)["cards"][0]["permit_number"]
    shown = cli("status", "--db", common[3], "--permit-number", number, "--basic-info", "--json",
                "--station", "S-01", "--operator", "tester")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)["basic_information"]
    assert set(info) == {"name", "sex", "ethnicity", "birth_date", "citizen_id", "household_address",
                         "residence_address", "marital_status", "service_place", "residence_reason", "contact"}
    factory = session_factory(make_engine(common[3]))
    with factory() as s:
        permit = load_permit(permit_by_number(s, number).data)
        reads = s.scalars(select(AuditEntry).where(AuditEntry.permit_number == number,
                                                   AuditEntry.action == "permit.read")).all()
    assert info["citizen_id"] == permit.citizen_id and info["name"] == permit.name
    assert info["contact"] == permit.contact and info["marital_status"] == permit.marital_status
    assert len(reads) == 1 and permit.citizen_id not in reads[0].reason


def test_cli_service_place_change(tmp_path: Path) -> None:
    """ZZ Art.14 "服务处所等登记事项发生变更的，应当自变更之日起 7 日内…办理变更登记": `cardsvc endorse
    --service-place` records the change and writes its signed record to the card; `cardsvc verify` shows the
    card's current service place. A value the record cannot hold: one line naming the field, nothing written."""
    keys = cli("keys", "init", "--keystore", str(tmp_path / "ks"), "--layout", "zz")
    assert keys.returncode == 0, keys.stderr
    common = ["--keystore", str(tmp_path / "ks"), "--db", f"sqlite:///{tmp_path / 'registry.sqlite3'}",
              "--station", "S-04", "--operator", "tester"]
    card = tmp_path / "zz.cbor"
    issued = cli("issue", "--layout", "zz", *common, "--card", str(card), "--sample", "1", "--seed", "11",
                 "--json", "--quiet")
    assert issued.returncode == 0, issued.stderr
    number = json.loads(issued.stdout)["cards"][0]["permit_number"]
    refused = cli("endorse", "--layout", "zz", *common, "--card", str(card), "--permit-number", number,
                  "--service-place", "郑" * 41)
    assert refused.returncode != 0 and "service_place" in refused.stderr and "Traceback" not in refused.stderr
    done = cli("endorse", "--layout", "zz", *common, "--card", str(card), "--permit-number", number,
               "--service-place", "郑州𠈌园物流有限公司", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changes_written"] == [1]
    shown = cli("verify", "--layout", "zz", "--keystore", str(tmp_path / "ks"), "--card", str(card), "--json",
                "--show-data")
    verdict = json.loads(shown.stdout)  # no status list given: status_unknown (exit 1), every card check passes
    assert verdict["result"] == "status_unknown", verdict
    assert all(c["outcome"] == "pass" for c in verdict["checks"] if c["check"] != "status"), verdict["checks"]
    assert verdict["display"]["current_service_place"] == "郑州𠈌园物流有限公司"
    assert [c["service_place"] for c in verdict["changes"]] == ["郑州𠈌园物流有限公司"]
