"""The residence-permit record (居住证): every field of SMX Art.14, ZZ Art.8 and ZZ Art.33.

Which fields are visible (printed and in EF.VISIBLE) or machine-readable is decided by the city's
layout (layouts/<city>.toml), not here: the same permit is encoded by either layout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from cardsvc.permit.citizen_id import normalise_citizen_id
from cardsvc.permit.gb import Sex


@dataclass(frozen=True, slots=True)
class Authority:
    """Issuing or endorsing public security organ: GB/T 2260 county code + name (SMX Art.14)."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Guardian:
    """Guardian or close relative applying for a minor under 16 (SMX Art.10, ZZ Art.10)."""

    citizen_id: str
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "citizen_id", normalise_citizen_id(self.citizen_id))

    def __repr__(self) -> str:
        return "Guardian(<personal data hidden>)"  # design §7: no personal data in logs


@dataclass(frozen=True, slots=True)
class Endorsement:
    """Yearly endorsement or address change (SMX Art.16-17, ZZ Art.13-14): one record of EF.ENDORSE.

    `signature` is the endorsing authority's signature over the record without it (cardsvc.security).
    """

    date: dt.date
    residence_address: str
    valid_until: dt.date
    authority: Authority
    signature: bytes = b""

    def __repr__(self) -> str:
        return f"Endorsement(date={self.date.isoformat()}, authority={self.authority.code})"


@dataclass(frozen=True, slots=True)
class Change:
    """A change registration written to the card (ZZ Art.14 变更登记: the service place, 服务处所): one record
    of the layout's changes EF, signed by the registering authority like an endorsement. `date` is the day it
    was registered, `changed_on` the day of the change (the 7-day deadline runs from it)."""

    date: dt.date
    changed_on: dt.date
    service_place: str
    authority_code: str
    signature: bytes = b""

    def __repr__(self) -> str:
        return f"Change(date={self.date}, changed_on={self.changed_on}, authority={self.authority_code}, <value>)"


@dataclass(frozen=True, slots=True)
class DepartmentData:
    """One department's application data (ZZ Art.6/9/24 "一证通"), items as declared by the layout."""

    department: str
    items: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(sorted(self.items)))

    def get(self, item: str) -> str | None:
        return dict(self.items).get(item)

    def __repr__(self) -> str:
        return f"DepartmentData({self.department!r}, items={[k for k, _ in self.items]})"


@dataclass(frozen=True, slots=True)
class Permit:
    # SMX Art.14 / ZZ Art.8 visible data.
    name: str
    sex: Sex
    ethnicity: str  # GB/T 3304 two-digit code
    birth_date: dt.date
    citizen_id: str  # GB 11643, normalised (x -> X)
    photo: bytes  # JPEG
    household_address: str  # 常住户口所在地住址
    residence_address: str  # 居住地住址
    # Issue data (SMX Art.14, ZZ Art.8).
    permit_number: str
    authority: Authority
    issue_date: dt.date
    valid_until: dt.date
    card_number: str  # the physical card of this generation (EF.CARD)
    # ZZ Art.8 machine-readable and Art.33 basic information; optional per city.
    service_place: str | None = None  # 服务处所 (employer, school)
    marital_status: str | None = None  # GB/T 2261.2
    residence_reason: str | None = None  # gb.RESIDENCE_REASONS
    contact: str | None = None  # telephone number
    guardian: Guardian | None = None  # SMX Art.10
    endorsements: tuple[Endorsement, ...] = ()
    applications: tuple[DepartmentData, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "citizen_id", normalise_citizen_id(self.citizen_id))
        object.__setattr__(self, "sex", Sex(self.sex))
        # Canonical order so equal permits compare equal whatever order the caller gave.
        object.__setattr__(self, "applications", tuple(sorted(self.applications, key=lambda a: a.department)))

    def application(self, department: str) -> DepartmentData | None:
        return next((a for a in self.applications if a.department == department), None)

    def with_endorsement(self, endorsement: Endorsement) -> Permit:
        return replace(self, endorsements=(*self.endorsements, endorsement))

    def __repr__(self) -> str:
        # Never print personal data (design §7): logs and tracebacks show only the permit number.
        return f"Permit(permit_number={self.permit_number!r}, card_number={self.card_number!r})"
