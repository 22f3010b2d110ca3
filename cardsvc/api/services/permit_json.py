"""`cardsvc.permit.Permit` ⇄ the JSON kept in the registry's `permit.data` column.

Dates as ISO 8601, photo and signatures as base64; sex as its GB/T 2261.1 code. Decoding validates the
shape and names the field at fault.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

from cardsvc.api.errors import ApiError
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Authority, DepartmentData, Endorsement, Guardian, Permit


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def permit_to_json(permit: Permit) -> dict[str, Any]:
    return {
        "name": permit.name, "sex": int(permit.sex), "ethnicity": permit.ethnicity,
        "birth_date": permit.birth_date.isoformat(), "citizen_id": permit.citizen_id,
        "photo": _b64(permit.photo), "household_address": permit.household_address,
        "residence_address": permit.residence_address, "permit_number": permit.permit_number,
        "authority": {"code": permit.authority.code, "name": permit.authority.name},
        "issue_date": permit.issue_date.isoformat(), "valid_until": permit.valid_until.isoformat(),
        "card_number": permit.card_number, "service_place": permit.service_place,
        "marital_status": permit.marital_status, "residence_reason": permit.residence_reason,
        "contact": permit.contact,
        "guardian": None if permit.guardian is None else {"citizen_id": permit.guardian.citizen_id,
                                                         "name": permit.guardian.name},
        "endorsements": [{"date": e.date.isoformat(), "residence_address": e.residence_address,
                          "valid_until": e.valid_until.isoformat(),
                          "authority": {"code": e.authority.code, "name": e.authority.name},
                          "signature": _b64(e.signature)} for e in permit.endorsements],
        "applications": [{"department": a.department, "items": dict(a.items)} for a in permit.applications],
    }


class _Reader:
    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ApiError(422, "invalid-permit-data", f"{where}: must be an object", field=where)
        self.data, self.where = data, where

    def text(self, key: str, optional: bool = False) -> Any:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise ApiError(422, "invalid-permit-data", f"{self.where}.{key}: must be a string",
                           field=f"{self.where}.{key}")
        return value

    def day(self, key: str) -> date:
        try:
            return date.fromisoformat(self.text(key))
        except ValueError:
            raise ApiError(422, "invalid-permit-data", f"{self.where}.{key}: not an ISO date",
                           field=f"{self.where}.{key}") from None

    def blob(self, key: str) -> bytes:
        try:
            return base64.b64decode(self.text(key), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(422, "invalid-permit-data", f"{self.where}.{key}: not base64",
                           field=f"{self.where}.{key}") from None

    def sub(self, key: str) -> _Reader:
        return _Reader(self.data.get(key), f"{self.where}.{key}")

    def authority(self, key: str) -> Authority:
        sub = self.sub(key)
        return Authority(sub.text("code"), sub.text("name"))


def permit_from_json(data: Any, where: str = "permit") -> Permit:
    r = _Reader(data, where)
    sex = r.data.get("sex")
    if not isinstance(sex, int) or sex not in {int(s) for s in Sex}:
        raise ApiError(422, "invalid-permit-data", f"{where}.sex: must be a GB/T 2261.1 code", field=f"{where}.sex")
    guardian = None
    if r.data.get("guardian") is not None:
        g = r.sub("guardian")
        guardian = Guardian(g.text("citizen_id"), g.text("name"))
    endorsements = []
    for i, item in enumerate(r.data.get("endorsements") or []):
        e = _Reader(item, f"{where}.endorsements[{i}]")
        endorsements.append(Endorsement(e.day("date"), e.text("residence_address"), e.day("valid_until"),
                                        e.authority("authority"), e.blob("signature")))
    applications = []
    for i, item in enumerate(r.data.get("applications") or []):
        a = _Reader(item, f"{where}.applications[{i}]")
        items = a.data.get("items")
        if not isinstance(items, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in items.items()):
            raise ApiError(422, "invalid-permit-data", f"{a.where}.items: must map strings to strings",
                           field=f"{a.where}.items")
        applications.append(DepartmentData(a.text("department"), tuple(items.items())))
    try:
        return Permit(
            name=r.text("name"), sex=Sex(sex), ethnicity=r.text("ethnicity"), birth_date=r.day("birth_date"),
            citizen_id=r.text("citizen_id"), photo=r.blob("photo"), household_address=r.text("household_address"),
            residence_address=r.text("residence_address"), permit_number=r.text("permit_number"),
            authority=r.authority("authority"), issue_date=r.day("issue_date"), valid_until=r.day("valid_until"),
            card_number=r.text("card_number"), service_place=r.text("service_place", True),
            marital_status=r.text("marital_status", True), residence_reason=r.text("residence_reason", True),
            contact=r.text("contact", True), guardian=guardian, endorsements=tuple(endorsements),
            applications=tuple(applications),
        )
    except ValueError as exc:  # normalise_citizen_id and friends
        raise ApiError(422, "invalid-permit-data", f"{where}: {exc}", field=where) from None
