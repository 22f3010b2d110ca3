"""Citizen identity number (公民身份号码), GB 11643-1999.

18 characters: 6-digit address code (GB/T 2260) · birth date YYYYMMDD · 3-digit sequence (odd male,
even female) · ISO 7064 MOD 11-2 check character (0-9 or X; a lower-case x is normalised to X).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cardsvc.errors import FieldError
from cardsvc.permit.gb import Sex, region_plausible
from cardsvc.permit.iso7064 import mod11_2


@dataclass(frozen=True, slots=True)
class CitizenId:
    number: str  # normalised, 18 characters

    @property
    def region(self) -> str:
        return self.number[:6]

    @property
    def birth_date(self) -> date:
        n = self.number
        return date(int(n[6:10]), int(n[10:12]), int(n[12:14]))

    @property
    def sex(self) -> Sex:
        return Sex.MALE if int(self.number[16]) % 2 else Sex.FEMALE

    def __str__(self) -> str:
        return self.number


def normalise_citizen_id(text: str) -> str:
    """GB 11643 check character X: accept a lower-case x, store X."""
    return text[:-1] + "X" if text.endswith("x") else text


def parse_citizen_id(text: str, field: str = "citizen_id") -> CitizenId:
    """Check form, check character, birth date and region code; raise FieldError naming `field`."""
    number = normalise_citizen_id(text)
    if len(number) != 18:
        raise FieldError(field, f"must be 18 characters (GB 11643), got {len(number)}")
    body, check = number[:17], number[17]
    if not body.isascii() or not body.isdigit():
        bad = next(i for i, c in enumerate(body) if not ("0" <= c <= "9"))
        raise FieldError(field, f"character {bad + 1} ({body[bad]!r}) is not a digit")
    if check not in "0123456789X":
        raise FieldError(field, f"check character {check!r} is not 0-9 or X")
    expected = mod11_2(body)
    if check != expected:
        raise FieldError(field, f"check character must be {expected!r} (ISO 7064 MOD 11-2), got {check!r}")
    reason = region_plausible(body[:6])
    if reason:
        raise FieldError(field, reason)
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise FieldError(field, f"birth date digits {body[6:14]} are not a calendar date") from None
    if born.year < 1900:
        raise FieldError(field, f"birth year {born.year} is before 1900")
    if body[14:17] == "000":
        raise FieldError(field, "sequence code 000 is not assigned")
    return CitizenId(number)


def make_citizen_id(region: str, born: date, sequence: int) -> str:
    """Build a valid number (for samples and tests): sequence 1-999, odd for male."""
    if not 1 <= sequence <= 999:
        raise ValueError(f"sequence must be 1..999, got {sequence}")
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + mod11_2(body)
