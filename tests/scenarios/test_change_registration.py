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


SERVICE_PLACE = "郑州𠈌园物流有限公司"  # a rare character (CJK Ext. B) in the new service place


@pytest.mark.parametrize("offset", [-1, 0, 1])  # ZZ Art.14: day 6, day 7 (the last on time), day 8 (late)
def test_zz_art14_service_place_change_on_the_card(svc: Service, offset: int) -> None:
    """ZZ Art.14 "服务处所等登记事项发生变更的，应当自变更之日起 7 日内…办理变更登记": a changed service place is
    written to the card as a change record of its own (signed, appended by the endorsement writer); reported
    after day 7 it is still recorded, flagged late; the counter shows the card's current service place and
    residence address. A renewal card (换领, SMX Art.20 / ZZ Art.15) holds it in its machine-readable file."""
    number = apply_ok(svc, "zz", 71, TODAY)
    issue_ok(svc, number)
    set_day(svc, MOVED + timedelta(days=7 + offset))
    r = endorse(svc, number, kind="service_place_change", service_place=SERVICE_PLACE, changed_on=MOVED.isoformat())
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["seq"] == 1 and out["card_sync"] == "written" and out["late"] is (offset > 0), out
    # and an address change the same day: an endorsement record (EF endorse), the other file
    address = "郑州市金水区经三路12号"
    r = endorse(svc, number, kind="address_change", new_county="410105", moved_on=MOVED.isoformat(),
                residence_address=address)
    assert r.status_code == 201 and r.json()["seq"] == 1, r.text
    v = verify(svc)
    assert v["result"] == "genuine_valid", v
    assert v["display"]["current_service_place"] == SERVICE_PLACE, v["display"]
    assert v["display"]["current_residence_address"] == address
    assert [c["service_place"] for c in v["display"]["changes"]] == [SERVICE_PLACE]
    assert "change record" in next(c["detail"] for c in v["checks"] if c["check"] == "endorsements")
    if offset:
        return
    # renewal: the new card carries the current service place in EF machine, and no change records
    card = issue_ok(svc, number, "renewal", old_card_returned=True)
    v = verify(svc)
    assert v["result"] == "genuine_valid" and v["card_number"] == card, v
    assert v["display"]["service_place"] == SERVICE_PLACE and "changes" not in v["display"], v["display"]
    # the next change appends record 1 of the new card
    r = endorse(svc, number, kind="service_place_change", service_place="郑州某软件有限公司",
                changed_on=(MOVED + timedelta(days=7)).isoformat())
    assert r.status_code == 201 and r.json()["seq"] == 1 and r.json()["card_sync"] == "written", r.text
    assert verify(svc)["display"]["current_service_place"] == "郑州某软件有限公司"


def test_service_place_change_door(svc: Service) -> None:
    """The change door validates: a value the record cannot hold (over 120 bytes), an SMX card (SMX Art.14:
    the card holds no service place), a change dated after today: 422 naming the field, nothing recorded."""
    number = apply_ok(svc, "zz", 72, TODAY)
    issue_ok(svc, number)
    set_day(svc, MOVED)
    r = endorse(svc, number, kind="service_place_change", service_place="郑" * 41, changed_on=MOVED.isoformat())
    assert r.status_code == 422 and r.json()["field"] == "service_place" and "123 bytes" in r.json()["detail"], r.text
    r = endorse(svc, number, kind="service_place_change", service_place=" 郑州某公司", changed_on=MOVED.isoformat())
    assert r.status_code == 422 and r.json()["field"] == "service_place", r.text
    r = endorse(svc, number, kind="service_place_change", service_place="郑州某公司",
                changed_on=(MOVED + timedelta(days=1)).isoformat())
    assert r.status_code == 422 and r.json()["field"] == "changed_on", r.text
    assert "changes" not in verify(svc)["display"]
    smx = apply_ok(svc, "smx", 73, TODAY)
    issue_ok(svc, smx)
    set_day(svc, MOVED)
    r = endorse(svc, smx, kind="service_place_change", service_place="三门峡某公司", changed_on=MOVED.isoformat())
    assert r.status_code == 422 and r.json()["field"] == "service_place", r.text
