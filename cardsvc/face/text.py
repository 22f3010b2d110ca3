"""Measuring, wrapping, shrinking and drawing text with per-character font fallback."""

from __future__ import annotations

import re
from functools import cache

from PIL import ImageDraw

from cardsvc.face.errors import FaceDataError
from cardsvc.face.fonts import FontChain, FontFace
from cardsvc.face.layout import DPI

# Runs of Latin letters and digits (house numbers, "X" of an ID number) stay on one line; any other
# character, CJK included, may break a line.
_TOKEN = re.compile(r"[A-Za-z0-9]+|\s+|.", re.DOTALL)
_SHRINK_STEP_PT = 0.25
# CJK fonts set the ideographic em box 0.88 em above and 0.12 em below the baseline (Noto CJK's OS/2
# typo metrics 880/-120, the same in HanaMin), so a line's glyphs fill [top, top + 1 em].
EM_ASCENT = 0.88
_SYNTHETIC_BOLD = 0.03  # stroke width in em that makes a regular CJK face look like a bold one
_MAX_INK_FOR_BOLD = 0.35  # glyphs inking more of their box than this stay regular


def pt_to_px(pt: float) -> int:
    return max(1, round(pt * DPI / 72))


def text_width(chain: FontChain, size_px: int, text: str, what: str, spacing_px: float = 0.0) -> float:
    width = sum(face.pil(size_px).getlength(run) for face, run in chain.runs(text, what))
    return width + spacing_px * max(0, len(text) - 1)


def wrap(chain: FontChain, size_px: int, text: str, width_px: float, what: str) -> list[str]:
    """Greedy line breaking at token boundaries; a token wider than the line is split by character."""
    tokens: list[str] = []
    for tok in _TOKEN.findall(text):
        if len(tok) > 1 and not tok.isspace() and text_width(chain, size_px, tok, what) > width_px:
            tokens.extend(tok)
        else:
            tokens.append(tok)
    lines: list[str] = []
    line = ""
    for tok in tokens:
        candidate = line + tok
        if not line or text_width(chain, size_px, candidate, what) <= width_px:
            line = candidate
        else:
            lines.append(line.rstrip())
            line = tok.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    return lines


def fit(
    chain: FontChain, text: str, width_px: float, max_lines: int, size_pt: float, min_pt: float, field: str
) -> tuple[int, list[str]]:
    """The largest size from size_pt down to min_pt at which `text` fits in max_lines lines of width_px.

    Raises FaceDataError naming the field when it does not fit even at min_pt: a printed card must never
    silently lose the end of an address.
    """
    pt = size_pt
    while pt >= min_pt - 1e-9:
        size_px = pt_to_px(pt)
        lines = wrap(chain, size_px, text, width_px, field)
        if len(lines) <= max_lines and all(text_width(chain, size_px, ln, field) <= width_px for ln in lines):
            return size_px, lines
        pt -= _SHRINK_STEP_PT
    width_mm = width_px * 25.4 / DPI
    raise FaceDataError(
        field,
        f"{len(text)} characters do not fit in {max_lines} line(s) of {width_mm:.1f} mm at {min_pt} pt or larger",
    )


def draw_line(
    draw: ImageDraw.ImageDraw,
    chain: FontChain,
    x: float,
    top: float,
    text: str,
    size_px: int,
    fill: str,
    what: str,
    spacing_px: float = 0.0,
) -> None:
    """Draw one line whose em box starts at `top`: every run on one baseline, so mixed fonts align."""
    baseline = top + EM_ASCENT * size_px
    for face, run in chain.runs(text, what):
        font = face.pil(size_px)
        synthetic_bold = chain.bold and face != chain.main
        for piece in run if spacing_px or synthetic_bold else (run,):
            stroke = _bold_stroke(face, piece, size_px) if synthetic_bold else 0
            draw.text((x, baseline), piece, font=font, fill=fill, anchor="ls", stroke_width=stroke, stroke_fill=fill)
            x += font.getlength(piece) + spacing_px


@cache
def _bold_stroke(face: FontFace, char: str, size_px: int) -> int:
    """Stroke width that makes a regular-only fallback glyph match a bold line: none for dense glyphs
    (e.g. 𪚥 of 64 strokes), whose counters a stroke would fill into an unreadable blob."""
    mask = face.pil(size_px).getmask(char)
    area = mask.size[0] * mask.size[1]
    ink = sum(1 for v in bytes(mask) if v > 128)
    return round(size_px * _SYNTHETIC_BOLD) if area and ink / area <= _MAX_INK_FOR_BOLD else 0
