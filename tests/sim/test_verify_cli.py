"""`cardsvc verify` / `cardsvc read` on a virtual card file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cardsvc.cli import main
from cardsvc.issuance.jobs import make_plan
from cardsvc.issuance.personalize import personalize
from cardsvc.layout import builtin_layout
from cardsvc.security import ceremony
from cardsvc.session import CardSession
from cardsvc.status_list import StatusEntry, StatusList, StatusListCache, sign_status_list
from cardsvc.status_list.model import ListStatus
from cardsvc.status_list.scope import list_scope
from simulator.transport import InProcessConnection
from tests.issuance_support import blank_card
from tests.verify_support import NOW, make_keys, permit_for


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, str]:
    root = tmp_path_factory.mktemp("cli")
    keys = make_keys(root / "keys")
    layout = builtin_layout("smx")
    permit = permit_for(layout, 41, photo_bytes=12_000)
    card = blank_card()
    personalize(CardSession(InProcessConnection(card)), make_plan(permit, layout, keys), keys, permit.authority.code)
    card_file = root / "card.cbor"
    card.save(card_file)
    scope = list_scope(layout)  # the counter pins its city registry's list and signer (design §7)
    name = ceremony.signer_name(ceremony.SignerRole.DOCUMENT, scope.signer_authority)
    listing = StatusList.build(scope.issuer, 1, NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=23),
                               [StatusEntry(permit.card_number, ListStatus.LOST)])
    status_file = root / "status.cbor"
    StatusListCache(status_file, keys.trust(), dt.timedelta(hours=24)).update(
        sign_status_list(listing, keys.store.private_key(name), keys.store.certificate(name)), NOW)
    return root / "keys", card_file, status_file, permit.card_number


def test_verify_json_reports_the_verdict_checks_and_cost(setup: tuple[Path, Path, Path, str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    keys, card_file, status_file, number = setup
    args = ["verify", "--card", str(card_file), "--layout", "smx", "--keystore", str(keys), "--json"]
    assert main([*args, "--status-list", str(status_file)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["result"] == "lost" and out["card_number"] == number
    assert {c["check"] for c in out["checks"]} >= {"passive_auth", "chip_auth", "status"}
    assert out["stats"]["apdus"] > 0 and out["stats"]["read_ratio"] <= 1.05
    assert "display" not in out  # personal data only with --show-data
    assert main(args) == 1  # no status source: fails closed
    assert json.loads(capsys.readouterr().out)["result"] == "status_unknown"


def test_verify_text_and_read(setup: tuple[Path, Path, Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    keys, card_file, status_file, number = setup
    code = main(["verify", "--card", str(card_file), "--layout", "smx", "--keystore", str(keys),
                 "--status-list", str(status_file)])
    text = capsys.readouterr().out
    assert code == 1 and text.startswith("LOST") and number in text
    assert main(["read", "--card", str(card_file), "--layout", "smx", "--keystore", str(keys),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["problems"] == [] and out["fields"]["card"]["card_number"] == number
    assert out["files"]["photo"] > 10_000


def test_verify_without_a_keystore_cannot_start(setup: tuple[Path, Path, Path, str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _, card_file, _, _ = setup
    assert main(["verify", "--card", str(card_file), "--layout", "smx"]) == 2
    assert "--keystore" in capsys.readouterr().err


def test_the_main_cli_carries_verify_and_read(setup: tuple[Path, Path, Path, str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from cardsvc.cli import main as cardsvc_main

    keys, card_file, status_file, number = setup
    code = cardsvc_main(["verify", "--card", str(card_file), "--layout", "smx", "--keystore", str(keys),
                         "--status-list", str(status_file), "--json"])
    assert code == 1 and json.loads(capsys.readouterr().out)["result"] == "lost"
    assert cardsvc_main(["read", "--card", str(card_file), "--layout", "smx", "--json"]) == 1  # no counter key
    out = json.loads(capsys.readouterr().out)
    assert [p["step"] for p in out["problems"]] == ["machine"] and out["fields"]["card"]["card_number"] == number
