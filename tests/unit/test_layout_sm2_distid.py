"""The layout field naming the SM2 signer ID (`[layout] sm2_distid`, issue 14 item 2).

GB/T 32918.2 §5.5: ENTL_A counts the ID's bits in two bytes; the layout takes 1..8191 bits of printable
ASCII, i.e. 1..1023 bytes (issue 14's limit, inside ENTL's), only with suite = "gm". Absent, the ID is GB/T 35276 §5.4's
1234567812345678. Errors name the field and the reason.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cardsvc.layout import LayoutError, builtin_layout, load_layout
from cardsvc.layout.loader import layout_from_dict, read_layout_data
from cardsvc.security.suite import GM, INTL, MAX_DISTID_BYTES, Suite, SuiteName, common_suite, layout_suite

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "cities" / "sm2id" / "zhengzhou_sm2id.toml"
ZZ = read_layout_data(ROOT / "layouts" / "zhengzhou.toml")


def zz_with(**layout: Any) -> dict[str, Any]:
    data = copy.deepcopy(ZZ)
    data["layout"].update(layout)
    return data


def test_real_layouts_keep_the_default_id_and_the_fixture_names_its_own() -> None:
    assert builtin_layout("zz").layout.sm2_distid is None and builtin_layout("smx").layout.sm2_distid is None
    assert layout_suite(builtin_layout("zz")) == layout_suite(builtin_layout("smx")) == GM
    assert GM.distid == b"1234567812345678"
    assert layout_suite(load_layout(FIXTURE)) == Suite(SuiteName.GM, b"ALICE123@YAHOO.COM")


@pytest.mark.parametrize("distid", ["1", "ALICE123@YAHOO.COM", "~" * 1023, "id with spaces"])
def test_accepted_ids(distid: str) -> None:
    layout = layout_from_dict(zz_with(sm2_distid=distid), "zz")
    assert layout_suite(layout).distid == distid.encode("ascii")


@pytest.mark.parametrize(("layout", "reason"), [
    ({"sm2_distid": "x" * 1024}, r"layout\.sm2_distid: String should have at most 1023 characters"),
    ({"sm2_distid": ""}, r"layout\.sm2_distid: String should have at least 1 character"),
    ({"sm2_distid": "居住证"}, r"layout\.sm2_distid: String should match pattern"),
    ({"sm2_distid": "tab\there"}, r"layout\.sm2_distid: String should match pattern"),
    ({"sm2_distid": 1234567812345678}, r"layout\.sm2_distid: Input should be a valid string"),
    ({"sm2_distid": "ALICE", "suite": "intl"}, r'sm2_distid: an SM2 signer ID needs suite = "gm"'),
])
def test_refused_ids_name_the_field_and_reason(layout: dict[str, Any], reason: str) -> None:
    with pytest.raises(LayoutError, match=reason):
        layout_from_dict(zz_with(**layout), "zz")


def test_the_json_schema_carries_the_field_and_its_limits() -> None:
    schema = json.loads((ROOT / "layouts" / "schema.json").read_text(encoding="utf-8"))
    field = schema["$defs"]["LayoutInfo"]["properties"]["sm2_distid"]
    text = next(option for option in field["anyOf"] if option.get("type") == "string")
    assert (text["minLength"], text["maxLength"], text["pattern"]) == (1, 1023, "^[ -~]+$")
    assert "1234567812345678" in field["description"]


def test_the_suite_object_checks_its_id() -> None:
    assert MAX_DISTID_BYTES == 8191 // 8
    Suite(SuiteName.GM, b"A" * MAX_DISTID_BYTES)
    with pytest.raises(ValueError, match=r"1\.\.1023"):
        Suite(SuiteName.GM, b"A" * (MAX_DISTID_BYTES + 1))
    with pytest.raises(ValueError, match=r"1\.\.1023"):
        Suite(SuiteName.GM, b"")
    with pytest.raises(ValueError, match="only the gm suite"):
        Suite(SuiteName.INTL, b"ALICE")
    assert INTL.distid == GM.distid  # unused by intl keys


def test_one_ceremony_per_suite_and_id() -> None:
    def info(suite: str, distid: str | None) -> SimpleNamespace:
        return SimpleNamespace(layout=SimpleNamespace(suite=suite, sm2_distid=distid))

    assert common_suite([info("gm", "ALICE"), info("gm", "ALICE")]) == Suite(SuiteName.GM, b"ALICE")
    assert common_suite([info("gm", None), info("gm", "1234567812345678")]) == GM  # the default, written out
    with pytest.raises(ValueError, match="SM2 signer ID"):
        common_suite([info("gm", None), info("gm", "ALICE")])
