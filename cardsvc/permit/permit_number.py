"""Permit number (居住证编号) and card number formats: our own design, documented here.

Permit number, 17 characters: the GB/T 2260 code of the issuing county-level authority (6 digits,
SMX Art.14: issued by the county public security organ) + the year the number was allocated (4) + serial
within that authority and year (6) + ISO 7064 MOD 11-2 check character over the 16 digits (0-9 or X).
Example: 411202 2017 000123 + check. It stays with the permit across card generations.

The number is allocated when the application is accepted (SMX Art.11 当场受理), before the card is made; the
issue day (SMX Art.14 签发日期) is the day the first card is made, up to 15 days later in SMX (Art.12) and with
no limit stated in ZZ. So the year part is the acceptance year: the issue year or, for an application
accepted in late December and issued in January, an earlier year; never a later one.

Card number (the physical card, a new one per replacement): the layout's prefix (digits) + serial
(layout-declared number of digits) + ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardsvc.errors import FieldError
from cardsvc.permit.iso7064 import mod11_2

PERMIT_NUMBER_LENGTH = 17


@dataclass(frozen=True, slots=True)
class PermitNumber:
    authority_code: str
    year: int
    serial: int

    def __str__(self) -> str:
        body = f"{self.authority_code}{self.year:04d}{self.serial:06d}"
        return body + mod11_2(body)


def make_permit_number(authority_code: str, year: int, serial: int) -> str:
    if not (len(authority_code) == 6 and authority_code.isdigit()):
        raise ValueError(f"authority code must be 6 digits, got {authority_code!r}")
    if not 1 <= serial <= 999_999:
        raise ValueError(f"serial must be 1..999999, got {serial}")
    return str(PermitNumber(authority_code, year, serial))


def parse_permit_number(text: str, field: str = "permit_number") -> PermitNumber:
    if len(text) != PERMIT_NUMBER_LENGTH:
        raise FieldError(field, f"must be {PERMIT_NUMBER_LENGTH} characters, got {len(text)}")
    body, check = text[:16], text[16]
    if not body.isascii() or not body.isdigit():
        raise FieldError(field, "first 16 characters must be digits")
    expected = mod11_2(body)
    if check != expected:
        raise FieldError(field, f"check character must be {expected!r} (ISO 7064 MOD 11-2), got {check!r}")
    serial = int(body[10:16])
    if serial == 0:
        raise FieldError(field, "serial 000000 is not assigned")
    return PermitNumber(body[:6], int(body[6:10]), serial)


def make_card_number(prefix: str, serial: int, serial_digits: int) -> str:
    if not 0 <= serial < 10**serial_digits:
        raise ValueError(f"card serial {serial} does not fit {serial_digits} digits")
    body = f"{prefix}{serial:0{serial_digits}d}"
    return body + mod11_2(body)


def check_card_number(text: str, prefix: str, serial_digits: int, field: str = "card_number") -> None:
    length = len(prefix) + serial_digits + 1
    if len(text) != length:
        raise FieldError(field, f"must be {length} characters, got {len(text)}")
    if not text.startswith(prefix):
        raise FieldError(field, f"must start with the layout prefix {prefix!r}")
    body, check = text[:-1], text[-1]
    if not body.isascii() or not body.isdigit():
        raise FieldError(field, f"first {length - 1} characters must be digits")
    expected = mod11_2(body)
    if check != expected:
        raise FieldError(field, f"check character must be {expected!r} (ISO 7064 MOD 11-2), got {check!r}")
