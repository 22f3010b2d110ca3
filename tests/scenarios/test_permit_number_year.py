"""The permit number's year and the issue day's year across 1 January.

SMX Art.11 "符合申领条件且证明材料齐全的，应当当场受理"; Art.12 "公安机关应当自受理之日起15日内制作发放居住证";
Art.14 "登载内容包括：…证件的签发机关和签发日期". The number is allocated when the application is accepted
(its year part is the acceptance year, cardsvc.permit.permit_number); the issue date is the day the first card
is made. An application accepted on 31 December and issued on 1 January (within Art.12's 15 days) is issued,
with the number of the old year and the issue date of the new one, and verifies genuine and valid; the day
before and the same day are ordinary.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cardsvc.permit.permit_number import parse_permit_number
from tests.api.conftest import Service
from tests.scenarios.support import TODAY, apply_ok, issue_ok, permit, set_day, verify

NEW_YEARS_EVE = date(TODAY.year, 12, 31)


@pytest.mark.parametrize("layout_id", ["smx", "zz"])
@pytest.mark.parametrize("issued_after", [0, 1, 15])  # same day; 1 January; the last day SMX Art.12 allows
def test_accepted_31_december_issued_in_january(svc: Service, layout_id: str, issued_after: int) -> None:
    number = apply_ok(svc, layout_id, 81, NEW_YEARS_EVE)
    assert parse_permit_number(number).year == NEW_YEARS_EVE.year
    issue_day = NEW_YEARS_EVE + timedelta(days=issued_after)
    set_day(svc, issue_day)
    card = issue_ok(svc, number)
    v = verify(svc)
    assert v["result"] == "genuine_valid" and v["card_number"] == card, v
    data = permit(svc, number)["data"]
    assert data["issue_date"] == issue_day.isoformat() and data["permit_number"] == number
    assert v["display"]["issue_date"] == issue_day.isoformat()
