"""A loss report (ZZ Art.16-17) through either door, the API and `cardsvc status --report-lost`, goes
through one path (cardsvc.duties.losses.report_loss_of): the same details (the bank's certificate number,
the oral report's time), the same refusals naming the same field, the same record on the counter's verdict."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from cardsvc.api.auth import Role
from cardsvc.cli import main
from tests.api.conftest import READERS, Service
from tests.api.helpers import issue


def _db(service: Service) -> str:
    return str(service.ctx.settings.database_url)


def _api(service: Service, number: str, action: str = "report_lost", **details: Any) -> tuple[str | None, str]:
    body = {"action": action, "note": "持证人挂失", **details}
    if action == "suspend":
        body["reason"] = "other"
    r: Any = service.call(Role.COUNTER, "POST", f"/api/permits/{number}/status", json=body)
    if r.status_code == 200:
        return None, ""
    assert r.status_code == 422, r.text
    return r.json()["field"], r.json()["detail"]


def _cli(service: Service, number: str, capsys: pytest.CaptureFixture[str], action: str = "report_lost",
         **details: Any) -> tuple[str | None, str]:
    args = ["status", "--permit-number", number, "--db", _db(service), "--note", "持证人挂失", "--json"]
    args += ["--report-lost"] if action == "report_lost" else ["--suspend", "other"]
    if "bank_certificate" in details:
        args += ["--bank-certificate", details["bank_certificate"]]
    if "reported_at" in details:
        args += ["--reported-at", details["reported_at"]]
    code = main(args)
    out = capsys.readouterr()
    if code == 0:
        return None, ""
    assert code == 1, out.err
    line = out.err.strip().removeprefix("cardsvc status: ")
    return line.split(":", 1)[0], line


REFUSED = [
    ({"bank_certificate": "no spaces"}, "report_lost", "bank_certificate"),  # 4-32 letters, digits or '-'
    ({"reported_at": "2026-03-01T09:30:00"}, "report_lost", "reported_at"),  # no time zone
    ({"reported_at": "2099-03-01T09:30:00+08:00"}, "report_lost", "reported_at"),  # after it is recorded
    ({"reported_at": "2020-03-01T09:30:00+08:00"}, "report_lost", "reported_at"),  # before the card was issued
    ({"bank_certificate": "ICBC-2026-0001"}, "suspend", "bank_certificate"),  # details of a loss report only
]


def test_both_doors_refuse_the_same_details_by_the_same_field(service: Service,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    number, _ = issue(service, "zz", seed=41)
    for details, action, field in REFUSED:
        api_field, api_detail = _api(service, number, action, **details)
        cli_field, cli_line = _cli(service, number, capsys, action, **details)
        assert api_field == cli_field == field, (details, api_detail, cli_line)
        if "2099" not in str(details):  # that message names the moment of recording, which differs
            assert cli_line == api_detail, (details, cli_line, api_detail)
    permit: Any = service.call(Role.COUNTER, "GET", f"/api/permits/{number}")
    assert permit.json()["status"] == "active"  # nothing was written by any refusal


@pytest.mark.parametrize("door", ["api", "cli"])
def test_both_doors_record_the_same_loss(service: Service, capsys: pytest.CaptureFixture[str], door: str) -> None:
    number, _ = issue(service, "zz", seed=42)
    oral = dt.datetime.now(dt.UTC)  # after the issue, before the report is recorded
    details = {"reported_at": oral.isoformat(), "bank_certificate": "ICBC-2026-0001"}
    field, message = (_api(service, number, **details) if door == "api" else _cli(service, number, capsys, **details))
    assert field is None, message
    r: Any = service.call(Role.COUNTER, "POST", "/api/verify/reader", json={"reader": READERS[0]})
    verdict = r.json()
    assert verdict["result"] == "lost", verdict
    loss = verdict["loss"]
    assert loss["channel"] == "bank" and loss["bank_certificate"] == "ICBC-2026-0001"
    assert dt.datetime.fromisoformat(loss["effective_at"].replace("Z", "+00:00")) == oral
    if door == "cli":
        assert main(["status", "--permit-number", number, "--db", _db(service), "--json"]) == 0
        card = json.loads(capsys.readouterr().out)["cards"][0]
        assert card["status"] == "lost" and card["loss"]["bank_certificate"] == "ICBC-2026-0001"
