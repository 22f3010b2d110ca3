"""What the face prints (FaceData) and what rendering produces (FaceImages)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, fields
from datetime import date
from typing import TYPE_CHECKING

from cardsvc.face.errors import FaceDataError
from cardsvc.face.layout import DateStyle, FaceField

if TYPE_CHECKING:
    from cardsvc.permit.model import Permit


def format_date(d: date, style: DateStyle) -> str:
    if style is DateStyle.CJK:
        return f"{d.year:04d}年{d.month:02d}月{d.day:02d}日"
    return f"{d.year:04d}.{d.month:02d}.{d.day:02d}"


@dataclass(frozen=True, slots=True)
class FaceData:
    """The visible data of one permit, as printed: sex and ethnicity already as Chinese labels (男, 汉族)."""

    name: str
    sex: str
    ethnicity: str
    birth_date: date
    citizen_id: str
    household_address: str
    residence_address: str
    permit_number: str
    authority: str
    issue_date: date
    valid_until: date
    photo: bytes  # JPEG
    qr_text: str

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "photo":
                if not isinstance(value, bytes) or not value:
                    raise FaceDataError("photo", "must be non-empty JPEG bytes")
            elif isinstance(value, str):
                if not value.strip():
                    raise FaceDataError(f.name, "is empty")
                bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co")), None)
                if bad is not None:
                    raise FaceDataError(f.name, f"contains unprintable character U+{ord(bad):04X}")
            elif not isinstance(value, date):
                raise FaceDataError(f.name, f"must be a date, not {type(value).__name__}")
        if self.valid_until < self.issue_date:
            raise FaceDataError("valid_until", f"{self.valid_until} is before the issue date {self.issue_date}")

    def text(self, field: FaceField, style: DateStyle) -> str:
        """The printed text of `field`; dates in `style`, validity as 'issue-until' (至 in CJK style)."""
        if field is FaceField.VALIDITY:
            sep = "至" if style is DateStyle.CJK else "-"
            return f"{format_date(self.issue_date, style)}{sep}{format_date(self.valid_until, style)}"
        value = getattr(self, field.value)
        return format_date(value, style) if isinstance(value, date) else str(value)

    @classmethod
    def from_permit(cls, permit: Permit, qr_text: str) -> FaceData:
        """Face data of a permit record; `qr_text` is the signed QR payload made by cardsvc.security.

        After yearly endorsements (SMX Art.16, ZZ Art.13) a newly printed card shows the current
        residence address and validity, i.e. those of the latest endorsement.
        """
        from cardsvc.permit.gb import ETHNICITIES  # the permit package is optional for the renderer

        ethnicity = ETHNICITIES.get(permit.ethnicity)
        if ethnicity is None:
            raise FaceDataError("ethnicity", f"{permit.ethnicity!r} is not a GB/T 3304 code")
        latest = permit.endorsements[-1] if permit.endorsements else None
        return cls(
            name=permit.name,
            sex=permit.sex.label,
            ethnicity=ethnicity,
            birth_date=permit.birth_date,
            citizen_id=permit.citizen_id,
            household_address=permit.household_address,
            residence_address=latest.residence_address if latest else permit.residence_address,
            permit_number=permit.permit_number,
            authority=permit.authority.name,
            issue_date=permit.issue_date,
            valid_until=latest.valid_until if latest else permit.valid_until,
            photo=permit.photo,
            qr_text=qr_text,
        )

    def __repr__(self) -> str:
        # No personal data in logs or tracebacks (design §7).
        return f"FaceData(permit_number={self.permit_number!r})"


@dataclass(frozen=True, slots=True)
class FaceImages:
    """Both faces as 300-dpi PNG files of 1011 × 638 px."""

    front_png: bytes
    back_png: bytes

    def __repr__(self) -> str:
        return f"FaceImages(front_png=<{len(self.front_png)} bytes>, back_png=<{len(self.back_png)} bytes>)"
