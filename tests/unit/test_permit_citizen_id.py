"""GB 11643-1999 citizen ID numbers and the ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.errors import FieldError
from cardsvc.permit.citizen_id import make_citizen_id, parse_citizen_id
from cardsvc.permit.gb import ETHNICITIES, Sex, region_plausible
from cardsvc.permit.iso7064 import mod11_2

# The weights and the mapping exactly as printed in notes/standards.md (independent of iso7064.py).
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
FEB_31 = "41120219900231001" + mod11_2("41120219900231001")  # right check character, impossible date


def table_check(body: str) -> str:
    return CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def test_wellknown_example() -> None:
    cid = parse_citizen_id("11010519491231002X")
    assert (cid.region, cid.birth_date, cid.sex) == ("110105", date(1949, 12, 31), Sex.FEMALE)


def test_lower_case_x_is_normalised() -> None:
    assert parse_citizen_id("11010519491231002x").number == "11010519491231002X"


@given(st.text("0123456789", min_size=17, max_size=17))
@settings(max_examples=200)
def test_mod11_2_matches_the_weight_table(body: str) -> None:
    assert mod11_2(body) == table_check(body)


@pytest.mark.parametrize(("text", "reason"), [
    ("1101051949123100", "must be 18 characters (GB 11643), got 16"),
    ("11010519491231002X1", "must be 18 characters (GB 11643), got 19"),
    ("1101051949123100AX", "character 17 ('A') is not a digit"),
    ("11010519491231002Y", "check character 'Y' is not 0-9 or X"),
    ("110105194912310021", "check character must be 'X' (ISO 7064 MOD 11-2), got '1'"),
    (make_citizen_id("990105", date(1990, 1, 1), 11), "region code 990105: 99 is not a GB/T 2260 province code"),
    (make_citizen_id("410199", date(1990, 1, 1), 11), "region code 410199 is not a county of 郑州市 (GB/T 2260)"),
    (FEB_31, "birth date digits 19900231 are not a calendar date"),
])
def test_bad_numbers(text: str, reason: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_citizen_id(text, "citizen_id")
    assert (err.value.field, err.value.reason) == ("citizen_id", reason)


def test_sequence_000_and_old_birth_year() -> None:
    body = "41120219900101000"
    with pytest.raises(FieldError, match="sequence code 000 is not assigned"):
        parse_citizen_id(body + mod11_2(body))
    body = "41120218990101001"
    with pytest.raises(FieldError, match="birth year 1899 is before 1900"):
        parse_citizen_id(body + mod11_2(body))


def test_field_name_is_carried() -> None:
    with pytest.raises(FieldError) as err:
        parse_citizen_id("123", "guardian.citizen_id")
    assert str(err.value) == "guardian.citizen_id: must be 18 characters (GB 11643), got 3"


@given(st.dates(date(1920, 1, 1), date(2025, 12, 31)), st.integers(1, 999))
@settings(max_examples=100)
def test_make_then_parse(born: date, seq: int) -> None:
    cid = parse_citizen_id(make_citizen_id("411202", born, seq))
    assert cid.birth_date == born
    assert cid.sex == (Sex.MALE if seq % 2 else Sex.FEMALE)


def test_tables() -> None:
    assert ETHNICITIES["01"] == "汉族" and ETHNICITIES["56"] == "基诺族" and ETHNICITIES["98"] == "外国血统中国籍人士"
    assert len(ETHNICITIES) == 58
    assert region_plausible("411282") is None
    assert region_plausible("41128") == "region code '41128' is not 6 digits"
