"""Bodies of the temporary-registration records (暂住登记, SMX Art.7-8, 17-18; ZZ Art.10-11) at the service's edge."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from cardsvc.rules.registration import CERTIFICATE_FORMAT, Declarer, EndReason

_COUNTY = r"^\d{6}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistrationIn(_Model):
    """A registration as the station records it; an application may carry one inline (then it is recorded
    first, with the same checks) or refer to a recorded one by `registration_id`."""

    county_code: str = Field(pattern=_COUNTY, description="GB/T 2260 county of the registering station, in the city")
    arrived_on: date
    registered_on: date
    intended_stay_days: int = Field(ge=1, le=36500)
    declared_by: Declarer = Field(default=Declarer.SELF, description="who reported it: ZZ Art.11 (1)-(4); SMX "
                                                                      "Art.7 the holder")
    certificate_number: str | None = Field(default=None, min_length=16, max_length=16,
                                           description=f"暂住登记凭证 number, {CERTIFICATE_FORMAT}; "
                                                       "omitted: the station issues one (SMX Art.7)")
    valid_until: date | None = Field(default=None, description="the certificate's last valid day, if it has one")


class NewRegistrationIn(RegistrationIn):
    """A registration of a newcomer, before any application (SMX Art.7-8: it comes first)."""

    layout_id: str = Field(min_length=1, max_length=16, description="the city of the registering station")
    citizen_id: str = Field(pattern=r"^\d{17}[\dXx]$", description="GB 11643")
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"layout_id": "zz", "citizen_id": "11010519491231002X", "county_code": "410105", "arrived_on": "2026-01-02",
         "registered_on": "2026-01-05", "intended_stay_days": 730, "declared_by": "landlord"}]})


class RegistrationLookupIn(_Model):
    """Whose registrations: the citizen ID goes in the body, never in a URL (ZZ Art.29)."""

    citizen_id: str = Field(pattern=r"^\d{17}[\dXx]$", description="GB 11643")


class RegistrationEndIn(_Model):
    ended_on: date = Field(description="the last day the registration held")
    reason: EndReason


class RegistrationOut(_Model):
    id: int
    county_code: str
    arrived_on: date
    registered_on: date
    intended_stay_days: int
    declared_by: str
    certificate_number: str | None
    valid_until: date | None
    ended_on: date | None
    end_reason: str | None
    in_force: bool = Field(description="in force today")
