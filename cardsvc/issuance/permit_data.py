"""The permit as JSON-able data (registry `Permit.data`), and back, so a station can issue a card for a
permit number the registry holds. Dates ISO 8601, the photo base64; unknown keys are refused."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from typing import Any

from cardsvc.permit.errors import PermitError
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Authority, DepartmentData, Endorsement, Guardian, Permit

FORMAT = "cardsvc.permit/1"
_OPTIONAL = ("service_place", "marital_status", "residence_reason", "contact")


class PermitDataError(PermitError):
    """Stored permit data cannot be turned back into a permit (names the field)."""


def permit_to_data(permit: Permit) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": permit.name, "sex": int(permit.sex), "ethnicity": permit.ethnicity,
        "birth_date": permit.birth_date.isoformat(), "citizen_id": permit.citizen_id,
        "photo": base64.b64encode(permit.photo).decode("ascii"),
        "household_address": permit.household_address, "residence_address": permit.residence_address,
        "permit_number": permit.permit_number,
        "authority": {"code": permit.authority.code, "name": permit.authority.name},
        "issue_date": permit.issue_date.isoformat(), "valid_until": permit.valid_until.isoformat(),
        "card_number": permit.card_number,
        **{k: getattr(permit, k) for k in _OPTIONAL if getattr(permit, k) is not None},
        "guardian": None if permit.guardian is None else {"citizen_id": permit.guardian.citizen_id,
                                                          "name": permit.guardian.name},
        "endorsements": [{"date": e.date.isoformat(), "residence_address": e.residence_address,
                          "valid_until": e.valid_until.isoformat(),
                          "authority": {"code": e.authority.code, "name": e.authority.name}}
                         for e in permit.endorsements],
        "applications": [{"department": a.department, "items": dict(a.items)} for a in permit.applications],
    }


def _get(data: Mapping[str, Any], key: str, kind: type, where: str = "") -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise PermitDataError(f"{where}{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _date(data: Mapping[str, Any], key: str, where: str = "") -> dt.date:
    try:
        return dt.date.fromisoformat(_get(data, key, str, where))
    except ValueError:
        raise PermitDataError(f"{where}{key}: not an ISO date") from None


def _authority(data: Mapping[str, Any], where: str) -> Authority:
    a = _get(data, "authority", dict, where)
    return Authority(_get(a, "code", str, f"{where}authority."), _get(a, "name", str, f"{where}authority."))


def permit_from_data(data: Mapping[str, Any]) -> Permit:
    if data.get("format") != FORMAT:
        raise PermitDataError(f"format: expected {FORMAT!r}, got {data.get('format')!r}")
    try:
        photo = base64.b64decode(_get(data, "photo", str), validate=True)
    except (binascii.Error, ValueError):
        raise PermitDataError("photo: not base64") from None
    guardian_data = data.get("guardian")
    guardian = None
    if guardian_data is not None:
        g = _get(data, "guardian", dict)
        guardian = Guardian(_get(g, "citizen_id", str, "guardian."), _get(g, "name", str, "guardian."))
    endorsements = tuple(
        Endorsement(_date(e, "date", f"endorsements.{i}."), _get(e, "residence_address", str, f"endorsements.{i}."),
                    _date(e, "valid_until", f"endorsements.{i}."), _authority(e, f"endorsements.{i}."))
        for i, e in enumerate(_get(data, "endorsements", list)))
    applications = tuple(
        DepartmentData(_get(a, "department", str, f"applications.{i}."),
                       tuple((str(k), str(v)) for k, v in _get(a, "items", dict, f"applications.{i}.").items()))
        for i, a in enumerate(_get(data, "applications", list)))
    try:
        sex = Sex(_get(data, "sex", int))
    except ValueError:
        raise PermitDataError("sex: not a GB/T 2261.1 code") from None
    optional = {k: _get(data, k, str) for k in _OPTIONAL if data.get(k) is not None}
    return Permit(
        name=_get(data, "name", str), sex=sex, ethnicity=_get(data, "ethnicity", str),
        birth_date=_date(data, "birth_date"), citizen_id=_get(data, "citizen_id", str), photo=photo,
        household_address=_get(data, "household_address", str),
        residence_address=_get(data, "residence_address", str), permit_number=_get(data, "permit_number", str),
        authority=_authority(data, ""), issue_date=_date(data, "issue_date"),
        valid_until=_date(data, "valid_until"), card_number=_get(data, "card_number", str),
        guardian=guardian, endorsements=endorsements, applications=applications, **optional,
    )
