"""CJK fonts: found at Debian paths, per-character fallback for Extension B, clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.face import FaceDataError, FontChain, FontNotFoundError, find_fonts
from cardsvc.face.fonts import FontFace
from cardsvc.face.text import draw_line, fit, pt_to_px, text_width, wrap

# 𠈌 U+2020C (Ext B, also in Noto CJK), 𪚥 U+2AA6A5 (Ext B, HanaMinA), 𡒄 U+21484 (Ext B, HanaMinB only),
# 䶮 U+4DAE (Ext A), · U+00B7 (minority names, notes/standards.md "Text").
RARE = "𠈌𪚥𡒄䶮"
NOTDEF_PROBE = "\U0010fffd"  # a plane-16 private-use code point no CJK font maps: renders .notdef


@pytest.fixture(scope="module")
def chain() -> FontChain:
    return find_fonts("sans", bold=False)


def _renders_glyph(face: FontFace, char: str, size_px: int = 48) -> bool:
    """The face draws `char` with ink, and not as its .notdef box."""
    font = face.pil(size_px)
    mask = font.getmask(char)
    return mask.getbbox() is not None and bytes(mask) != bytes(font.getmask(NOTDEF_PROBE))


def test_main_font_is_simplified_chinese_noto(chain: FontChain) -> None:
    assert chain.main.family == "Noto Sans CJK SC"
    assert chain.main.package == "fonts-noto-cjk"
    assert [f.family for f in chain.faces[1:]] == ["HanaMinA", "HanaMinB"]


@pytest.mark.parametrize(("style", "bold"), [("sans", True), ("serif", False), ("serif", True)])
def test_every_style_found(style: str, bold: bool) -> None:
    chain = find_fonts(style, bold=bold)  # type: ignore[arg-type]
    assert chain.bold is bold
    assert chain.main.covers("居") and chain.uncovered("三门峡市居住证·" + RARE) == []


@pytest.mark.parametrize("char", ["·", *RARE, "居", "X", "0"])
def test_rare_and_dot_characters_render_glyphs(chain: FontChain, char: str) -> None:
    face = chain.face_for(char)
    assert face is not None
    assert _renders_glyph(face, char)


def test_fallback_order_per_character(chain: FontChain) -> None:
    runs = chain.runs("张𡒄·艾力", "name")
    assert [(f.family, text) for f, text in runs] == [
        ("Noto Sans CJK SC", "张"), ("HanaMinB", "𡒄"), ("Noto Sans CJK SC", "·艾力"),
    ]


def test_uncovered_character_names_field_and_code_point(chain: FontChain) -> None:
    with pytest.raises(FontNotFoundError, match=r"name: character U\+10FFFD .* has no glyph"):
        chain.runs("王" + NOTDEF_PROBE, "name")


def test_missing_fallback_names_the_package(chain: FontChain) -> None:
    main_only = FontChain((chain.main,))
    with pytest.raises(FontNotFoundError, match="install Debian package fonts-hanazono"):
        main_only.runs("张𡒄", "name")


def test_no_cjk_font_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(FontNotFoundError, match="install Debian package fonts-noto-cjk") as exc:
        find_fonts("sans", root=tmp_path)
    assert str(tmp_path) in str(exc.value)


def test_wrap_keeps_digit_runs_and_fits_width(chain: FontChain) -> None:
    size = pt_to_px(8)
    text = "河南省三门峡市湖滨区黄河路中段1234号院2号楼1单元"
    width = text_width(chain, size, "河" * 12, "t")
    lines = wrap(chain, size, text, width, "t")
    assert "".join(lines) == text
    assert all(text_width(chain, size, line, "t") <= width for line in lines)
    assert any("1234" in line for line in lines)  # the house number is never split


def test_fit_shrinks_then_fails_naming_field(chain: FontChain) -> None:
    text = "河南省三门峡市湖滨区黄河路中段" * 2 + "一二三四五六"  # 36 characters: 18 a line
    width = text_width(chain, pt_to_px(8), "河" * 16, "t")
    size, lines = fit(chain, text, width, 2, 8, 6, "residence_address")
    assert size < pt_to_px(8) and len(lines) == 2
    with pytest.raises(FaceDataError, match=r"residence_address: 72 characters do not fit in 2 line\(s\)"):
        fit(chain, text * 2, width, 2, 8, 6, "residence_address")


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.sampled_from("王李买提艾力·𠈌𡒄𪚥䶮0123456789X号路"), min_size=1, max_size=40))
def test_wrap_never_loses_text(text: str) -> None:
    chain = find_fonts("sans")
    size = pt_to_px(7.5)
    width = text_width(chain, size, "河" * 10, "t")
    lines = wrap(chain, size, text, width, "t")
    assert "".join(lines) == text
    assert all(text_width(chain, size, line, "t") <= width for line in lines if len(line) > 1)


def test_draw_line_mixes_fonts_on_one_baseline(chain: FontChain) -> None:
    from PIL import Image, ImageDraw

    img = Image.new("L", (600, 120), 255)
    draw_line(ImageDraw.Draw(img), chain, 10, 20, "王𡒄", 60, "#000000", "name")
    ink = Image.eval(img, lambda v: 255 - v)
    first, second = ink.crop((10, 0, 70, 120)).getbbox(), ink.crop((70, 0, 140, 120)).getbbox()
    assert first is not None and second is not None
    # Both glyphs sit in the em box [20, 80] (± the fonts' overshoot), bottoms within a few pixels.
    assert abs(first[3] - second[3]) <= 6
    assert min(first[1], second[1]) >= 14 and max(first[3], second[3]) <= 86
