"""The one permit record (cardsvc.permit.record): round trip, rows of both former shapes, field-named errors."""

from __future__ import annotations

import base64
import random
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from cardsvc.layout import builtin_layout
from cardsvc.permit.model import Authority, DepartmentData, Endorsement, Guardian, Permit
from cardsvc.permit.record import FORMAT, PermitRecordError, dump_permit, load_permit
from cardsvc.samples import generate_permit

TODAY = date(2026, 3, 1)


def _permit(layout_id: str, seed: int) -> Permit:
    permit = generate_permit(builtin_layout(layout_id), random.Random(seed), today=TODAY, max_endorsements=2)
    signed = tuple(replace(e, signature=bytes([i + 1]) * 70) for i, e in enumerate(permit.endorsements))
    return replace(permit, endorsements=signed, marital_status="20", residence_reason="01",
                   guardian=Guardian("11010519491231002X", "王五"),
                   applications=(DepartmentData("education", (("school", "一中"),)),))


@pytest.mark.parametrize("layout_id", ["smx", "zz"])
def test_round_trip_keeps_every_field(layout_id: str) -> None:
    permit = _permit(layout_id, 3)
    data = dump_permit(permit)
    assert data["format"] == FORMAT == "cardsvc.permit/2"
    assert base64.b64decode(data["endorsements"][0]["signature"]) == permit.endorsements[0].signature
    assert load_permit(data) == permit


# The station's former format ("cardsvc.permit/1", cardsvc/issuance/permit_data.py): no signatures,
# optional keys absent when unset.
V1_ROW: dict[str, Any] = {
    "format": "cardsvc.permit/1", "name": "买买提·艾力", "sex": 1, "ethnicity": "05", "birth_date": "1990-01-15",
    "citizen_id": "411202199001150011", "photo": "/9j/2Q==", "household_address": "新疆乌鲁木齐市",
    "residence_address": "三门峡市湖滨区一号", "permit_number": "41120220240001234",
    "authority": {"code": "411202", "name": "三门峡市公安局湖滨分局"}, "issue_date": "2024-03-01",
    "valid_until": "2025-03-01", "card_number": "4112000000011", "service_place": "自由职业",
    "guardian": None,
    "endorsements": [{"date": "2025-02-15", "residence_address": "卢氏县一", "valid_until": "2026-03-01",
                      "authority": {"code": "411224", "name": "卢氏县公安局"}}],
    "applications": [{"department": "hrss", "items": {"employment_registered": "1"}}],
}
# The service's former format (cardsvc/api/services/permit_json.py): no format key, every optional key
# present (null when unset), endorsements signed.
API_ROW: dict[str, Any] = {
    **{k: v for k, v in V1_ROW.items() if k != "format"}, "card_number": "", "marital_status": None,
    "residence_reason": None, "contact": "13800000000",
    "endorsements": [{**V1_ROW["endorsements"][0], "signature": base64.b64encode(b"\x30\x06sig").decode()}],
}


def test_reads_a_row_of_the_former_station_format() -> None:
    permit = load_permit(V1_ROW)
    assert permit.card_number == "4112000000011" and permit.service_place == "自由职业"
    assert permit.photo == b"\xff\xd8\xff\xd9" and permit.contact is None
    assert permit.endorsements == (Endorsement(date(2025, 2, 15), "卢氏县一", date(2026, 3, 1),
                                               Authority("411224", "卢氏县公安局")),)
    assert permit.application("hrss") == DepartmentData("hrss", (("employment_registered", "1"),))
    assert load_permit(dump_permit(permit)) == permit  # rewritten as version 2


def test_reads_a_row_of_the_former_service_format() -> None:
    permit = load_permit(API_ROW)
    assert permit.card_number == "" and permit.contact == "13800000000"
    assert permit.endorsements[0].signature == b"\x30\x06sig"
    assert dump_permit(permit)["format"] == FORMAT


@pytest.mark.parametrize(("change", "field"), [
    ({"format": "cardsvc.permit/9"}, "format"),
    ({"birth_date": "1990-13-01"}, "birth_date"),
    ({"photo": "not base64!"}, "photo"),
    ({"sex": 7}, "sex"),
    ({"name": None}, "name"),
    ({"authority": {"code": "411202"}}, "authority.name"),
    ({"endorsements": [{**V1_ROW["endorsements"][0], "date": "yesterday"}]}, "endorsements.0.date"),
    ({"endorsements": [{**API_ROW["endorsements"][0], "signature": "%%"}]}, "endorsements.0.signature"),
    ({"applications": [{"department": "hrss", "items": {"a": 1}}]}, "applications.0.items.a"),
    ({"nmae": "typo"}, "nmae"),
])
def test_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(PermitRecordError) as info:
        load_permit({**API_ROW, **change})
    assert info.value.field == field, info.value


def test_not_an_object() -> None:
    with pytest.raises(PermitRecordError) as info:
        load_permit(["a", "list"])
    assert info.value.field == "permit"
