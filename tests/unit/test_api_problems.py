"""RFC 9457 problem details: domain errors map by type, the field comes from `.field`, never the message."""

from __future__ import annotations

import json

import pytest

from cardsvc.api.problems import card_error_response
from cardsvc.errors import FieldError
from cardsvc.face.errors import FaceDataError
from cardsvc.iso7816.errors import CardError, FileNotFound
from cardsvc.layout.errors import FieldValueError
from cardsvc.registry.errors import ConflictError, JobStateError, NotFoundError, RefusedError, StateConflictError
from cardsvc.rules.errors import RuleError, TransitionError
from cardsvc.security.errors import KeyNotFound
from cardsvc.transport.errors import NoCardError


def _body(exc: CardError) -> dict[str, object]:
    response = card_error_response(exc, "/api/x")
    body = json.loads(bytes(response.body))
    assert body["status"] == response.status_code and body["instance"] == "/api/x"
    return body


@pytest.mark.parametrize("exc", [
    FieldError("guardian.citizen_id", "wrong check digit"),
    RuleError("guardian.citizen_id", "needed under 16"),
    TransitionError("guardian.citizen_id", "not from this state"),
    FieldValueError("guardian.citizen_id", "too long for gbk"),
    FaceDataError("guardian.citizen_id", "does not fit"),
])
def test_every_field_refusal_is_one_family_read_by_field(exc: FieldError) -> None:
    assert isinstance(exc, FieldError) and isinstance(exc, ValueError)
    body = _body(exc)
    assert (body["status"], body["type"], body["field"]) == (422, "urn:cardsvc:problem:invalid-field",
                                                            "guardian.citizen_id")
    assert body["detail"] == f"guardian.citizen_id: {exc.reason}"


def test_a_message_that_looks_like_a_field_is_not_parsed() -> None:
    body = _body(CardError("permit_number: something went wrong"))
    assert body["type"].endswith("card-data") and "field" not in body  # type: ignore[union-attr]


@pytest.mark.parametrize(("exc", "status", "kind", "field"), [
    (NotFoundError("no permit 4112", field="permit_number"), 404, "not-found", "permit_number"),
    (JobStateError("job 3 is issued; nothing to run", field="job_id"), 409, "job-state", "job_id"),
    (ConflictError("job 3 is already running", field="job_id"), 409, "conflict", "job_id"),
    (StateConflictError("permit 1 has no card in use", field="permit_number"), 409, "conflict", "permit_number"),
    (RefusedError("permit 1: window opens 2027-01-01"), 422, "refused", None),
    (NoCardError("no card in 'Reader 0'"), 409, "no-card", "reader"),
    (KeyNotFound("no document signer"), 503, "no-keys", None),
])
def test_domain_errors_map_by_type(exc: CardError, status: int, kind: str, field: str | None) -> None:
    body = _body(exc)
    assert (body["status"], body["type"], body.get("field")) == (status, f"urn:cardsvc:problem:{kind}", field)


def test_a_card_status_word_is_reported() -> None:
    body = _body(FileNotFound(0x6A82, context="SELECT AID"))
    assert (body["status"], body["sw"], body["sw_name"]) == (502, "6A82", "FILE_NOT_FOUND")
