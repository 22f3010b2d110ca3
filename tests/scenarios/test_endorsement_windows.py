"""Yearly endorsement windows, through the API onto the card and through the counter verifier.

SMX Art.16 "居住证持有人在居住地连续居住的，应当在居住每满1年之日前1个月内 … 办理签注手续";
SMX Art.18 "逾期不超过半年补办签注手续的，居住证的使用功能恢复，居住证持有人在居住地的居住年限自补办签注手续之日起
连续计算。超过半年申请补办签注手续的，需重新申报暂住登记";
ZZ Art.13 "持证人在居住地连续居住的，应当在居住满一年之日前三十日内，到居住地公安派出所办理签注手续" (no limit for a
late one). A = the anniversary: SMX on time A − 1 month … A − 1 day; A is 1 day overdue; late through
A + 6 months − 1 day; from A + 6 months re-register. ZZ on time A − 30 days … A − 1 day; late always.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cardsvc.rules.dates import add_months, add_years
from tests.api.conftest import Service
from tests.scenarios.support import TODAY, apply_ok, endorse, issue_ok, set_day, verify

A = add_years(TODAY, 1)  # first anniversary of a permit issued today
D = timedelta(days=1)

SMX_CASES = [
    (add_months(A, -1) - D, "too_early"),  # day before 前1个月 opens
    (add_months(A, -1), "yearly"),  # first on-time day
    (A - D, "yearly"),  # last on-time day
    (A, "late"),  # the anniversary: 1 day overdue
    (add_months(A, 6) - D, "late"),  # 逾期不超过半年: last day
    (add_months(A, 6), "reregister"),  # 超过半年: re-register (SMX Art.18)
]
ZZ_CASES = [
    (A - timedelta(days=31), "too_early"),
    (A - timedelta(days=30), "yearly"),  # 前三十日内 opens
    (A - D, "yearly"),
    (A, "late"),
    (add_years(A, 2), "late"),  # ZZ states no upper limit
]


@pytest.mark.parametrize(("layout_id", "day", "outcome"),
                         [("smx", d, o) for d, o in SMX_CASES] + [("zz", d, o) for d, o in ZZ_CASES])
def test_window_boundary(svc: Service, layout_id: str, day: date, outcome: str) -> None:
    number = apply_ok(svc, layout_id, 21, TODAY)
    card = issue_ok(svc, number)
    set_day(svc, day)
    before = verify(svc)
    assert before["card_number"] == card and before["genuine"], before
    # the chip's validity (A) decides before any endorsement: valid before A, expired from A on
    assert before["result"] == ("genuine_valid" if day < A else "expired"), before
    r = endorse(svc, number, kind="yearly")
    if outcome == "too_early":
        assert r.status_code == 422 and "window opens" in r.json()["detail"], r.text
        assert verify(svc)["result"] == "genuine_valid"
        return
    if outcome == "reregister":
        assert r.status_code == 422 and "temporary registration must be made anew" in r.json()["detail"], r.text
        assert f"{(day - A).days + 1} days overdue" in r.json()["detail"]
        assert verify(svc)["result"] == "expired"
        return
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["kind"] == outcome and out["seq"] == 1 and out["card_sync"] == "written", out
    # on time: the next anniversary counts from the old anchor; late (SMX Art.18, and the ZZ layout alike):
    # from the endorsement day, so an accepted endorsement always looks ahead
    expected = add_years(A, 1) if outcome == "yearly" else add_years(day, 1)
    assert date.fromisoformat(out["valid_until"]) == expected, out
    after = verify(svc)
    assert after["result"] == "genuine_valid" and after["valid"], after
