"""The printed QR code never contradicts the chip (issue 12).

ZZ Art.8: the face carries "有效期限等基础信息和二维码"; SMX Art.16 / ZZ Art.13: the yearly endorsement writes
the new validity on the card ("在原居住证证件上签注 … 有效期限"), not on the face. So the code proves identity
and print-time data; validity and status come from the registry, as the chip's verdict does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from cardsvc.api.auth import Role
from cardsvc.api.services.cards import qr_text
from cardsvc.permit.record import load_permit
from cardsvc.registry.lookup import permit_by_number
from cardsvc.rules.dates import add_years
from tests.api.conftest import Service
from tests.scenarios.support import TODAY, apply_ok, endorse, issue_ok, set_day, status, verify

A = add_years(TODAY, 1)


def _qr(svc: Service, number: str, card: str) -> str:
    with svc.ctx.sessions() as s:
        permit = load_permit(permit_by_number(s, number).data)
    return qr_text(svc.ctx, replace(permit, card_number=card))


def _check(svc: Service, text: str) -> dict[str, Any]:
    r = svc.call(Role.COUNTER, "POST", "/api/verify/qr", json={"text": text})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


@pytest.mark.parametrize("layout_id", ["smx", "zz"])
def test_qr_agrees_with_the_chip_around_the_valid_until_day(svc: Service, layout_id: str) -> None:
    number = apply_ok(svc, layout_id, 41, TODAY)
    card = issue_ok(svc, number)
    text = _qr(svc, number, card)
    for day, expected in ((A - timedelta(days=1), "genuine_valid"), (A, "expired"), (A + timedelta(days=1), "expired")):
        set_day(svc, day)
        chip, qr = verify(svc), _check(svc, text)
        assert chip["result"] == expected and qr["result"] == expected, (day, chip["result"], qr)
        assert qr["display"]["valid_until"] == A.isoformat()  # the printed date, as printed


def test_permit_endorsed_on_time_is_valid_by_qr_past_its_printed_date(svc: Service) -> None:
    number = apply_ok(svc, "zz", 42, TODAY)
    card = issue_ok(svc, number)
    text = _qr(svc, number, card)
    set_day(svc, A - timedelta(days=10))
    assert endorse(svc, number, kind="yearly").status_code == 201
    set_day(svc, A + timedelta(days=30))  # the face's date has passed; the chip holds the endorsement
    chip, qr = verify(svc), _check(svc, text)
    assert chip["result"] == "genuine_valid" and qr["result"] == "genuine_valid" and qr["valid"], qr
    assert qr["display"]["printed_validity_passed"] is True
    assert qr["display"]["current_valid_until"] == add_years(A, 1).isoformat()
    # a loss report changes both answers alike
    assert status(svc, number, "report_lost").status_code == 200
    assert verify(svc)["result"] == "lost" and _check(svc, text)["result"] == "lost"
    bad = _check(svc, text[:-3] + "AAA")
    assert bad["result"] == "invalid" and not bad["valid"]
