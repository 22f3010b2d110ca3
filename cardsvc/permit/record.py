"""The permit record: one versioned JSON form of a `Permit`, the registry's `Permit.data` column.

Every surface (API, CLI, issuance, batch, samples, verification) writes and reads a permit's stored
data through `dump_permit` / `load_permit`; nothing else knows the JSON. Format "cardsvc.permit/2":
dates ISO 8601, photo and endorsement signatures base64, sex its GB/T 2261.1 code, unknown keys refused.

Rows written before this format load too (tolerant reader, tested with both shapes):
- "cardsvc.permit/1" (the station's former format): no endorsement signatures, absent optional keys;
- no `format` key (the service's former format): the same fields as version 2.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError

from cardsvc.permit.errors import FieldError
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Authority, DepartmentData, Endorsement, Guardian, Permit

FORMAT: Final = "cardsvc.permit/2"
LEGACY_FORMATS = ("cardsvc.permit/1", None)  # read, never written


class PermitRecordError(FieldError):
    """Stored permit data cannot be read back; `field` is its path in the record ("endorsements.0.date")."""


def _b64decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


Base64 = Annotated[bytes, BeforeValidator(_b64decode),
                   PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class AuthorityRecord(_Record):
    code: str
    name: str


class GuardianRecord(_Record):
    citizen_id: str
    name: str


class EndorsementRecord(_Record):
    date: dt.date
    residence_address: str
    valid_until: dt.date
    authority: AuthorityRecord
    signature: Base64 = b""  # the endorsing authority's signature (cardsvc.security.endorsement)


class DepartmentRecord(_Record):
    department: str
    items: dict[str, str]


class PermitRecord(_Record):
    """Applicant, addresses, service place, ZZ Art.33 basic information, guardian, endorsements and
    department data of one permit, and the card number of the generation in use."""

    format: Literal["cardsvc.permit/2"] = "cardsvc.permit/2"
    # SMX Art.14 / ZZ Art.8 applicant and visible data
    name: str
    sex: Sex
    ethnicity: str
    birth_date: dt.date
    citizen_id: str
    photo: Base64
    household_address: str
    residence_address: str
    # issue data
    permit_number: str
    authority: AuthorityRecord
    issue_date: dt.date
    valid_until: dt.date
    card_number: str
    # ZZ Art.8 service place and ZZ Art.33 basic information
    service_place: str | None = None
    marital_status: str | None = None
    residence_reason: str | None = None
    contact: str | None = None
    guardian: GuardianRecord | None = None  # SMX Art.10
    endorsements: list[EndorsementRecord] = Field(default_factory=list)  # SMX Art.16-17, ZZ Art.13-14
    applications: list[DepartmentRecord] = Field(default_factory=list)  # ZZ Art.6/9/24


def _authority(a: Authority) -> AuthorityRecord:
    return AuthorityRecord(code=a.code, name=a.name)


def dump_permit(permit: Permit) -> dict[str, Any]:
    """The permit as its stored JSON (format "cardsvc.permit/2")."""
    record = PermitRecord(
        name=permit.name, sex=permit.sex, ethnicity=permit.ethnicity, birth_date=permit.birth_date,
        citizen_id=permit.citizen_id, photo=permit.photo, household_address=permit.household_address,
        residence_address=permit.residence_address, permit_number=permit.permit_number,
        authority=_authority(permit.authority), issue_date=permit.issue_date, valid_until=permit.valid_until,
        card_number=permit.card_number, service_place=permit.service_place,
        marital_status=permit.marital_status, residence_reason=permit.residence_reason, contact=permit.contact,
        guardian=None if permit.guardian is None else GuardianRecord(citizen_id=permit.guardian.citizen_id,
                                                                     name=permit.guardian.name),
        endorsements=[EndorsementRecord(date=e.date, residence_address=e.residence_address,
                                        valid_until=e.valid_until, authority=_authority(e.authority),
                                        signature=e.signature) for e in permit.endorsements],
        applications=[DepartmentRecord(department=a.department, items=dict(a.items)) for a in permit.applications],
    )
    return record.model_dump(mode="json")


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "permit"


def load_permit(data: Any) -> Permit:
    """A stored record (any format this module has written) as a `Permit`; errors name the field."""
    if not isinstance(data, Mapping):
        raise PermitRecordError("permit", f"must be an object, got {type(data).__name__}")
    fmt = data.get("format")
    if fmt != FORMAT and fmt not in LEGACY_FORMATS:
        raise PermitRecordError("format", f"unknown permit record format {fmt!r}; expected {FORMAT!r}")
    try:
        record = PermitRecord.model_validate({**data, "format": FORMAT})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PermitRecordError(_field(first["loc"]), first["msg"].removeprefix("Value error, ")) from None
    return Permit(
        name=record.name, sex=record.sex, ethnicity=record.ethnicity, birth_date=record.birth_date,
        citizen_id=record.citizen_id, photo=record.photo, household_address=record.household_address,
        residence_address=record.residence_address, permit_number=record.permit_number,
        authority=Authority(record.authority.code, record.authority.name), issue_date=record.issue_date,
        valid_until=record.valid_until, card_number=record.card_number, service_place=record.service_place,
        marital_status=record.marital_status, residence_reason=record.residence_reason,
        contact=record.contact,
        guardian=None if record.guardian is None else Guardian(record.guardian.citizen_id, record.guardian.name),
        endorsements=tuple(Endorsement(e.date, e.residence_address, e.valid_until,
                                       Authority(e.authority.code, e.authority.name), e.signature)
                           for e in record.endorsements),
        applications=tuple(DepartmentData(a.department, tuple(a.items.items())) for a in record.applications),
    )


# ZZ Art.33 "本办法所称基础信息是指流动人口的姓名、性别、民族、出生日期、公民身份证号码、常住户口所在地住址、婚姻状况、
# 服务处所、居住事由、联系方式等" (plus the current residence address of ZZ Art.8).
BASIC_INFORMATION = ("name", "sex", "ethnicity", "birth_date", "citizen_id", "household_address",
                     "residence_address", "marital_status", "service_place", "residence_reason", "contact")


def basic_information(permit: Permit) -> dict[str, Any]:
    """The ZZ Art.33 basic information of a permit, as stored-record JSON values (None: not recorded)."""
    data = dump_permit(permit)
    return {name: data.get(name) for name in BASIC_INFORMATION}
