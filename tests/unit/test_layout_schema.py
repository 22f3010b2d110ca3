"""The layout schema rejects inconsistent layouts with a message naming the entry and the reason."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cardsvc.iso7816.fcp import AccessCondition, EfOp
from cardsvc.layout.access import parse_condition, security_attributes
from cardsvc.layout.errors import LayoutError
from cardsvc.layout.loader import builtin_layout, layout_from_dict, layout_paths, load_layout, parse_layout
from cardsvc.layout.schema import Layout
from cardsvc.layout.schema_export import main as export_main
from cardsvc.layout.schema_export import schema_json
from cardsvc.rules.dates import Period

ROOT = Path(__file__).resolve().parents[2]
SMX = tomllib.loads((ROOT / "layouts" / "sanmenxia.toml").read_text(encoding="utf-8"))

Mutation = Callable[[dict[str, Any]], None]


def ef(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in data["efs"] if e["name"] == name)


def set_(path: str, value: object) -> Mutation:
    def run(data: dict[str, Any]) -> None:
        *head, last = path.split("/")
        target: Any = data
        for part in head:
            target = ef(target, part[3:]) if part.startswith("ef:") else target[part]
        target[last] = value
    return run


def add_ef(**over: object) -> Mutation:
    def run(data: dict[str, Any]) -> None:
        new = copy.deepcopy(ef(data, "chipkey"))
        new.update(name="extra", fid="0010", sfi=10)
        new.update(over)
        data["efs"].append(new)
    return run


@pytest.mark.parametrize(("mutate", "message"), [
    (add_ef(fid="0002"), "duplicate FID 0002 in permit (also EF visible)"),
    (add_ef(sfi=2), "EF extra: duplicate SFI 2 in permit (also visible)"),
    (add_ef(sfi=31), "efs.18.sfi: Input should be less than or equal to 30"),
    (add_ef(sfi=0), "efs.18.sfi: Input should be greater than or equal to 1"),
    (add_ef(fid="3F00"), "EF extra: FID 3F00 is reserved (MF)"),
    (add_ef(parent="nowhere"), "EF extra: parent 'nowhere' is not a declared DF"),
    (add_ef(structure="linear-fixed", content="endorsements", record_length=300, records=1, size=200,
            fields=[{"field": "date", "tag": "DF41", "encoding": "date-bcd"}]),
     "EF extra: record_length 300 is longer than the file size 200"),
    (set_("ef:visible/access", {"read": "key:nobody"}),
     "EF visible: access condition 'key:nobody' names unknown key 'nobody'"),
    (set_("ef:visible/access", {"peek": "always"}), "EF visible: unknown EF operation 'peek'"),
    (set_("ef:visible/access", {"read": "sm+pin"}),
     "EF visible: access condition 'sm+pin': 'pin' is not 'sm' or 'key:NAME' (or the whole is 'always'/'never')"),
    (set_("ef:visible/size", 100), "EF visible: fields need up to 374 bytes but the file holds 100"),
    (set_("ef:endorse/record_length", 100), "EF endorse: fields need up to 237 bytes but the record holds 100"),
    (set_("ef:visible/fields", [{"field": "nickname", "tag": "DF50", "encoding": "text", "max_length": 9}]),
     "EF visible: unknown field 'nickname'"),
    (set_("ef:visible/fields", [{"field": "birth_date", "tag": "DF50", "encoding": "text", "max_length": 9}]),
     "EF visible: field birth_date cannot use text (allowed: date-ascii, date-bcd)"),
    (set_("ef:card/fields", [{"field": "authority.code", "tag": "DF07", "encoding": "numeric", "digits": 4}]),
     "EF card: field authority.code is a 6-digit code, declared 4"),
    (set_("ef:photo/fields", [{"field": "photo", "tag": "DF20", "encoding": "jpeg"}]),
     "field photo: jpeg encoding needs max_length"),
    (set_("ef:machine/fields", [{"field": "contact", "tag": "DF0B", "encoding": "ascii", "max_length": 9},
                                {"field": "service_place", "tag": "DF0B", "encoding": "text", "max_length": 9}]),
     "EF machine: duplicate tag DF0B"),
    (set_("ef:machine/fields", [{"field": "contact", "tag": "DF0B", "encoding": "ascii", "max_length": 9}]),
     "required permit fields not placed in any EF: permit_number"),
    (set_("ef:education_data/access", {"read": "key:dept_housing"}),
     "EF education_data: read names key dept_housing, not the department's own key dept_education"),
    (set_("ef:housing_fund/serves", None),  # issue 16: a department record names the article it serves
     "EF housing_fund: serves (the article a record serves) is required for department-record content"),
    (set_("ef:housing_fund/size", 80),  # two slots of 40 bytes, 14 of them header and MAC
     "EF housing_fund: fields need up to 38 bytes but the file holds 26"),
    (set_("ef:housing_fund/access", {"read": "sm+key:dept_civil", "update": "sm+key:dept_housing"}),
     "EF housing_fund: read names key dept_civil, not the department's own key dept_housing"),
    (set_("ef:housing_fund/parent", "mf"), "EF housing_fund: department content must sit in a department DF"),
    (set_("keys/dept_hrss/ref", 4), "key dept_hrss: reference 4 already used by key dept_education"),
    (set_("keys/dept_hrss/ref", 15), "keys.dept_hrss.ref: Input should be less than or equal to 14"),
    (set_("authorities", [{"code": "410105", "name": "郑州"}]),
     "authority 410105: not a county-level code of city 411200"),
    (set_("layout/charset", "klingon"), "layout.charset: unknown charset 'klingon'"),
    (set_("ef:atr/data", "47 03"), None),  # still valid: static content fits
    (set_("ef:atr/size", 1), "EF atr: static data of 16 bytes does not fit the file size 1"),
    (set_("ef:dir/structure", "transparent"), "EF dir: a transparent EF needs size"),
    (set_("mf/fid", "3F01"), "mf: FID must be 3F00, got 3F01"),
    (set_("ef:card/examples", [{"hex": "DF3", "value": {}}]), "hex string 'DF3' has an odd number of digits"),
])
def test_rejections(mutate: Mutation, message: str | None) -> None:
    data = copy.deepcopy(SMX)
    mutate(data)
    if message is None:
        layout_from_dict(data)
        return
    with pytest.raises(LayoutError) as err:
        layout_from_dict(data, "smx.toml")
    assert str(err.value).startswith("smx.toml: ")
    assert message in str(err.value)


def test_builtin_layouts_load() -> None:
    ids = sorted(load_layout(p).id for p in layout_paths())
    assert ids == ["smx", "zz"]
    zz = builtin_layout("zz")
    assert zz.layout.charset == "utf-8"
    assert {df.department for df in zz.dfs if df.department} == {
        "education", "civil_affairs", "family_planning_health", "housing", "public_security"}
    assert zz.reserved_applications[0].aid.hex().upper() == "A000000333010101"
    assert all(df.aid.hex().upper().startswith("D156") for df in [zz.mf, *zz.dfs])
    smx = builtin_layout("smx")
    assert smx.rules.endorsement_window.months == 1 and zz.rules.endorsement_window.days == 30
    assert smx.rules.late_endorsement_grace is not None and smx.rules.late_endorsement_grace.months == 6
    assert "citizen_id" in smx.visible_fields() and "citizen_id" not in zz.visible_fields()


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="<string>: not valid TOML"):
        parse_layout("[layout")
    with pytest.raises(LayoutError, match="cannot read"):
        load_layout(tmp_path / "none.toml")
    with pytest.raises(LayoutError, match="no layout with id 'atlantis'"):
        builtin_layout("atlantis")


def test_access_conditions_to_compact_security_attributes() -> None:
    keys = {"issuer": 1, "counter": 3}
    assert parse_condition("sm+key:issuer", keys) == AccessCondition(key_ref=1, sm=True)
    assert parse_condition("key:counter", keys).to_sc_byte() == 0x23
    attrs = security_attributes({"read": "key:counter", "update": "sm+key:issuer"}, keys, is_df=False)
    assert attrs.encode_compact() == bytes.fromhex("03E123")
    assert attrs.condition(EfOp.DELETE).never  # not listed: fail closed


def test_schema_export_is_current(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert export_main([str(out)]) == 0
    schema = json.loads(out.read_text(encoding="utf-8"))
    assert schema["title"] == "Residence-permit card layout"
    assert {"layout", "efs", "keys", "rules"} <= set(schema["properties"])
    # layouts/schema.json is what `make schema` writes; it must match the code.
    assert (ROOT / "layouts" / "schema.json").read_text(encoding="utf-8") == schema_json()
    assert isinstance(Layout.model_json_schema(), dict)


def test_periods_step_by_calendar() -> None:
    assert Period(months=1).add_to(date(2025, 1, 31)) == date(2025, 2, 28)  # clamped to month end
    assert Period(years=1).add_to(date(2024, 2, 29)) == date(2025, 2, 28)
    assert Period(months=6).subtract_from(date(2025, 8, 31)) == date(2025, 2, 28)
    assert Period(days=30).subtract_from(date(2025, 3, 1)) == date(2025, 1, 30)
    assert Period(months=1, days=1).add_to(date(2025, 12, 31)) == date(2026, 2, 1)
