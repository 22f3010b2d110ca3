"""The closed vocabulary a layout may use: field names, their value kinds, and the encodings per kind.

A layout places permit fields (by these names) into EFs; adding a city needs only a TOML file as long
as it uses these names. Department EFs declare their own item names (any identifier, text values).
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class Encoding(StrEnum):
    TEXT = "text"  # text in the layout's (or the field's) declared charset
    ASCII = "ascii"  # printable ASCII
    NUMERIC = "numeric"  # decimal digits, packed BCD, right-justified with leading zero nibble (EMV 'n')
    DATE_BCD = "date-bcd"  # YYYYMMDD as 4 bytes BCD
    DATE_ASCII = "date-ascii"  # YYYYMMDD as 8 ASCII digits
    BYTES = "bytes"  # opaque octets
    JPEG = "jpeg"  # JPEG/JFIF octets (starts FFD8, ends FFD9)


class Kind(StrEnum):
    TEXT = "text"  # str of any characters
    CODE = "code"  # str of decimal digits with a fixed count
    ASCII = "ascii"  # str of printable ASCII
    DATE = "date"
    BYTES = "bytes"
    PHOTO = "photo"


ENCODINGS_BY_KIND: MappingProxyType[Kind, frozenset[Encoding]] = MappingProxyType({
    Kind.TEXT: frozenset({Encoding.TEXT}),
    Kind.CODE: frozenset({Encoding.NUMERIC, Encoding.ASCII}),
    Kind.ASCII: frozenset({Encoding.ASCII, Encoding.TEXT}),
    Kind.DATE: frozenset({Encoding.DATE_BCD, Encoding.DATE_ASCII}),
    Kind.BYTES: frozenset({Encoding.BYTES}),
    Kind.PHOTO: frozenset({Encoding.JPEG}),
})

# Permit fields (attribute paths of cardsvc.permit.model.Permit) → (kind, digits for codes, required).
# "layout.id"/"layout.version" are filled from the layout itself (EF.CARD).
PERMIT_FIELDS: MappingProxyType[str, tuple[Kind, int | None, bool]] = MappingProxyType({
    "name": (Kind.TEXT, None, True),
    "sex": (Kind.CODE, 1, True),
    "ethnicity": (Kind.CODE, 2, True),
    "birth_date": (Kind.DATE, None, True),
    "citizen_id": (Kind.ASCII, None, True),
    "photo": (Kind.PHOTO, None, True),
    "household_address": (Kind.TEXT, None, True),
    "residence_address": (Kind.TEXT, None, True),
    "permit_number": (Kind.ASCII, None, True),
    "authority.code": (Kind.CODE, 6, True),
    "authority.name": (Kind.TEXT, None, True),
    "issue_date": (Kind.DATE, None, True),
    "valid_until": (Kind.DATE, None, True),
    "card_number": (Kind.ASCII, None, True),
    "service_place": (Kind.TEXT, None, False),
    "marital_status": (Kind.CODE, 2, False),
    "residence_reason": (Kind.CODE, 2, False),
    "contact": (Kind.ASCII, None, False),
    # No guardian.*: the guardian or agent (SMX Art.10) is shown in the registry, never on the card (issue 12).
    "layout.id": (Kind.ASCII, None, False),
    "layout.version": (Kind.CODE, None, False),
})

# Fields of one endorsement record (EF.ENDORSE).
ENDORSEMENT_FIELDS: MappingProxyType[str, tuple[Kind, int | None, bool]] = MappingProxyType({
    "date": (Kind.DATE, None, True),
    "residence_address": (Kind.TEXT, None, True),
    "valid_until": (Kind.DATE, None, True),
    "authority.code": (Kind.CODE, 6, True),
    "authority.name": (Kind.TEXT, None, True),
    "signature": (Kind.BYTES, None, False),
})

# Fields of one change-registration record (ZZ Art.14 变更登记 of the service place): the day it was
# registered, the day of the change, the new value, the registering authority and its signature.
CHANGE_FIELDS: MappingProxyType[str, tuple[Kind, int | None, bool]] = MappingProxyType({
    "date": (Kind.DATE, None, True),
    "changed_on": (Kind.DATE, None, True),
    "service_place": (Kind.TEXT, None, True),
    "authority.code": (Kind.CODE, 6, True),
    "signature": (Kind.BYTES, None, False),
})

# Files the issuance pipeline and the counter rely on, by the names a card layout declares them with
# (design §4): the permit application and, in it, EF.CARD (card number, layout, authority), EF.CHIPKEY
# (chip public key) and EF.SOD (security object). A layout for encoding only may omit them; the
# personalization plan refuses an image without them, naming the file.
PERMIT_DF = "permit"
CARD_EF = "card"
CHIPKEY_EF = "chipkey"
SOD_EF = "sod"

# Department items are text-like values (str).
DEPARTMENT_ITEM_ENCODINGS = frozenset({Encoding.TEXT, Encoding.ASCII, Encoding.NUMERIC})

# A department-record EF is two equal slots (tear safety, cardsvc.departments.record); each slot spends
# 4 bytes sequence + 2 bytes length + 8 bytes MAC around the record's TLV.
DEPARTMENT_RECORD_SLOTS = 2
DEPARTMENT_RECORD_OVERHEAD = 14

FIXED_VALUE_LENGTH: MappingProxyType[Encoding, int] = MappingProxyType({
    Encoding.DATE_BCD: 4,
    Encoding.DATE_ASCII: 8,
})
