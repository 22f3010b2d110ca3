"""The QR payload printed on the card face (ZZ Art.8 lists a QR code among the visible data).

Compact CBOR map with small integer keys, in the manner of the EU digital COVID certificate's CWT:

    key  field            CBOR type       note
    0    kind             uint (=1)       document kind; the status list uses another value, so a
                                          signed status list can never pass as a QR code
    1    permit_number    tstr (17)       居住证编号, cardsvc.permit.permit_number format
    2    card_number      tstr            this card generation's number (EF.CARD)
    3    name             tstr            UTF-8 (RFC 8949 §3.1); keeps rare characters and U+00B7
    4    sex              uint            GB/T 2261.1 code
    5    issue_date       uint YYYYMMDD   签发日期
    6    valid_until      uint YYYYMMDD   有效期限 as printed (endorsements extend it on the chip)
    7    authority_code   tstr (6)        GB/T 2260 code of the issuing county-level authority (SMX Art.14)

The citizen ID number is machine-readable data only (ZZ Art.8), so it is not in the printed code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import cbor2

from cardsvc.errors import FieldError
from cardsvc.permit.gb import Sex
from cardsvc.permit.iso7064 import mod11_2
from cardsvc.permit.model import Permit
from cardsvc.permit.permit_number import parse_permit_number
from cardsvc.qr.errors import QrFormatError

KIND_PERMIT_QR = 1
MAX_NAME_CHARS = 64

K_KIND, K_PERMIT, K_CARD, K_NAME, K_SEX, K_ISSUED, K_VALID, K_AUTHORITY = range(8)
_KEYS = frozenset(range(8))


@dataclass(frozen=True, slots=True)
class QrPayload:
    permit_number: str
    card_number: str
    name: str
    sex: Sex
    issue_date: date
    valid_until: date
    authority_code: str

    def __post_init__(self) -> None:
        try:
            parse_permit_number(self.permit_number, "qr.permit_number")
        except FieldError as exc:
            raise QrFormatError(str(exc)) from exc
        _check_card_number(self.card_number)
        if not self.name or len(self.name) > MAX_NAME_CHARS or not self.name.isprintable():
            raise QrFormatError(f"qr.name: must be 1-{MAX_NAME_CHARS} printable characters")
        object.__setattr__(self, "sex", _sex(self.sex))
        if self.valid_until < self.issue_date:
            raise QrFormatError(f"qr.valid_until: {self.valid_until} is before issue_date {self.issue_date}")
        if not (len(self.authority_code) == 6 and self.authority_code.isascii() and self.authority_code.isdigit()):
            raise QrFormatError(f"qr.authority_code: must be 6 digits (GB/T 2260), got {self.authority_code!r}")

    @classmethod
    def from_permit(cls, permit: Permit) -> QrPayload:
        return cls(permit.permit_number, permit.card_number, permit.name, permit.sex, permit.issue_date,
                   permit.valid_until, permit.authority.code)

    def to_cbor(self) -> bytes:
        return cbor2.dumps({
            K_KIND: KIND_PERMIT_QR,
            K_PERMIT: self.permit_number,
            K_CARD: self.card_number,
            K_NAME: self.name,
            K_SEX: int(self.sex),
            K_ISSUED: _date_to_int(self.issue_date),
            K_VALID: _date_to_int(self.valid_until),
            K_AUTHORITY: self.authority_code,
        }, canonical=True)

    @classmethod
    def from_cbor_value(cls, value: Any) -> QrPayload:
        """Build from a decoded CBOR item; every problem names the key and the reason."""
        if not isinstance(value, Mapping):
            raise QrFormatError("qr payload: must be a CBOR map")
        keys = set(value)
        if keys != _KEYS:
            missing, extra = sorted(_KEYS - keys), sorted(keys - _KEYS, key=repr)
            raise QrFormatError(f"qr payload: missing keys {missing}, unknown keys {extra}")
        if value[K_KIND] != KIND_PERMIT_QR:
            raise QrFormatError(f"qr payload key 0 (kind): {value[K_KIND]!r} is not a permit QR code")
        texts = {K_PERMIT: "permit_number", K_CARD: "card_number", K_NAME: "name", K_AUTHORITY: "authority_code"}
        for key, field in texts.items():
            if not isinstance(value[key], str):
                raise QrFormatError(f"qr payload key {key} ({field}): must be a text string")
        return cls(value[K_PERMIT], value[K_CARD], value[K_NAME], _sex(value[K_SEX]),
                   _int_to_date(value[K_ISSUED], "issue_date"), _int_to_date(value[K_VALID], "valid_until"),
                   value[K_AUTHORITY])

    def __repr__(self) -> str:
        # No personal data in logs or tracebacks (design §7).
        return f"QrPayload(permit_number={self.permit_number!r}, card_number={self.card_number!r})"


def _check_card_number(text: str) -> None:
    if not 4 <= len(text) <= 32:
        raise QrFormatError(f"qr.card_number: must be 4-32 characters, got {len(text)}")
    body, check = text[:-1], text[-1]
    if not body.isascii() or not body.isdigit():
        raise QrFormatError("qr.card_number: all but the last character must be digits")
    if check != mod11_2(body):
        raise QrFormatError("qr.card_number: check character is wrong (ISO 7064 MOD 11-2)")


def _sex(value: object) -> Sex:
    if not isinstance(value, int) or isinstance(value, bool):
        raise QrFormatError("qr.sex: must be an unsigned integer (GB/T 2261.1)")
    try:
        return Sex(value)
    except ValueError:
        raise QrFormatError(f"qr.sex: {value} is not a GB/T 2261.1 code") from None


def _date_to_int(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _int_to_date(value: object, field: str) -> date:
    if not isinstance(value, int) or isinstance(value, bool):
        raise QrFormatError(f"qr.{field}: must be an unsigned integer YYYYMMDD")
    try:
        return date(value // 10000, value // 100 % 100, value % 100)
    except ValueError:
        raise QrFormatError(f"qr.{field}: {value} is not a valid YYYYMMDD date") from None
