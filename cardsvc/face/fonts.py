"""CJK fonts for the card face, found at known Debian paths, with per-character fallback.

Noto CJK SC (fonts-noto-cjk) prints the face; it lacks most of CJK Extension B and beyond, which names
and addresses may contain (notes/standards.md "Text"), so HanaMinA/HanaMinB (fonts-hanazono) print any
character the main font has no glyph for. Coverage is read from each font's cmap with fontTools, so a
character nobody covers is an error naming it, never a .notdef box on a printed card.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from fontTools.ttLib import TTCollection, TTFont
from PIL import ImageFont

from cardsvc.face.errors import FontNotFoundError

log = logging.getLogger(__name__)

Style = Literal["sans", "serif"]

_NOTO = "usr/share/fonts/opentype/noto"
_FALLBACK_PACKAGE = "fonts-hanazono"

# (path relative to the file-system root, family name of the face inside a collection, Debian package).
# The first candidate found is the main font; alternatives follow for hosts without Noto CJK.
_MAIN: dict[tuple[Style, bool], tuple[tuple[str, str, str], ...]] = {
    ("sans", False): (
        (f"{_NOTO}/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC", "fonts-noto-cjk"),
        ("usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "WenQuanYi Zen Hei", "fonts-wqy-zenhei"),
    ),
    ("sans", True): (
        (f"{_NOTO}/NotoSansCJK-Bold.ttc", "Noto Sans CJK SC", "fonts-noto-cjk"),
        (f"{_NOTO}/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC", "fonts-noto-cjk"),
        ("usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "WenQuanYi Zen Hei", "fonts-wqy-zenhei"),
    ),
    ("serif", False): (
        (f"{_NOTO}/NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC", "fonts-noto-cjk"),
        ("usr/share/fonts/truetype/arphic/ukai.ttc", "AR PL UKai CN", "fonts-arphic-ukai"),
    ),
    ("serif", True): (
        (f"{_NOTO}/NotoSerifCJK-Bold.ttc", "Noto Serif CJK SC", "fonts-noto-cjk"),
        (f"{_NOTO}/NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC", "fonts-noto-cjk"),
        ("usr/share/fonts/truetype/arphic/ukai.ttc", "AR PL UKai CN", "fonts-arphic-ukai"),
    ),
}
# HanaMinA covers the BMP and part of Extension B; HanaMinB the rest of Extensions B-F.
_FALLBACKS = (
    ("usr/share/fonts/truetype/hanazono/HanaMinA.ttf", "HanaMinA", _FALLBACK_PACKAGE),
    ("usr/share/fonts/truetype/hanazono/HanaMinB.ttf", "HanaMinB", _FALLBACK_PACKAGE),
)


@dataclass(frozen=True, slots=True)
class FontFace:
    """One face of a font file (`index` into a .ttc collection) and the Debian package that ships it."""

    path: Path
    index: int
    family: str
    package: str

    @property
    def codepoints(self) -> frozenset[int]:
        return _codepoints(self.path, self.index)

    def covers(self, char: str) -> bool:
        return ord(char) in self.codepoints

    def pil(self, size_px: int) -> ImageFont.FreeTypeFont:
        return _pil_font(self.path, self.index, size_px)


@cache
def _codepoints(path: Path, index: int) -> frozenset[int]:
    if path.suffix.lower() == ".ttc":
        font = TTCollection(str(path), lazy=True).fonts[index]
    else:
        font = TTFont(str(path), lazy=True)
    return frozenset(font.getBestCmap())


@cache
def _pil_font(path: Path, index: int, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px, index=index, layout_engine=ImageFont.Layout.BASIC)


@cache
def _face_index(path: Path, family: str) -> int | None:
    """Index of the face whose family name is `family` in a collection (0 for a plain font file)."""
    if path.suffix.lower() != ".ttc":
        return 0
    for i, font in enumerate(TTCollection(str(path), lazy=True).fonts):
        if font["name"].getDebugName(1) == family:
            return i
    return None


def _find(candidates: tuple[tuple[str, str, str], ...], root: Path) -> Iterator[FontFace]:
    for rel, family, package in candidates:
        path = root / rel
        if path.is_file():
            index = _face_index(path, family)
            if index is not None:
                yield FontFace(path, index, family, package)


@dataclass(frozen=True, slots=True)
class FontChain:
    """A main face and fallbacks; each character is printed with the first face whose cmap has it."""

    faces: tuple[FontFace, ...]
    bold: bool = False  # fallback faces have no bold cut: the renderer emboldens their glyphs

    @property
    def main(self) -> FontFace:
        return self.faces[0]

    def face_for(self, char: str) -> FontFace | None:
        return next((f for f in self.faces if f.covers(char)), None)

    def uncovered(self, text: str) -> list[str]:
        return [c for c in dict.fromkeys(text) if self.face_for(c) is None]

    def runs(self, text: str, what: str) -> list[tuple[FontFace, str]]:
        """Split `text` into runs of one face each; raises FontNotFoundError naming `what` and the character."""
        runs: list[tuple[FontFace, str]] = []
        for char in text:
            face = self.face_for(char)
            if face is None:
                names = ", ".join(f.family for f in self.faces)
                hint = "" if any(f.package == _FALLBACK_PACKAGE for f in self.faces) else (
                    f"; install Debian package {_FALLBACK_PACKAGE} for CJK Extension B and beyond"
                )
                raise FontNotFoundError(
                    f"{what}: character U+{ord(char):04X} {char!r} has no glyph in any installed font ({names}){hint}"
                )
            if runs and runs[-1][0] == face:
                runs[-1] = (face, runs[-1][1] + char)
            else:
                runs.append((face, char))
        return runs


def find_fonts(style: Style = "sans", bold: bool = False, root: Path = Path("/")) -> FontChain:
    """Find the main CJK face and the Extension B fallbacks under `root` (the file-system root by default).

    Raises FontNotFoundError naming the Debian package to install when no main CJK font is present.
    """
    main = next(_find(_MAIN[(style, bold)], root), None)
    if main is None:
        paths = ", ".join(str(root / rel) for rel, _, _ in _MAIN[(style, bold)])
        raise FontNotFoundError(
            f"no CJK {style} font for the card face (looked for {paths}); "
            "install Debian package fonts-noto-cjk (and fonts-hanazono for rare characters)"
        )
    fallbacks = tuple(_find(_FALLBACKS, root))
    if not fallbacks:
        log.warning("%s not installed: rare characters (CJK Extension B+) cannot be printed", _FALLBACK_PACKAGE)
    return FontChain((main, *fallbacks), bold=bold)
