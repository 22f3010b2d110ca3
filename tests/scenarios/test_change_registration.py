"""Change registration of the residence address (ZZ Art.14, SMX Art.17 ¶1), written to the card.

ZZ Art.14 "居住证持有人现居住地址、服务处所等登记事项发生变更的，应当自变更之日起 7 日内，
到现居住地公安派出所办理变更登记"; SMX Art.17 ¶1 "在三门峡市各县（市、区）行政区域内更换居住地的，
应在更换居住地15日内到现居住地登记站申请办理签注手续".
The change is recorded as an endorsement record carrying the new address (day 7 / 15 on time, the day after
flagged late but still recorded), and the counter reads the new address from the card.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import Service
from tests.scenarios.support import TODAY, apply_ok, endorse, issue_ok, set_day, verify

MOVED = TODAY + timedelta(days=30)


@pytest.mark.parametrize(("layout_id", "county", "deadline_days"), [("zz", "410105", 7), ("smx", "411202", 15)])
@pytest.mark.parametrize("offset", [0, 1])  # reported on the last day / the day after
def test_change_registration_deadline(svc: Service, layout_id: str, county: str, deadline_days: int,
                                      offset: int) -> None:
    number = apply_ok(svc, layout_id, 61, TODAY)
    issue_ok(svc, number)
    set_day(svc, MOVED + timedelta(days=deadline_days + offset))
    address = "郑州市金水区经三路12号" if layout_id == "zz" else "三门峡市湖滨区六峰路5号"
    r = endorse(svc, number, kind="address_change", new_county=county, moved_on=MOVED.isoformat(),
                residence_address=address)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["seq"] == 1 and out["card_sync"] == "written" and out["late"] is bool(offset), out
    v = verify(svc)
    assert v["result"] == "genuine_valid" and address in str(v["display"]["endorsements"][-1]), v
