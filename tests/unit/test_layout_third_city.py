"""A third city is added by writing only a TOML file (tests/fixtures/layouts/luoyang.toml)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from cardsvc.layout.codec import decode_image, encode_permit
from cardsvc.layout.errors import FieldValueError
from cardsvc.layout.loader import load_layout
from cardsvc.permit.errors import PermitInvalid
from cardsvc.permit.validate import validate_permit
from cardsvc.samples import generate_permit, synthetic_photo

LY = load_layout(Path(__file__).resolve().parents[1] / "fixtures" / "layouts" / "luoyang.toml")
TODAY = date(2026, 6, 1)
PHOTO = synthetic_photo(random.Random(3), width=100, height=120)


@pytest.mark.parametrize("seed", range(12))
def test_generate_validate_encode_decode(seed: int) -> None:
    permit = generate_permit(LY, random.Random(seed), today=TODAY, photo=PHOTO)
    validate_permit(permit, LY, TODAY)
    image = encode_permit(permit, LY)
    assert decode_image(image, LY).permit == permit
    assert image.layout_version == 2
    endorse = image.file("endorse")
    assert endorse.records is not None and all(len(r) == 200 for r in endorse.records)  # linear fixed


def test_gbk_city_rejects_rare_characters() -> None:
    permit = replace(generate_permit(LY, random.Random(1), today=TODAY, photo=PHOTO), name="王𠈌")
    with pytest.raises(PermitInvalid) as err:
        validate_permit(permit, LY, TODAY)
    assert str(err.value.problems[0]) == "name: character '𠈌' (U+2020C) cannot be encoded in gbk"
    with pytest.raises(FieldValueError, match=r"name: character '𠈌' \(U\+2020C\) cannot be encoded in gbk"):
        encode_permit(permit, LY)
