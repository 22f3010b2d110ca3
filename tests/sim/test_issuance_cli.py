"""`cardsvc keys init / issue / endorse / status` against virtual card files and a SQLite registry."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardsvc.cli import ProgressLine, main
from cardsvc.issuance.batch import CardProgress
from cardsvc.issuance.demo import register_permit
from cardsvc.permit.record import PermitRecordError, dump_permit, load_permit
from cardsvc.registry import make_engine, session_factory
from cardsvc.security.keystore import PASSPHRASE_ENV
from simulator import VirtualCard
from tests.issuance_support import ACTOR, card_number_on, layouts, sample_permit


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    root = tmp_path_factory.mktemp("station")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PASSPHRASE_ENV, "cli test passphrase")
        assert main(["keys", "init", "--keystore", str(root / "ks"), "--layout", "zz", "--layout", "smx"]) == 0
        yield root, ["--keystore", str(root / "ks"), "--db", f"sqlite:///{root / 'registry.sqlite3'}",
                     "--station", "T-01", "--operator", "tester"]


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, object]:
    code = main(argv)
    captured = capsys.readouterr()
    out = captured.out
    return code, json.loads(out) if out.strip().startswith(("{", "[")) else out + captured.err


@pytest.mark.parametrize("layout_id", ["zz", "smx"])
def test_issue_a_batch_to_card_files_then_status_and_endorse(
        station: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        layout_id: str) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "cli test passphrase")
    root, common = station
    files = [root / f"{layout_id}-{n}.cbor" for n in range(2)]
    code, data = run_json(capsys, ["issue", "--layout", layout_id, *common, "--card", str(files[0]), "--card",
                                   str(files[1]), "--sample", "2", "--seed", "7", "--json", "--quiet"])
    assert code == 0 and isinstance(data, dict), data
    assert data["issued"] == 2 and {c["state"] for c in data["cards"]} == {"issued"}
    layout = next(lay for lay in layouts() if lay.id == layout_id)
    by_file = {row["reader"]: row for row in data["cards"]}
    assert set(by_file) == {f.name for f in files}  # one card per file
    for path in files:
        assert card_number_on(VirtualCard.load(path), layout) == by_file[path.name]["card_number"]  # saved
    permit_number = by_file[files[0].name]["permit_number"]
    code, status = run_json(capsys, ["status", "--db", common[3], "--permit-number", permit_number, "--json"])
    assert code == 0 and isinstance(status, dict)
    assert status["status"] == "active" and status["cards"][0]["status"] == "active"
    assert status["jobs"][0]["state"] == "issued"
    # Nothing pending in the registry: a sync writes nothing and says so.
    code, synced = run_json(capsys, ["endorse", "--layout", layout_id, *common, "--card", str(files[0]),
                                     "--permit-number", permit_number, "--sync-only", "--json"])
    assert code == 0 and isinstance(synced, dict) and synced["written"] == [], synced
    # A new endorsement right after issue is refused by the city rule, with the dates, and no trace.
    code = main(["endorse", "--layout", layout_id, *common, "--card", str(files[0]), "--permit-number",
                 permit_number, "--address", "新地址1号"])
    err = capsys.readouterr().err
    assert code == 1 and "window opens" in err and "Traceback" not in err


def test_issue_unknown_permit_is_a_clear_error(station: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "cli test passphrase")
    root, common = station
    code = main(["issue", "--layout", "zz", *common, "--card", str(root / "x.cbor"), "--permit-number", "NOPE"])
    err = capsys.readouterr().err
    assert code == 1 and "NOPE" in err and "Traceback" not in err
    assert not (root / "x.cbor").exists()  # no card touched


def test_too_few_card_files(station: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "cli test passphrase")
    root, common = station
    code = main(["issue", "--layout", "zz", *common, "--card", str(root / "y.cbor"), "--sample", "2"])
    assert code == 2 and "--card files" in capsys.readouterr().err


def test_progress_line_reports_each_finished_card() -> None:
    stream = io.StringIO()
    bar = ProgressLine(2, stream)
    bar(CardProgress("r0", 0, "C1", 10, 64, "create photo"))
    bar(CardProgress("r0", 0, "C1", 1, 1, "issued", finished=True))
    bar(CardProgress("r1", 1, "C2", 1, 1, "failed: pulled", finished=True))
    assert stream.getvalue().splitlines() == ["[1/2] r0: card C1 issued", "[2/2] r1: card C2 failed: pulled"]


def test_plugins_add_their_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("issue", "endorse", "status", "keys", "verify"):
        assert command in out


def test_issue_a_registered_permit_by_number(station: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry holds the permit data (cardsvc.permit.record); the station issues from it."""
    monkeypatch.setenv(PASSPHRASE_ENV, "cli test passphrase")
    root, common = station
    layout = next(lay for lay in layouts() if lay.id == "zz")
    permit = sample_permit(layout, 77, endorsements=0)
    assert load_permit(dump_permit(permit)) == permit
    with pytest.raises(PermitRecordError, match="birth_date"):
        load_permit({**dump_permit(permit), "birth_date": "1990-13-01"})
    engine = make_engine(common[3])
    register_permit(session_factory(engine), ACTOR, permit, layout)
    engine.dispose()
    card = root / "by-number.cbor"
    code, data = run_json(capsys, ["issue", "--layout", "zz", *common, "--card", str(card), "--permit-number",
                                   permit.permit_number, "--json", "--quiet"])
    assert code == 0 and isinstance(data, dict) and data["issued"] == 1, data
    assert card_number_on(VirtualCard.load(card), layout) == permit.card_number
