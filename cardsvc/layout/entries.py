"""The entries of a layout: keys, DFs, EFs, fields, card number format, authorities (pydantic models).

`cardsvc.layout.schema.Layout` assembles them; the per-entry checks run in each model's validator, the
cross-entry ones in `cardsvc.layout.checks` (which reads these types, so it needs no import of `Layout`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from cardsvc.iso7816.tlv import encode_length, encode_tag
from cardsvc.layout.vocabulary import (
    CHANGE_FIELDS,
    DEPARTMENT_ITEM_ENCODINGS,
    DEPARTMENT_RECORD_OVERHEAD,
    DEPARTMENT_RECORD_SLOTS,
    ENCODINGS_BY_KIND,
    ENDORSEMENT_FIELDS,
    FIXED_VALUE_LENGTH,
    PERMIT_FIELDS,
    Encoding,
    Kind,
)

_HEX_RE = re.compile(r"^[0-9A-Fa-f\s]*$")
_NAME_RE = r"^[a-z][a-z0-9_]*$"


def _hex_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str) or not _HEX_RE.match(value):
        raise ValueError(f"expected a hex string, got {value!r}")
    text = "".join(value.split())
    if len(text) % 2:
        raise ValueError(f"hex string {value!r} has an odd number of digits")
    return bytes.fromhex(text)


def _hex_int(width: int) -> Any:
    def parse(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raw = _hex_bytes(value)
        if not 1 <= len(raw) <= width:
            raise ValueError(f"expected 1..{width} hex bytes, got {value!r}")
        return int.from_bytes(raw, "big")

    return parse


HexBytes = Annotated[bytes, BeforeValidator(_hex_bytes), PlainSerializer(lambda b: b.hex().upper(), return_type=str),
                     Field(json_schema_extra={"type": "string", "pattern": "^[0-9A-Fa-f ]*$"})]
Fid = Annotated[int, BeforeValidator(_hex_int(2)), Field(ge=0, le=0xFFFF),
                PlainSerializer(lambda v: f"{v:04X}", return_type=str)]
Tag = Annotated[int, BeforeValidator(_hex_int(3)), Field(gt=0),
                PlainSerializer(lambda v: f"{v:02X}", return_type=str)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Structure(StrEnum):
    TRANSPARENT = "transparent"
    LINEAR_FIXED = "linear-fixed"
    LINEAR_VARIABLE = "linear-variable"
    CYCLIC = "cyclic"

    @property
    def is_record(self) -> bool:
        return self is not Structure.TRANSPARENT


class Content(StrEnum):
    PERMIT = "permit"  # BER-TLV of permit fields, in declared order
    ENDORSEMENTS = "endorsements"  # one endorsement per record, BER-TLV fields
    # One change registration per record (ZZ Art.14: a changed service place), BER-TLV fields, signed by the
    # endorsing authority like an endorsement and appended by the same writer (cardsvc.issuance.endorse).
    CHANGES = "changes"
    DEPARTMENT = "department"  # BER-TLV of the department's items
    # A department's own record, written by the department after issuance (issue 16): two MAC'd slots,
    # cardsvc.departments.record; personalization leaves it blank.
    DEPARTMENT_RECORD = "department-record"
    DIR = "dir"  # EF.DIR: one application template '61' per record (ISO 7816-4 §8.2.1.1)
    STATIC = "static"  # fixed bytes given in the layout (e.g. EF.ATR)
    EMPTY = "empty"  # written later by another component (chip key, security object)


class KeyDecl(_Strict):
    """A key known by name; `ref` is the key reference (SE number 1-14) in the compact SC byte."""

    ref: int = Field(ge=1, le=14)
    retries: int = Field(ge=1, le=15)
    role: str = Field(pattern=r"^(issuer|endorsement|counter|department:[a-z][a-z0-9_]*)$")


class FieldDecl(_Strict):
    field: str
    tag: Tag
    encoding: Encoding
    max_length: int | None = Field(default=None, ge=1, le=65535)  # bytes of the value
    digits: int | None = Field(default=None, ge=1, le=32)  # numeric encoding only
    charset: str | None = None  # text encoding only; default: the layout's charset
    max_width: int | None = Field(default=None, ge=1)  # jpeg only, pixels
    max_height: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _shape(self) -> FieldDecl:
        enc = self.encoding
        try:
            encode_tag(self.tag)
        except ValueError as exc:
            raise ValueError(f"field {self.field}: {exc}") from None
        if enc is Encoding.NUMERIC:
            if self.digits is None:
                raise ValueError(f"field {self.field}: numeric encoding needs digits")
            if self.max_length is not None:
                raise ValueError(f"field {self.field}: numeric length comes from digits, drop max_length")
        elif self.digits is not None:
            raise ValueError(f"field {self.field}: digits applies to numeric encoding only")
        if enc in FIXED_VALUE_LENGTH and self.max_length is not None:
            raise ValueError(f"field {self.field}: {enc.value} has a fixed length, drop max_length")
        if enc in (Encoding.TEXT, Encoding.ASCII, Encoding.BYTES, Encoding.JPEG) and self.max_length is None:
            raise ValueError(f"field {self.field}: {enc.value} encoding needs max_length")
        if self.charset is not None and enc is not Encoding.TEXT:
            raise ValueError(f"field {self.field}: charset applies to text encoding only")
        if (self.max_width or self.max_height) and enc is not Encoding.JPEG:
            raise ValueError(f"field {self.field}: max_width/max_height apply to jpeg only")
        return self

    @property
    def value_max(self) -> int:
        if self.encoding is Encoding.NUMERIC:
            assert self.digits is not None
            return (self.digits + 1) // 2
        fixed = FIXED_VALUE_LENGTH.get(self.encoding)
        if fixed is not None:
            return fixed
        assert self.max_length is not None
        return self.max_length

    @property
    def tlv_max(self) -> int:
        """Largest encoded data object of this field: tag + length + value."""
        return len(encode_tag(self.tag)) + len(encode_length(self.value_max)) + self.value_max


class Example(_Strict):
    """An example vector next to its EF: the content bytes and the value they carry."""

    hex: HexBytes
    value: dict[str, Any]


class DfDecl(_Strict):
    name: str = Field(pattern=_NAME_RE)
    fid: Fid
    aid: HexBytes
    label: str
    department: str | None = Field(default=None, pattern=_NAME_RE)
    access: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aid(self) -> DfDecl:
        # ISO 7816-5: AID of 5..16 bytes; 'D' + country code 156 is China's national RID (D156…).
        if not 5 <= len(self.aid) <= 16:
            raise ValueError(f"DF {self.name}: AID must be 5..16 bytes, got {len(self.aid)}")
        return self


class ReservedApplication(_Strict):
    """An application listed in EF.DIR that this system never selects (e.g. the bank's, ZZ Art.7/19)."""

    aid: HexBytes
    label: str


class EfDecl(_Strict):
    name: str = Field(pattern=_NAME_RE)
    parent: str = Field(pattern=_NAME_RE)  # "mf" or the name of a DF
    fid: Fid
    sfi: int = Field(ge=1, le=30)  # ISO 7816-4 §7.2.2: SFI 1..30; every EF has one (design §4)
    structure: Structure
    content: Content
    size: int | None = Field(default=None, ge=1, le=0xFFFF)
    record_length: int | None = Field(default=None, ge=1, le=0xFFFF)
    records: int | None = Field(default=None, ge=1, le=254)
    visible: bool = False  # printed on the card face and readable without authentication
    access: dict[str, str] = Field(default_factory=dict)
    fields: list[FieldDecl] = Field(default_factory=list)
    data: HexBytes | None = None  # static content
    serves: str | None = Field(default=None, max_length=80)  # department-record: the article it serves
    examples: list[Example] = Field(default_factory=list)

    @property
    def capacity(self) -> int:
        if self.structure.is_record:
            assert self.record_length is not None and self.records is not None
            return self.size if self.size is not None else self.record_length * self.records
        assert self.size is not None
        return self.size

    @model_validator(mode="after")
    def _shape(self) -> EfDecl:
        where = f"EF {self.name}"
        if self.structure.is_record:
            if self.record_length is None or self.records is None:
                raise ValueError(f"{where}: a record EF needs record_length and records")
            if self.size is not None and self.record_length > self.size:
                raise ValueError(f"{where}: record_length {self.record_length} is longer than the file "
                                 f"size {self.size}")
            if self.size is not None and self.record_length * self.records > self.size:
                raise ValueError(f"{where}: {self.records} records of {self.record_length} bytes do not fit "
                                 f"the file size {self.size}")
        else:
            if self.size is None:
                raise ValueError(f"{where}: a transparent EF needs size")
            if self.record_length is not None or self.records is not None:
                raise ValueError(f"{where}: record_length/records apply to record EFs only")
        record_contents = (Content.ENDORSEMENTS, Content.CHANGES, Content.DIR)
        if (self.content in record_contents) != self.structure.is_record:
            raise ValueError(f"{where}: content {self.content.value} does not go with structure "
                             f"{self.structure.value}")
        if (self.content is Content.STATIC) != (self.data is not None):
            raise ValueError(f"{where}: data is required for static content and only for it")
        if self.data is not None and len(self.data) > self.capacity:
            raise ValueError(f"{where}: static data of {len(self.data)} bytes does not fit the file size "
                             f"{self.capacity}")
        if (self.content is Content.DEPARTMENT_RECORD) != (self.serves is not None):
            raise ValueError(f"{where}: serves (the article a record serves) is required for department-record "
                             "content and only for it")
        has_fields = self.content in (Content.PERMIT, Content.ENDORSEMENTS, Content.CHANGES, Content.DEPARTMENT,
                                      Content.DEPARTMENT_RECORD)
        if has_fields != bool(self.fields):
            raise ValueError(f"{where}: fields are required for {self.content.value} content"
                             if has_fields else f"{where}: {self.content.value} content takes no fields")
        self._check_fields(where)
        return self

    def _check_fields(self, where: str) -> None:
        names = [f.field for f in self.fields]
        tags = [f.tag for f in self.fields]
        dup_names = sorted({n for n in names if names.count(n) > 1})
        if dup_names:
            raise ValueError(f"{where}: duplicate field {', '.join(dup_names)}")
        dup_tags = sorted({t for t in tags if tags.count(t) > 1})
        if dup_tags:
            raise ValueError(f"{where}: duplicate tag {', '.join(f'{t:02X}' for t in dup_tags)}")
        for f in self.fields:
            if self.content in (Content.DEPARTMENT, Content.DEPARTMENT_RECORD):
                if f.encoding not in DEPARTMENT_ITEM_ENCODINGS or not re.match(_NAME_RE, f.field):
                    raise ValueError(f"{where}: department item {f.field} must be an identifier with "
                                     f"text, ascii or numeric encoding")
                continue
            vocab = {Content.PERMIT: PERMIT_FIELDS, Content.CHANGES: CHANGE_FIELDS}.get(self.content,
                                                                                    ENDORSEMENT_FIELDS)
            if f.field not in vocab:
                raise ValueError(f"{where}: unknown field {f.field!r} (known: {', '.join(vocab)})")
            kind, digits, _ = vocab[f.field]
            if f.encoding not in ENCODINGS_BY_KIND[kind]:
                allowed = ", ".join(sorted(e.value for e in ENCODINGS_BY_KIND[kind]))
                raise ValueError(f"{where}: field {f.field} cannot use {f.encoding.value} (allowed: {allowed})")
            if digits is not None and kind is Kind.CODE:
                declared = f.digits if f.encoding is Encoding.NUMERIC else f.max_length
                if declared != digits:
                    raise ValueError(f"{where}: field {f.field} is a {digits}-digit code, declared {declared}")
        need = sum(f.tlv_max for f in self.fields)
        room = self.record_length if self.structure.is_record else self.size
        assert room is not None
        if self.content is Content.DEPARTMENT_RECORD:  # one slot holds the record with its header and MAC
            room = room // DEPARTMENT_RECORD_SLOTS - DEPARTMENT_RECORD_OVERHEAD
        if need > room:
            raise ValueError(f"{where}: fields need up to {need} bytes but the "
                             f"{'record' if self.structure.is_record else 'file'} holds {room}")


class CardNumberFormat(_Strict):
    """Card number: prefix digits + serial + ISO 7064 MOD 11-2 check (cardsvc.permit.permit_number)."""

    prefix: str = Field(pattern=r"^[0-9]{1,8}$")
    serial_digits: int = Field(ge=4, le=12)


class AuthorityDecl(_Strict):
    code: str = Field(pattern=r"^[0-9]{6}$")  # GB/T 2260 county-level code
    name: str


class LayoutInfo(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: int = Field(ge=1, le=9999)
    city: str
    city_code: str = Field(pattern=r"^[0-9]{4}00$")  # GB/T 2260 prefecture-level code
    charset: str
    description: str = ""
    # The printed face's layout, relative to the layouts/ directory (cardsvc.face reads it).
    face: str | None = Field(default=None, pattern=r"^faces/[a-z0-9_-]+\.toml$")
    # Crypto suite (cardsvc/security/suite.py): "gm" = SM2/SM3/SM4 (GB/T 32918/32905/32907, ZZ Art.5's
    # national standards), "intl" = ECDSA P-256/SHA-256/AES. Chip key, role-key cipher, secure messaging.
    suite: Literal["gm", "intl"] = "gm"
    # The SM2 signer's distinguishing ID (GB/T 32918.2 §5.5 ID_A, hashed into Z before every message) for
    # every SM2 signature of this layout's PKI, records, QR, status list and chip key; absent: GB/T 35276
    # §5.4's 1234567812345678. Printable ASCII, so characters are bytes: 1..1023 bytes (1..8191 bits; ENTL
    # itself, two bytes, would allow 65535 bits).
    sm2_distid: str | None = Field(default=None, min_length=1, max_length=1023, pattern=r"^[ -~]+$",
                                   description="SM2 signer distinguishing ID (suite gm only); "
                                               "default 1234567812345678")

    @model_validator(mode="after")
    def _distid_is_gm(self) -> LayoutInfo:
        if self.sm2_distid is not None and self.suite != "gm":
            raise ValueError(f'sm2_distid: an SM2 signer ID needs suite = "gm", this layout\'s suite is '
                             f'"{self.suite}"')
        return self
