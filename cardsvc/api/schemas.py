"""Request and response bodies (pydantic, the service's edge). Examples feed the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cardsvc.api.auth import Role
from cardsvc.api.registration_schemas import RegistrationIn, RegistrationOut
from cardsvc.rules.fees import CardEvent
from cardsvc.rules.materials import Ground, Material
from cardsvc.rules.status import SuspensionReason

_COUNTY = r"^\d{6}$"
_PERMIT_NUMBER = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z-]+$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Problem(BaseModel):
    """RFC 9457 problem details; `field` names the request field at fault, `sw` the card's status word."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    field: str | None = None
    sw: str | None = None
    sw_name: str | None = None
    errors: list[dict[str, Any]] | None = None


# --- tokens ------------------------------------------------------------------------------------------
class TokenIn(Model):
    role: Role
    station_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    label: str = Field(min_length=1, max_length=64)
    department: str | None = Field(default=None, max_length=32)
    expires_in_hours: int | None = Field(default=None, ge=1, le=730 * 24,
                                         description="lifetime; default per role (a year for stations, a week for "
                                                     "admins)")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"role": "counter", "station_id": "zz-jinshui-01", "label": "窗口1 王敏", "expires_in_hours": 720},
        {"role": "department", "station_id": "zz-edu", "label": "教育局", "department": "education"}]})


class TokenOut(Model):
    id: int
    role: Role
    station_id: str
    label: str
    department: str | None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked: bool = False


class IssuedTokenOut(TokenOut):
    token: str = Field(description="shown once; only its SHA-256 is stored")


class MeOut(Model):
    role: Role
    station_id: str
    label: str
    department: str | None
    scopes: list[str]


# --- readers -----------------------------------------------------------------------------------------
class ReaderOut(Model):
    name: str
    present: bool
    atr: str = Field(description="hex")
    busy: bool


class ReaderEventOut(Model):
    seq: int
    kind: str
    reader: str
    at: datetime


class EventsOut(Model):
    last_seq: int
    events: list[ReaderEventOut]


class DeskCardOut(Model):
    card_id: str
    reader: str | None
    label: str


class InsertIn(Model):
    reader: str = Field(min_length=1, max_length=128)
    card_id: str | None = Field(default=None, max_length=64, description="omit for a new blank card")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reader": "Virtual Reader 0"}]})


class RemoveIn(Model):
    reader: str = Field(min_length=1, max_length=128)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reader": "Virtual Reader 0"}]})


class ReaderIn(Model):
    reader: str = Field(min_length=1, max_length=128)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reader": "Virtual Reader 0"}]})


# --- layouts -----------------------------------------------------------------------------------------
class AuthorityOut(Model):
    code: str
    name: str


class LayoutOut(Model):
    id: str
    city: str
    version: str
    authorities: list[AuthorityOut]
    departments: list[str]


# --- applications and permits -------------------------------------------------------------------------
class GuardianIn(Model):
    """SMX Art.10: a guardian (under 16) or agent (elderly, disabled) applying for the holder; optional."""

    citizen_id: str = Field(pattern=r"^\d{17}[\dXx]$", description="GB 11643, the guardian's or agent's own")
    name: str = Field(min_length=1, max_length=64)


class ApplicantIn(Model):
    name: str = Field(min_length=1, max_length=64)
    sex: Literal[1, 2] = Field(description="GB/T 2261.1")
    ethnicity: str = Field(pattern=r"^\d{2}$", description="GB/T 3304")
    birth_date: date
    citizen_id: str = Field(pattern=r"^\d{17}[\dXx]$", description="GB 11643")
    photo: str = Field(max_length=200_000, description="JPEG, base64")
    household_address: str = Field(min_length=1, max_length=128)
    residence_address: str = Field(min_length=1, max_length=128)
    service_place: str | None = Field(default=None, max_length=128)
    contact: str | None = Field(default=None, max_length=32)
    # ZZ Art.33 basic information (婚姻状况, 居住事由); contact above (联系方式)
    marital_status: str | None = Field(default=None, pattern=r"^\d{2}$", description="GB/T 2261.2")
    residence_reason: str | None = Field(default=None, pattern=r"^\d{2}$")
    guardian: GuardianIn | None = Field(default=None, description="SMX Art.10 guardian or agent (optional)")


class ApplicationIn(Model):
    layout_id: str = Field(min_length=1, max_length=16)
    applicant: ApplicantIn
    registration: RegistrationIn | None = Field(default=None, description="recorded first; or registration_id")
    registration_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                        description="the applicant's recorded registration (POST /api/registrations)")
    grounds: list[Ground] = Field(max_length=3)
    materials: list[Material] = Field(max_length=10)
    via_agent: bool = False
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "layout_id": "zz",
        "applicant": {"name": "买买提·艾力", "sex": 1, "ethnicity": "05", "birth_date": "1990-03-07",
                      "citizen_id": "650102199003070013", "photo": "/9j/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U",
                      "household_address": "新疆乌鲁木齐市天山区人民路1号",
                      "residence_address": "郑州市金水区文化路80号",
                      "service_place": "郑州某科技股份有限公司", "contact": "13800000000"},
        "registration": {"county_code": "410105", "arrived_on": "2025-01-02", "registered_on": "2025-01-05",
                         "intended_stay_days": 730},
        "grounds": ["employment"], "materials": ["id_card", "photos", "residence_proof", "employment_proof"]}]})


class SampleIn(Model):
    layout_id: str = Field(min_length=1, max_length=16)
    seed: int = Field(ge=0, le=2**31)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"layout_id": "zz", "seed": 7}]})


class ApplicationOut(Model):
    id: int
    city: str
    applied_on: date
    accepted: bool
    issue_deadline: date | None
    decision: dict[str, Any]
    permit_number: str | None


class PermitSummary(Model):
    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [
        {"permit_number": "41010520260000016", "city": "zz", "layout_id": "zz", "status": "active",
         "card_number": "410128349740245", "card_status": "active"}]})
    permit_number: str
    city: str
    layout_id: str
    status: str
    card_number: str | None
    card_status: str | None


class PermitOut(PermitSummary):
    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [
        {"permit_number": "41010520260000016", "city": "zz", "layout_id": "zz", "status": "active",
         "card_number": "410128349740245", "card_status": "active",
         "data": {"name": "谢子𠈌", "sex": 2, "ethnicity": "08", "residence_address": "郑州市𠈌园街277号"},
         "suspension_reason": None, "valid_until": "2027-11-24"}]})
    data: dict[str, Any] = Field(description="permit fields (photo separately)")
    suspension_reason: str | None
    valid_until: date | None
    registrations: list[RegistrationOut] = Field(default_factory=list,
                                                 description="the holder's temporary registrations, oldest first")


class DepartmentDataOut(Model):
    permit_number: str
    department: str
    items: dict[str, str]


class StatusChangeOut(Model):
    at: datetime
    subject: str
    from_status: str | None
    to_status: str
    reason_code: str
    reason: str
    actor: str


# --- status changes ----------------------------------------------------------------------------------
class StatusChangeIn(Model):
    action: Literal["suspend", "reinstate", "report_lost", "cancel"]
    note: str = Field(min_length=1, max_length=200)
    reason: SuspensionReason | None = Field(default=None, description="suspend only: SMX Art.19 ground")
    # report_lost only (ZZ Art.16-17, cardsvc.duties.losses): how the loss was reported and when it took effect
    bank_certificate: str | None = Field(default=None, max_length=32, description="the bank's loss certificate no.")
    reported_at: datetime | None = Field(default=None, description="time of the bank/oral report (effective)")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "report_lost", "note": "持证人电话挂失", "reported_at": "2026-03-01T09:30:00+08:00"},
        {"action": "suspend", "reason": "false_materials", "note": "材料核查不实"}]})


# --- jobs --------------------------------------------------------------------------------------------
class JobIn(Model):
    permit_number: str = _PERMIT_NUMBER
    event: CardEvent = CardEvent.FIRST_ISSUE
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=128)
    old_card_returned: bool = False
    # correction only (ZZ Art.27): stored-record field → corrected value, and the supporting material
    changes: dict[str, Any] | None = Field(default=None, max_length=16)
    evidence: str | None = Field(default=None, min_length=1, max_length=200)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"permit_number": "410105-2026-000001", "event": "first_issue"},
        {"permit_number": "410105-2026-000001", "event": "correction", "changes": {"ethnicity": "03"},
         "evidence": "户口簿第2页"}]})


class JobOut(Model):
    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [
        {"id": 7, "permit_number": "41010520260000016", "card_number": "410128349740245", "event": "first_issue",
         "state": "writing", "attempts": 1, "last_error": None,
         "progress": {"running": True, "reader": "Virtual Reader 0", "done": 31, "total": 60,
                      "step": "UPDATE BINARY photo"}}]})
    id: int
    permit_number: str
    card_number: str
    event: str
    state: str
    attempts: int
    last_error: str | None
    progress: dict[str, Any]


# --- endorsements ------------------------------------------------------------------------------------
class EndorsementIn(Model):
    permit_number: str = _PERMIT_NUMBER
    kind: Literal["yearly", "address_change", "service_place_change"] = "yearly"
    residence_address: str | None = Field(default=None, min_length=1, max_length=128)
    new_county: str | None = Field(default=None, pattern=_COUNTY)
    moved_on: date | None = None
    # service_place_change (ZZ Art.14 变更登记): the new service place and the day it changed
    service_place: str | None = Field(default=None, min_length=1, max_length=128)
    changed_on: date | None = None
    reader: str | None = Field(default=None, max_length=128, description="write to the card in this reader")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"permit_number": "41120220260000001", "kind": "yearly", "reader": "Virtual Reader 0"},
        {"permit_number": "41010520260000016", "kind": "service_place_change", "service_place": "郑州某物流有限公司",
         "changed_on": "2026-11-20", "reader": "Virtual Reader 0"},
        {"permit_number": "41120220260000001", "kind": "address_change", "new_county": "411202",
         "moved_on": "2026-11-20", "residence_address": "三门峡市湖滨区崤山路8号", "reader": "Virtual Reader 0"}]})


class EndorsementOut(Model):
    id: int | None
    permit_number: str
    seq: int | None
    kind: str
    endorsed_on: date | None
    valid_until: date | None
    card_sync: str | None
    note: str | None = None
    late: bool | None = None  # reported after the deadline (ZZ Art.14 7 days, SMX Art.17 15 days) / late (SMX Art.18)


# --- verification ------------------------------------------------------------------------------------
class QrIn(Model):
    text: str = Field(min_length=1, max_length=1000)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "JZ1:6BF..."}]})


class CheckOut(Model):
    check: str
    outcome: str
    detail: str


class LossOut(Model):
    """ZZ Art.16-17: how a lost card was reported and the moment the loss took effect."""

    channel: str  # bank, oral, counter
    bank_certificate: str | None
    effective_at: datetime
    recorded_at: datetime


class VerdictOut(Model):
    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [
        {"result": "lost", "genuine": True, "valid": False, "reasons": ["status: lost (online, issued …)"],
         "checks": [{"check": "passive_auth", "outcome": "pass", "detail": "SOD by document signer 410105"},
                    {"check": "status", "outcome": "fail", "detail": "lost (online)"}],
         "card_number": "410128349740245", "permit_number": "41010520260000016", "registry_status": "lost",
         "display": {"name": "谢子𠈌", "permit_number": "41010520260000016"}, "photo": None,
         "stats": {"apdus": 13, "milliseconds": 5.9}}]})
    result: str
    genuine: bool
    valid: bool
    reasons: list[str]
    checks: list[CheckOut]
    card_number: str | None
    permit_number: str | None
    registry_status: str | None
    display: dict[str, Any] = Field(description="fields for the clerk (audited)")
    photo: str | None = Field(default=None, description="JPEG, base64")
    stats: dict[str, Any] = Field(default_factory=dict)
    loss: LossOut | None = Field(default=None, description="a lost card's loss report (ZZ Art.16-17)")


class CardStatusOut(Model):
    card_number: str
    status: str
    reason: str | None
    source: str
    # Design §7 online binding: a counter compares these with the chip it authenticated and the
    # endorsement records on the card.
    chip_key_sha256: str | None = Field(default=None, description="SHA-256 (hex) of the recorded EF.CHIPKEY")
    endorsements_written: int = 0
    endorsements_recorded: int = 0


class AuditOut(Model):
    at: datetime
    station_id: str
    operator: str
    role: str
    action: str
    permit_number: str | None
    card_number: str | None
    reason: str


# ---------------------------------------------------------------- department records on the card (issue 16)

class DepartmentRecordIn(Model):
    reader: str = Field(min_length=1, max_length=128)
    values: dict[str, str] = Field(min_length=1, max_length=32,
                                   description="the record's fields as the layout declares them")


class SlotProblemOut(Model):
    slot: int
    reason: str


class DepartmentRecordOut(Model):
    record: str
    serves: str = Field(description="the article the record serves, e.g. ZZ Art.21(6)")
    fields: list[str]
    seq: int = Field(description="write number of the current record; 0 = never written")
    values: dict[str, str] | None
    intact: bool = Field(description="false when a slot fails its MAC (an interrupted write or an alteration)")
    problems: list[SlotProblemOut]


class DepartmentCardOut(Model):
    card_number: str
    layout_id: str
    department: str
    records: list[DepartmentRecordOut]


# --- standing duties (issue 16 item 2, cardsvc.duties) --------------------------------------------------
class QueueRowOut(Model):
    application_id: int
    permit_number: str | None
    county_code: str
    applied_on: date
    due: date
    days_left: int
    overdue: bool


class QueueOut(Model):
    """SMX Art.12: accepted applications without an issued card, by due date; overdue ones per county."""

    on: date
    rows: list[QueueRowOut]
    overdue_by_county: dict[str, int]


class OverdueOut(Model):
    """SMX Art.18-19(3): a permit suspended for an overdue endorsement."""

    permit_number: str
    county_code: str
    due: date
    days_overdue: int
    late_until: date | None
    reregister_since: date | None


class TerminationIn(Model):
    """ZZ Art.25 ¶1-2: the landlord's or employer's report that the holder's residence ended."""

    reporter: Literal["landlord", "employer"]
    ended_on: date


class CancelItemOut(Model):
    permit_number: str
    permit_status: str
    reporter: str
    ended_on: date
    reported_on: date
    due_on: date
    late: bool


class NoticeIn(Model):
    application_id: int = Field(ge=1, le=2**31 - 1)  # an INTEGER row id on every backend


class DutyRunIn(Model):
    name: str = Field(max_length=64, description="a duty's name (GET /api/duties/runs lists them)")


class DutyRunOut(Model):
    name: str
    description: str
    ran: bool | None = None  # set by a run; None in the list of last runs
    last_run_at: datetime | None
    last_outcome: str | None
