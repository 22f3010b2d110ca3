"""The temporary registration (暂住登记) as a record: SMX Art.7-8, 17-18; ZZ Art.10-11.

SMX Art.7 "公民离开常住户口所在地到其他城市居住的，应当主动向居住地公安派出所…申报暂住登记。登记站…免费为其制发暂住登记
凭证" — the holder reports, the station issues a certificate (凭证) with a number. ZZ Art.11 names who reports:
the employer that houses its workers (1), the individual employer that does (2), the landlord of a rented home
(3), everyone else themself (4). Each city lists the declarers its text allows in `[rules]
registration_declarers` of its layout.

A registration is in force from `registered_on` through `valid_until` (its certificate's validity, when it
has one) and through `ended_on` (the last day it held, once ended: a move, departure, ZZ Art.25 report).
Eligibility (SMX Art.8), late registration (ZZ Art.10), re-registration after more than half a year overdue
(SMX Art.18) and the cross-county move (SMX Art.17 ¶2) are computed from these records.

Certificate number (暂住登记凭证编号): the seeds set no format, so this registry uses the county-level GB/T 2260
code of the registering station, the registration year and a 6-digit serial (16 digits), e.g.
`4112022026000017`; the county and year parts must agree with the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cardsvc.rules.errors import RuleError

_CERTIFICATE = re.compile(r"^(\d{6})(\d{4})(\d{6})$")
CERTIFICATE_FORMAT = "16 digits: GB/T 2260 county code, registration year, 6-digit serial"


class Declarer(StrEnum):
    """Who reported the registration (ZZ Art.11; SMX Art.7: the holder)."""

    EMPLOYER = "employer"  # ZZ Art.11(1) 单位招用流动人员并提供住宿的，由用人单位申报
    INDIVIDUAL_EMPLOYER = "individual_employer"  # ZZ Art.11(2) 个体工商户…由雇主申报
    LANDLORD = "landlord"  # ZZ Art.11(3) 租赁房屋居住的…由房屋出租人办理
    SELF = "self"  # ZZ Art.11(4) 其他流动人员，由本人申报; SMX Art.7 应当主动…申报


class EndReason(StrEnum):
    """Why a registration stopped being in force."""

    MOVED = "moved"  # a move to another county or home (SMX Art.17 ¶2)
    LEFT_CITY = "left_city"  # SMX Art.7 registers elsewhere; ZZ Art.25 ¶3
    RESIDENCE_ENDED = "residence_ended"  # the landlord's or employer's report (ZZ Art.25 ¶1-2)
    EXPIRED = "expired"  # the intended stay is over (ZZ Art.10 ¶1 short stays)
    CORRECTED = "corrected"  # recorded in error


def check_certificate_number(number: str, county_code: str, registered_on: date) -> str:
    """The certificate number, checked against the record's county and year (RuleError names the field)."""
    m = _CERTIFICATE.match(number)
    if m is None:
        raise RuleError("certificate_number", f"must be {CERTIFICATE_FORMAT}, got {number!r}")
    county, year, serial = m.groups()
    if county != county_code:
        raise RuleError("certificate_number", f"county part {county} is not the registration's county {county_code}")
    if int(year) != registered_on.year:
        raise RuleError("certificate_number", f"year part {year} is not the registration year {registered_on.year}")
    if int(serial) == 0:
        raise RuleError("certificate_number", "serial part is 000000")
    return number


def make_certificate_number(county_code: str, year: int, serial: int) -> str:
    """A certificate number the registering station issues itself (SMX Art.7 制发暂住登记凭证)."""
    if not 1 <= serial <= 999_999:
        raise RuleError("certificate_number", f"serial {serial} is outside 1..999999")
    return f"{county_code}{year:04d}{serial:06d}"


@dataclass(frozen=True)
class Registration:
    """One temporary registration (暂住登记) as the registry holds it."""

    county_code: str
    registered_on: date
    arrived_on: date
    intended_stay_days: int
    declared_by: Declarer = Declarer.SELF
    certificate_number: str | None = None  # None: the station issues one when it records the registration
    valid_until: date | None = None  # the certificate's last valid day; None: open-ended
    ended_on: date | None = None  # the last day it held

    def __post_init__(self) -> None:
        if len(self.county_code) != 6 or not self.county_code.isdigit():
            raise RuleError("county_code", f"must be 6 GB/T 2260 digits, got {self.county_code!r}")
        if self.registered_on < self.arrived_on:
            raise RuleError("registered_on", "is before arrived_on")
        if self.intended_stay_days < 0:
            raise RuleError("intended_stay_days", f"must be >= 0, got {self.intended_stay_days}")
        if self.valid_until is not None and self.valid_until < self.registered_on:
            raise RuleError("valid_until", "is before registered_on")
        if self.ended_on is not None and self.ended_on < self.registered_on:
            raise RuleError("ended_on", "is before registered_on")
        if self.certificate_number is not None:
            check_certificate_number(self.certificate_number, self.county_code, self.registered_on)

    def last_day(self) -> date | None:
        """The last day in force (the earlier of its validity and its end), None while open-ended."""
        days = [d for d in (self.valid_until, self.ended_on) if d is not None]
        return min(days) if days else None

    def in_force(self, on: date) -> bool:
        last = self.last_day()
        return self.registered_on <= on and (last is None or on <= last)


def check_declarer(allowed: Iterable[Declarer], declared_by: Declarer, article: str) -> None:
    """The city's text allows this declarer (`allowed` from its `[rules] registration_declarers`)."""
    allowed = tuple(allowed)
    if declared_by not in allowed:
        raise RuleError("declared_by", f"{declared_by.value!r} does not report a temporary registration here "
                                       f"({article}: {', '.join(d.value for d in allowed)})")


def registered_since(registrations: Iterable[Registration], since: date, on: date,
                     county_code: str | None = None) -> Registration | None:
    """The earliest registration made on or after `since` (in `county_code` when given) that is in force on
    `on`: what SMX Art.17 ¶2 (after a move) and Art.18 (after more than half a year overdue) ask for."""
    found = [r for r in registrations if r.registered_on >= since and r.in_force(on)
             and (county_code is None or r.county_code == county_code)]
    return min(found, key=lambda r: r.registered_on) if found else None
