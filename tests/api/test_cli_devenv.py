"""`cardsvc tokens …` and the `make run` bring-up (in-process readers; pcscd is never touched here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cardsvc.api import create_app
from cardsvc.cli import main
from cardsvc.security.keystore import PASSPHRASE_ENV
from devtools.devenv import bring_up


def test_tokens_cli_issue_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    assert main(["tokens", "--db", url, "issue", "--role", "department", "--station", "edu-9", "--label", "教育局",
                 "--department", "education", "--json"]) == 0
    issued = json.loads(capsys.readouterr().out)
    assert issued["token"].startswith("cst_") and issued["department"] == "education"
    assert main(["tokens", "--db", url, "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [{"id": issued["id"], "role": "department", "station_id": "edu-9", "department": "education",
                       "label": "教育局", "revoked": False}]
    assert issued["token"] not in json.dumps(listed)
    assert main(["tokens", "--db", url, "revoke", str(issued["id"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"id": issued["id"], "revoked": True}
    assert main(["tokens", "--db", url, "issue", "--role", "department", "--station", "x", "--label", "y"]) == 1
    assert "department: required" in capsys.readouterr().err


def test_dev_bring_up_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    var = tmp_path / "var"
    env = bring_up(var, use_pcscd=False, samples=1)
    try:
        assert (var / "dev-passphrase").stat().st_mode & 0o777 == 0o600
        assert os.environ[PASSPHRASE_ENV] == (var / "dev-passphrase").read_text()
        assert [(r.name, r.present) for r in env.hub.readers()] == [("Virtual Reader 0", True),
                                                                     ("Virtual Reader 1", True)]
        with TestClient(create_app(env.settings, hub=env.hub)) as client:
            h = {"Authorization": f"Bearer {env.admin_token}"}
            permits = client.get("/api/permits?status=pending", headers=h).json()
            assert sorted(p["city"] for p in permits) == ["smx", "zz"]
    finally:
        env.close()
        env.hub.close()
    certs = sorted((var / "keystore").rglob("*.crt.pem"))
    again = bring_up(var, use_pcscd=False, samples=1)
    try:
        assert again.admin_token != env.admin_token
        assert sorted((var / "keystore").rglob("*.crt.pem")) == certs  # no second ceremony
        assert len(again.hub.desk.cards()) == 2  # type: ignore[union-attr]  # the saved cards, reinserted
        with TestClient(create_app(again.settings, hub=again.hub)) as client:
            h = {"Authorization": f"Bearer {again.admin_token}"}
            assert len(client.get("/api/permits", headers=h).json()) == 2  # samples only on the first run
    finally:
        again.close()
        again.hub.close()
