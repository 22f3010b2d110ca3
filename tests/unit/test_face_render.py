"""Card face rendering: 1011 × 638 px PNG at 300 dpi, 85.6 × 54 mm PDF pages, legible text, decodable QR."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from cardsvc.face import (
    DateStyle,
    FaceData,
    FaceDataError,
    FaceField,
    FaceImages,
    FaceLayout,
    FaceLayoutError,
    Fonts,
    format_date,
    load_face_layout,
    render_face,
    render_pdf,
)

FACES = Path(__file__).resolve().parents[2] / "layouts" / "faces"
QR_TEXT = "HC1:" + "NCFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDE" * 6  # signed-QR-like alphanumeric text
NOTDEF_PROBE = "\U0010fffd"


def synthetic_photo(width: int = 358, height: int = 441) -> bytes:
    """An ID-photo-like JPEG drawn at test time (no real person)."""
    img = Image.new("RGB", (width, height), "#DCE6F0")
    draw = ImageDraw.Draw(img)
    draw.ellipse((width * 0.3, height * 0.14, width * 0.7, height * 0.52), fill="#E8C4A0")
    draw.rectangle((width * 0.2, height * 0.58, width * 0.8, height), fill="#2F3E55")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


PHOTO = synthetic_photo()
# One sample permit of each city: a rare-character Han name in Sanmenxia, a minority name with the middle
# dot in Zhengzhou (notes/standards.md "Text").
SAMPLES = {
    "sanmenxia": FaceData(
        name="张𠈌𡒄", sex="男", ethnicity="汉族", birth_date=date(1990, 1, 7), citizen_id="41120219900107001X",
        household_address="河南省洛阳市西工区中州中路123号院2号楼1单元301室",
        residence_address="河南省三门峡市湖滨区黄河路中段88号院3号楼2单元502室",
        permit_number="411202-2017-000123", authority="三门峡市公安局湖滨分局",
        issue_date=date(2017, 3, 1), valid_until=date(2018, 3, 1), photo=PHOTO, qr_text=QR_TEXT,
    ),
    "zhengzhou": FaceData(
        name="买买提·艾力", sex="男", ethnicity="维吾尔族", birth_date=date(1985, 12, 31),
        citizen_id="650102198512310019", household_address="新疆维吾尔自治区乌鲁木齐市天山区解放南路128号",
        residence_address="河南省郑州市金水区花园路66号𪚥园小区", permit_number="410105-2013-004567",
        authority="郑州市公安局金水分局", issue_date=date(2013, 7, 1), valid_until=date(2014, 7, 1),
        photo=PHOTO, qr_text=QR_TEXT,
    ),
}


@pytest.fixture(scope="module", params=sorted(SAMPLES))
def city(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def layouts() -> dict[str, FaceLayout]:
    return {c: load_face_layout(FACES / f"{c}.toml") for c in SAMPLES}


@pytest.fixture(scope="module")
def fonts(layouts: dict[str, FaceLayout]) -> Fonts:
    return Fonts.for_layout(layouts["sanmenxia"])


@pytest.fixture(scope="module")
def rendered(city: str, layouts: dict[str, FaceLayout], fonts: Fonts) -> FaceImages:
    return render_face(SAMPLES[city], layouts[city], fonts)


@pytest.fixture(scope="module")
def pdf(city: str, layouts: dict[str, FaceLayout], fonts: Fonts) -> bytes:
    return render_pdf(SAMPLES[city], layouts[city], fonts)


def _decode_qr(img: Image.Image) -> list[str]:
    zxingcpp = pytest.importorskip("zxingcpp", reason="no QR decoder installed (pip install zxing-cpp)")
    return [r.text for r in zxingcpp.read_barcodes(img.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)]


def _qr_side(layout: FaceLayout, images: tuple[Image.Image, Image.Image]) -> Image.Image:
    return images[0] if layout.front.qr is not None else images[1]


def test_png_size_and_dpi(rendered: FaceImages) -> None:
    for png in (rendered.front_png, rendered.back_png):
        img = Image.open(io.BytesIO(png))
        assert img.format == "PNG" and img.mode == "RGB"
        assert img.size == (1011, 638)
        # PNG stores pixels per metre: 11811 px/m is 300 dpi.
        assert img.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_faces_differ_and_are_not_blank(rendered: FaceImages) -> None:
    front, back = (Image.open(io.BytesIO(p)) for p in (rendered.front_png, rendered.back_png))
    assert front.tobytes() != back.tobytes()
    for img in (front, back):
        assert len(img.getcolors(1 << 20) or ()) > 50  # text antialiasing, bands, photo: many colours


def test_every_printed_character_has_a_glyph(city: str, layouts: dict[str, FaceLayout], fonts: Fonts) -> None:
    layout = layouts[city]
    data = SAMPLES[city]
    texts: list[tuple[str, bool]] = []
    for side in (layout.front, layout.back):
        texts += [(t.text, t.bold) for t in side.texts]
        for f in side.fields:
            texts += [(f.label, False), (data.text(f.field, f.date_style or layout.date_style), f.bold)]
    assert any("·" in t for t, _ in texts) or any("𠈌" in t for t, _ in texts)
    for text, bold in texts:
        chain = fonts.chain(bold)
        for char in text.replace(" ", ""):
            face = chain.face_for(char)
            assert face is not None, f"U+{ord(char):04X} {char} has no font"
            font = face.pil(40)
            mask = font.getmask(char)
            assert mask.getbbox() is not None, f"{char} renders no ink"
            assert bytes(mask) != bytes(font.getmask(NOTDEF_PROBE)), f"{char} renders as .notdef in {face.family}"


def test_name_region_has_ink(city: str, layouts: dict[str, FaceLayout], rendered: FaceImages, fonts: Fonts) -> None:
    # The value box of the name differs from the same face rendered with a blank-looking name.
    layout = layouts[city]
    block = next(f for f in layout.front.fields if f.field is FaceField.NAME)
    x0, y0 = block.value_x_mm * 300 / 25.4, block.y_mm * 300 / 25.4
    box = (x0, y0, x0 + block.width_mm * 300 / 25.4, y0 + block.size_pt * 300 / 72)
    other = render_face(replace(SAMPLES[city], name="一"), layout, fonts)
    ours = Image.open(io.BytesIO(rendered.front_png)).crop(box)
    theirs = Image.open(io.BytesIO(other.front_png)).crop(box)
    assert ours.tobytes() != theirs.tobytes()
    dark = sum(ours.convert("L").histogram()[:100])
    assert dark > 200  # bold strokes of three or more characters


def test_pdf_pages_are_exact_id1_size(pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    for page in reader.pages:
        box = page.mediabox
        assert float(box.width) * 25.4 / 72 == pytest.approx(85.6, abs=0.005)
        assert float(box.height) * 25.4 / 72 == pytest.approx(54.0, abs=0.005)
        (image,) = page.images
        assert image.image is not None and image.image.size == (1011, 638)


def test_qr_decodes_from_png(city: str, layouts: dict[str, FaceLayout], rendered: FaceImages) -> None:
    images = (Image.open(io.BytesIO(rendered.front_png)), Image.open(io.BytesIO(rendered.back_png)))
    assert _decode_qr(_qr_side(layouts[city], images)) == [QR_TEXT]


def test_qr_decodes_from_pdf(city: str, layouts: dict[str, FaceLayout], pdf: bytes) -> None:
    pages = PdfReader(io.BytesIO(pdf)).pages
    images = tuple(p.images[0].image for p in pages)
    assert all(i is not None for i in images)
    assert _decode_qr(_qr_side(layouts[city], images)) == [QR_TEXT]  # type: ignore[arg-type]


def test_qr_with_chinese_text_decodes(layouts: dict[str, FaceLayout], fonts: Fonts) -> None:
    data = replace(SAMPLES["zhengzhou"], qr_text="居住证 买买提·艾力 410105-2013-004567")
    images = render_face(data, layouts["zhengzhou"], fonts)
    pages = (Image.open(io.BytesIO(images.front_png)), Image.open(io.BytesIO(images.back_png)))
    assert _decode_qr(_qr_side(layouts["zhengzhou"], pages)) == [data.qr_text]


def test_too_long_address_fails_naming_field(layouts: dict[str, FaceLayout], fonts: Fonts) -> None:
    data = replace(SAMPLES["sanmenxia"], residence_address="河南省三门峡市湖滨区黄河路中段" * 5)
    expected = r"residence_address: 75 characters do not fit in 3 line\(s\) of 43.0 mm at 6.0 pt"
    with pytest.raises(FaceDataError, match=expected) as exc:
        render_face(data, layouts["sanmenxia"], fonts)
    assert exc.value.field == "residence_address"


def test_too_long_qr_text_fails(layouts: dict[str, FaceLayout], fonts: Fonts) -> None:
    data = replace(SAMPLES["zhengzhou"], qr_text="A" * 1200)
    with pytest.raises(FaceDataError, match=r"qr_text: 1200 characters need a version-\d+ QR"):
        render_face(data, layouts["zhengzhou"], fonts)


@pytest.mark.parametrize(
    ("photo", "reason"),
    [(b"not an image", "not a decodable JPEG"), (b"\xff\xd8\xff\xe0" + b"\0" * 40, "not a decodable JPEG")],
)
def test_bad_photo_fails(layouts: dict[str, FaceLayout], fonts: Fonts, photo: bytes, reason: str) -> None:
    with pytest.raises(FaceDataError, match=f"photo: .*{reason}"):
        render_face(replace(SAMPLES["zhengzhou"], photo=photo), layouts["zhengzhou"], fonts)


def test_png_photo_refused(layouts: dict[str, FaceLayout], fonts: Fonts) -> None:
    out = io.BytesIO()
    Image.new("RGB", (30, 40), "red").save(out, "PNG")
    with pytest.raises(FaceDataError, match="photo: is PNG, a JPEG is required"):
        render_face(replace(SAMPLES["zhengzhou"], photo=out.getvalue()), layouts["zhengzhou"], fonts)


def test_landscape_photo_is_cropped_not_stretched(layouts: dict[str, FaceLayout], fonts: Fonts) -> None:
    wide = synthetic_photo(900, 300)
    images = render_face(replace(SAMPLES["zhengzhou"], photo=wide), layouts["zhengzhou"], fonts)
    assert Image.open(io.BytesIO(images.front_png)).size == (1011, 638)


def test_static_text_off_card_fails(layouts: dict[str, FaceLayout], fonts: Fonts) -> None:
    layout = layouts["zhengzhou"]
    long_title = layout.back.texts[0].model_copy(update={"text": "郑州市居住证" * 4})
    bad = layout.model_copy(update={"back": layout.back.model_copy(update={"texts": (long_title,)})})
    with pytest.raises(FaceLayoutError, match=r"back.texts\[0\]: text .* runs off the card"):
        render_face(SAMPLES["zhengzhou"], bad, fonts)


def test_static_text_over_qr_fails(layouts: dict[str, FaceLayout], fonts: Fonts) -> None:
    layout = layouts["zhengzhou"]
    assert layout.back.qr is not None
    note = layout.back.texts[-1].model_copy(update={"x_mm": 50.0, "y_mm": layout.back.qr.y_mm + 2})
    bad = layout.model_copy(update={"back": layout.back.model_copy(update={"texts": (*layout.back.texts, note)})})
    with pytest.raises(FaceLayoutError, match=r"back.texts\[\d+\]: text .* overlaps qr"):
        render_face(SAMPLES["zhengzhou"], bad, fonts)


def test_dates_and_validity_text() -> None:
    d = SAMPLES["zhengzhou"]
    assert format_date(date(2013, 7, 1), DateStyle.CJK) == "2013年07月01日"
    assert format_date(date(2013, 7, 1), DateStyle.DOT) == "2013.07.01"
    assert d.text(FaceField.VALIDITY, DateStyle.DOT) == "2013.07.01-2014.07.01"
    assert d.text(FaceField.VALIDITY, DateStyle.CJK) == "2013年07月01日至2014年07月01日"
    assert d.text(FaceField.NAME, DateStyle.CJK) == "买买提·艾力"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": " "}, "name: is empty"),
        ({"name": "王\n五"}, "name: contains unprintable character U+000A"),
        ({"residence_address": "路\u200b1号"}, "residence_address: contains unprintable character U+200B"),
        ({"photo": b""}, "photo: must be non-empty JPEG bytes"),
        ({"valid_until": date(2012, 1, 1)}, "valid_until: 2012-01-01 is before the issue date"),
    ],
)
def test_face_data_validation(change: dict[str, object], message: str) -> None:
    with pytest.raises(FaceDataError, match=re.escape(message)):
        replace(SAMPLES["zhengzhou"], **change)  # type: ignore[arg-type]


def test_repr_hides_personal_data() -> None:
    text = repr(SAMPLES["zhengzhou"])
    assert "买买提" not in text and "650102" not in text and "410105-2013-004567" in text
    images = FaceImages(b"x" * 10, b"y" * 5)
    assert repr(images) == "FaceImages(front_png=<10 bytes>, back_png=<5 bytes>)"
