"""Face layout of a city's permit card: where the photo, each field, the QR code and the static texts go.

Positions are in millimetres from the card's top-left corner on the ID-1 format (ISO/IEC 7810, "CR80",
85.6 × 54 mm). The layout is data (layouts/faces/<city>.toml), validated here with pydantic because it
is read from a file (an edge) and the city profile schema of cardsvc/layout is pydantic too.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from cardsvc.face.errors import FaceLayoutError
from cardsvc.layout.schema import Layout

# ISO/IEC 7810 ID-1 card size; printed at 300 dpi (the resolution of common card printers).
CARD_WIDTH_MM = 85.6
CARD_HEIGHT_MM = 54.0
DPI = 300
MM_PER_PT = 25.4 / 72


def mm_to_px(mm: float) -> int:
    return round(mm * DPI / 25.4)


CARD_WIDTH_PX = mm_to_px(CARD_WIDTH_MM)  # 1011
CARD_HEIGHT_PX = mm_to_px(CARD_HEIGHT_MM)  # 638


class FaceField(StrEnum):
    """The visible fields a face can print (SMX Art.14, ZZ Art.8); VALIDITY is issue date to valid-until."""

    NAME = "name"
    SEX = "sex"
    ETHNICITY = "ethnicity"
    BIRTH_DATE = "birth_date"
    CITIZEN_ID = "citizen_id"
    HOUSEHOLD_ADDRESS = "household_address"
    RESIDENCE_ADDRESS = "residence_address"
    PERMIT_NUMBER = "permit_number"
    AUTHORITY = "authority"
    ISSUE_DATE = "issue_date"
    VALID_UNTIL = "valid_until"
    VALIDITY = "validity"


class DateStyle(StrEnum):
    CJK = "cjk"  # 2017年03月01日
    DOT = "dot"  # 2017.03.01


class Align(StrEnum):
    LEFT = "left"
    CENTRE = "centre"
    RIGHT = "right"


Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]
Mm = Annotated[float, Field(ge=0)]
PositiveMm = Annotated[float, Field(gt=0)]
Pt = Annotated[float, Field(ge=4, le=40)]  # below 4 pt a card printer's text is not legible


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rect(_Frozen):
    x_mm: Mm
    y_mm: Mm
    w_mm: PositiveMm
    h_mm: PositiveMm

    @model_validator(mode="after")
    def _on_card(self) -> Self:
        if self.x_mm + self.w_mm > CARD_WIDTH_MM + 1e-9 or self.y_mm + self.h_mm > CARD_HEIGHT_MM + 1e-9:
            raise ValueError(
                f"box at ({self.x_mm}, {self.y_mm}) mm of {self.w_mm} × {self.h_mm} mm "
                f"runs off the {CARD_WIDTH_MM} × {CARD_HEIGHT_MM} mm card"
            )
        return self

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x_mm < other.x_mm + other.w_mm
            and other.x_mm < self.x_mm + self.w_mm
            and self.y_mm < other.y_mm + other.h_mm
            and other.y_mm < self.y_mm + self.h_mm
        )


class Band(Rect):
    """A solid colour band (background stripe behind the title, the issuer's colour)."""

    colour: Colour


class StaticText(_Frozen):
    """Fixed text such as the title 三门峡市居住证; y_mm is the top of the text line."""

    text: Annotated[str, StringConstraints(min_length=1)]
    x_mm: Mm
    y_mm: Mm
    size_pt: Pt
    colour: Colour = "#000000"
    bold: bool = False
    align: Align = Align.LEFT  # x_mm is the left edge, centre or right edge of the text
    letter_spacing_mm: Mm = 0.0


class FieldBlock(_Frozen):
    """One field: its label at x_mm and its value from value_x_mm, wrapped onto at most `lines` lines.

    A value too long for its box is set smaller, down to min_size_pt; past that rendering fails naming
    the field (never clipped silently).
    """

    field: FaceField
    label: str = ""
    x_mm: Mm
    y_mm: Mm
    value_x_mm: Mm
    width_mm: PositiveMm
    size_pt: Pt
    label_size_pt: Pt | None = None
    min_size_pt: Pt | None = None
    lines: Annotated[int, Field(ge=1, le=4)] = 1
    line_spacing: Annotated[float, Field(ge=1.0, le=2.0)] = 1.25
    colour: Colour = "#000000"
    label_colour: Colour = "#000000"
    bold: bool = False
    date_style: DateStyle | None = None  # overrides the layout's

    @property
    def smallest_pt(self) -> float:
        return self.min_size_pt if self.min_size_pt is not None else max(4.0, round(self.size_pt * 0.75, 1))

    def rect(self) -> Rect:
        height = self.size_pt * MM_PER_PT * self.line_spacing * self.lines
        return Rect.model_construct(
            x_mm=self.x_mm, y_mm=self.y_mm, w_mm=self.value_x_mm + self.width_mm - self.x_mm, h_mm=height
        )

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.value_x_mm < self.x_mm:
            raise ValueError(f"{self.field}: value_x_mm {self.value_x_mm} lies left of the label at {self.x_mm}")
        if self.min_size_pt is not None and self.min_size_pt > self.size_pt:
            raise ValueError(f"{self.field}: min_size_pt {self.min_size_pt} exceeds size_pt {self.size_pt}")
        r = self.rect()
        if r.x_mm + r.w_mm > CARD_WIDTH_MM + 1e-9 or r.y_mm + r.h_mm > CARD_HEIGHT_MM + 1e-9:
            raise ValueError(
                f"{self.field}: {self.lines} line(s) of {self.size_pt} pt from ({self.x_mm}, {self.y_mm}) mm, "
                f"{self.width_mm} mm wide, run off the card"
            )
        return self


class PhotoBox(Rect):
    border_colour: Colour | None = None


class QrBox(_Frozen):
    """The QR code (ZZ Art.8), a square of size_mm; border_modules of white quiet zone inside the square."""

    x_mm: Mm
    y_mm: Mm
    size_mm: PositiveMm
    error: Literal["L", "M", "Q", "H"] = "M"
    border_modules: Annotated[int, Field(ge=2, le=4)] = 2

    def rect(self) -> Rect:
        return Rect(x_mm=self.x_mm, y_mm=self.y_mm, w_mm=self.size_mm, h_mm=self.size_mm)


class Side(_Frozen):
    background: Colour = "#FFFFFF"
    bands: tuple[Band, ...] = ()
    texts: tuple[StaticText, ...] = ()
    fields: tuple[FieldBlock, ...] = ()
    photo: PhotoBox | None = None
    qr: QrBox | None = None

    @model_validator(mode="after")
    def _no_overlap(self) -> Self:
        # Fields, photo and QR must not cover one another (bands and static texts are decoration).
        boxes: list[tuple[str, Rect]] = [(f"field {f.field}", f.rect()) for f in self.fields]
        if self.photo is not None:
            boxes.append(("photo", self.photo))
        if self.qr is not None:
            boxes.append(("qr", self.qr.rect()))
        for i, (name_a, a) in enumerate(boxes):
            for name_b, b in boxes[i + 1 :]:
                if a.overlaps(b):
                    raise ValueError(f"{name_a} overlaps {name_b}")
        return self


class FaceLayout(_Frozen):
    """Front and back of one city's card. Exactly one QR code; the photo is on the front (SMX Art.14)."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    city: Annotated[str, StringConstraints(min_length=1)]
    font: Literal["sans", "serif"] = "sans"
    date_style: DateStyle = DateStyle.CJK
    front: Side
    back: Side

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.front.photo is None:
            raise ValueError("front.photo is required: the holder's photo is printed on the front")
        if self.back.photo is not None:
            raise ValueError("back.photo: the photo belongs on the front only")
        if (self.front.qr is None) == (self.back.qr is None):
            raise ValueError("exactly one of front.qr and back.qr must be declared")
        seen: set[FaceField] = set()
        for f in (*self.front.fields, *self.back.fields):
            if f.field in seen:
                raise ValueError(f"field {f.field} is declared twice")
            seen.add(f.field)
        return self

    @classmethod
    def from_mapping(cls, data: object, source: str = "face layout") -> FaceLayout:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
            )
            raise FaceLayoutError(f"{source}: {problems}") from None


def load_face_layout(path: str | Path) -> FaceLayout:
    """Read and validate layouts/faces/<city>.toml; errors name the file and the offending key."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FaceLayoutError(f"{p}: cannot read face layout: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FaceLayoutError(f"{p}: not valid TOML: {exc}") from None
    return FaceLayout.from_mapping(data, source=str(p))


def face_layout_for(layout: Layout) -> FaceLayout:
    """The face layout a city profile names in its [layout] block (`face = "faces/<city>.toml"`, relative
    to the layouts directory the layout was loaded from)."""
    path = layout.face_path()
    if path is None:
        raise FaceLayoutError(f"layout {layout.id}: [layout] names no face (face = \"faces/<city>.toml\") "
                              "or was not loaded from a layouts directory")
    return load_face_layout(path)
