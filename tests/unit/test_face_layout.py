"""Face layouts (layouts/faces/*.toml): both cities load; malformed layouts fail naming the key and reason."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cardsvc.face import CARD_HEIGHT_PX, CARD_WIDTH_PX, FaceField, FaceLayout, FaceLayoutError, load_face_layout
from cardsvc.iso7816.errors import CardError

FACES = Path(__file__).resolve().parents[2] / "layouts" / "faces"
CITIES = ("sanmenxia", "zhengzhou")


def _raw(city: str) -> dict[str, Any]:
    return tomllib.loads((FACES / f"{city}.toml").read_text(encoding="utf-8"))


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(FaceLayoutError) as exc:
        FaceLayout.from_mapping(data, source="test")
    assert isinstance(exc.value, CardError)
    return str(exc.value)


def test_card_is_id1_at_300_dpi() -> None:
    # ISO/IEC 7810 ID-1: 85.6 × 54 mm → 1011 × 638 px at 300 dpi.
    assert (CARD_WIDTH_PX, CARD_HEIGHT_PX) == (1011, 638)


@pytest.mark.parametrize("city", CITIES)
def test_city_layout_loads(city: str) -> None:
    layout = load_face_layout(FACES / f"{city}.toml")
    assert layout.front.photo is not None
    assert (layout.front.qr is None) != (layout.back.qr is None)
    printed = {f.field for f in (*layout.front.fields, *layout.back.fields)}
    # Both seeds print name, sex and ethnicity with the photo (SMX Art.14, ZZ Art.8).
    assert {FaceField.NAME, FaceField.SEX, FaceField.ETHNICITY} <= printed
    assert any(layout.city + "居住证" in t.text for t in layout.front.texts)


def test_zhengzhou_prints_only_art8_visible_fields_and_qr() -> None:
    layout = load_face_layout(FACES / "zhengzhou.toml")
    printed = {f.field for f in (*layout.front.fields, *layout.back.fields)}
    assert printed == {FaceField.NAME, FaceField.SEX, FaceField.ETHNICITY, FaceField.HOUSEHOLD_ADDRESS,
                       FaceField.RESIDENCE_ADDRESS, FaceField.VALIDITY}
    assert layout.back.qr is not None
    # bottom-right quarter of the back
    assert layout.back.qr.x_mm > 85.6 / 2 and layout.back.qr.y_mm > 54 / 2


def test_sanmenxia_prints_art14_fields() -> None:
    layout = load_face_layout(FACES / "sanmenxia.toml")
    printed = {f.field for f in (*layout.front.fields, *layout.back.fields)}
    assert {FaceField.BIRTH_DATE, FaceField.CITIZEN_ID, FaceField.HOUSEHOLD_ADDRESS, FaceField.RESIDENCE_ADDRESS,
            FaceField.AUTHORITY, FaceField.ISSUE_DATE} <= printed


def test_overlapping_field_and_photo_rejected() -> None:
    data = _raw("sanmenxia")
    data["front"]["fields"][0]["width_mm"] = 60.0  # the name would run under the photo
    assert "field name overlaps photo" in _error(data)


def test_field_off_card_rejected() -> None:
    data = _raw("zhengzhou")
    data["front"]["fields"][0]["width_mm"] = 50.0  # 42 + 50 mm > 85.6 mm
    message = _error(data)
    assert "front.fields.0" in message and "run off the card" in message


def test_photo_off_card_rejected() -> None:
    data = _raw("zhengzhou")
    data["front"]["photo"]["y_mm"] = 40.0
    message = _error(data)
    assert "front.photo" in message and "runs off" in message


def test_missing_photo_rejected() -> None:
    data = _raw("sanmenxia")
    del data["front"]["photo"]
    assert "front.photo is required" in _error(data)


def test_two_qr_codes_rejected() -> None:
    data = _raw("zhengzhou")
    data["front"]["qr"] = {"x_mm": 4.0, "y_mm": 0.5, "size_mm": 8.0}  # over the title band, overlapping nothing
    assert "exactly one of front.qr and back.qr" in _error(data)


def test_field_declared_twice_rejected() -> None:
    data = _raw("sanmenxia")
    dup = copy.deepcopy(data["front"]["fields"][0])
    dup["y_mm"] = 0.5
    data["back"]["fields"].append(dup)
    assert "field name is declared twice" in _error(data)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("front", "background"), "white", "front.background"),
        (("front", "fields", 0, "field"), "shoe_size", "front.fields.0.field"),
        (("front", "fields", 0, "size_pt"), 2, "front.fields.0.size_pt"),
        (("front", "fields", 0, "lines"), 9, "front.fields.0.lines"),
        (("front", "photo", "w_mm"), -1, "front.photo.w_mm"),
        (("date_style", ), "roman", "date_style"),
        (("id", ), "Sanmenxia 2017", "id"),
    ],
)
def test_bad_values_name_the_key(path: tuple[str | int, ...], value: object, expected: str) -> None:
    data = _raw("sanmenxia")
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert expected in _error(data)


def test_unknown_key_rejected() -> None:
    data = _raw("sanmenxia")
    data["front"]["fields"][0]["colour_of_ink"] = "#000000"
    assert "colour_of_ink" in _error(data)


def test_min_size_above_size_rejected() -> None:
    data = _raw("sanmenxia")
    data["front"]["fields"][0]["min_size_pt"] = 12
    assert "min_size_pt 12" in _error(data)


def test_layout_is_frozen() -> None:
    layout = load_face_layout(FACES / "sanmenxia.toml")
    with pytest.raises(ValueError, match="frozen"):
        layout.city = "郑州市"


def test_bad_toml_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("id = [unclosed\n", encoding="utf-8")
    with pytest.raises(FaceLayoutError, match=r"bad\.toml: not valid TOML"):
        load_face_layout(bad)
    with pytest.raises(FaceLayoutError, match="cannot read face layout"):
        load_face_layout(tmp_path / "missing.toml")



@pytest.mark.parametrize(("layout_id", "city"), [("smx", "sanmenxia"), ("zz", "zhengzhou")])
def test_city_profile_names_its_face_layout(layout_id: str, city: str) -> None:
    from cardsvc.face import face_layout_for
    from cardsvc.layout import builtin_layout

    layout = builtin_layout(layout_id)
    assert layout.layout.face == f"faces/{city}.toml"
    assert face_layout_for(layout) == load_face_layout(FACES / f"{city}.toml")
