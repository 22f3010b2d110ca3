"""Every example vector declared beside an EF, in every layout (and the fixture city), round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.mark.structures import ParameterSet

from cardsvc.layout.loader import layout_paths, load_layout
from cardsvc.layout.schema import Content
from cardsvc.layout.vectors import decode_example, encode_example, example_values

ROOT = Path(__file__).resolve().parents[2]
PATHS = [*layout_paths(), *sorted((ROOT / "tests" / "fixtures" / "layouts").glob("*.toml"))]


def _vectors() -> list[ParameterSet]:
    out: list[ParameterSet] = []
    for path in PATHS:
        layout = load_layout(path)
        for ef in layout.efs:
            for i in range(len(ef.examples)):
                out.append(pytest.param(path, ef.name, i, id=f"{layout.id}-{ef.name}-{i}"))
    return out


VECTORS = _vectors()


@pytest.mark.parametrize(("path", "ef_name", "index"), VECTORS)
def test_vector_round_trips(path: Path, ef_name: str, index: int) -> None:
    layout = load_layout(path)
    ef = layout.ef(ef_name)
    example = ef.examples[index]
    assert encode_example(layout, ef, example) == example.hex
    assert decode_example(layout, ef, example.hex) == example_values(ef, example)


def test_every_data_ef_of_the_city_layouts_carries_a_vector() -> None:
    assert len(VECTORS) >= 20
    for path in layout_paths():
        layout = load_layout(path)
        for ef in layout.efs:
            if ef.content not in (Content.STATIC, Content.EMPTY):
                assert ef.examples, f"{layout.id}: EF {ef.name} has no example vector"


def test_a_hand_checked_vector() -> None:
    """Independent of the codec: GB 18030 bytes, BCD date and the middle dot A1A4 by hand."""
    smx = load_layout(ROOT / "layouts" / "sanmenxia.toml")
    hexed = smx.ef("visible").examples[0].hex
    assert hexed.startswith(bytes.fromhex("5F200C") + "买买提·艾力".encode("gb18030"))
    assert "·".encode("gb18030") == bytes.fromhex("A1A4")
    assert bytes.fromhex("5F2B0419900115") in hexed
