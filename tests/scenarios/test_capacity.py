"""Capacity (issue 12): every field later endorsements write again fits the endorsement record; the layout
check refuses a layout where the permit takes more than that record (SMX: 120 vs 96 bytes before)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardsvc.layout.errors import LayoutError
from cardsvc.layout.loader import builtin_layout, layouts_dir, parse_layout

ENDORSED = '{ field = "residence_address", tag = "DF04", encoding = "text", max_length = 96 },\n'


@pytest.mark.parametrize("layout_id", ["smx", "zz"])
def test_builtin_layouts_fit_their_endorsement_records(layout_id: str) -> None:
    layout = builtin_layout(layout_id)
    endorse = next(ef for ef in layout.efs if ef.content.value == "endorsements")
    limit = next(f.max_length for f in endorse.fields if f.field == "residence_address")
    for _ef, decl in layout.permit_fields()["residence_address"]:
        assert decl.max_length is not None and limit is not None and decl.max_length <= limit


def test_layout_check_refuses_a_permit_field_longer_than_its_endorsement_record() -> None:
    text = (Path(layouts_dir()) / "sanmenxia.toml").read_text(encoding="utf-8")
    assert ENDORSED in text
    shrunk = text.replace(ENDORSED, ENDORSED.replace("96", "95"))
    with pytest.raises(LayoutError, match="residence_address takes 96 bytes but the endorsement record EF endorse "
                                          "only 95"):
        parse_layout(shrunk, "sanmenxia.toml")
