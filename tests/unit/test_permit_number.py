"""Permit and card number formats (our design, cardsvc/permit/permit_number.py)."""

from __future__ import annotations

import pytest

from cardsvc.errors import FieldError
from cardsvc.permit.iso7064 import mod11_2
from cardsvc.permit.permit_number import (
    check_card_number,
    make_card_number,
    make_permit_number,
    parse_permit_number,
)


def test_permit_number_round_trip() -> None:
    text = make_permit_number("411202", 2024, 123)
    assert text == "4112022024000123" + mod11_2("4112022024000123")
    number = parse_permit_number(text)
    assert (number.authority_code, number.year, number.serial) == ("411202", 2024, 123)


@pytest.mark.parametrize(("text", "reason"), [
    ("411202202400012", "must be 17 characters, got 15"),
    ("41120220240A01234", "first 16 characters must be digits"),
    ("41120220240001235", "check character must be '4' (ISO 7064 MOD 11-2), got '5'"),
    ("4112022024000000" + mod11_2("4112022024000000"), "serial 000000 is not assigned"),
])
def test_bad_permit_numbers(text: str, reason: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_permit_number(text)
    assert (err.value.field, err.value.reason) == ("permit_number", reason)


def test_make_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="authority code must be 6 digits"):
        make_permit_number("4112", 2024, 1)
    with pytest.raises(ValueError, match=r"serial must be 1\.\.999999"):
        make_permit_number("411202", 2024, 0)
    with pytest.raises(ValueError, match="does not fit 4 digits"):
        make_card_number("4112", 10_000, 4)


@pytest.mark.parametrize(("text", "reason"), [
    ("411200000001", "must be 13 characters, got 12"),
    ("4101000000011", "must start with the layout prefix '4112'"),
    ("41120000000A1", "first 12 characters must be digits"),
    ("4112000000012", "check character must be '1' (ISO 7064 MOD 11-2), got '2'"),
])
def test_card_numbers(text: str, reason: str) -> None:
    assert make_card_number("4112", 1, 8) == "4112000000011"
    check_card_number("4112000000011", "4112", 8)
    with pytest.raises(FieldError) as err:
        check_card_number(text, "4112", 8)
    assert err.value.reason == reason
