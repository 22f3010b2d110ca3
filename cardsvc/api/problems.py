"""RFC 9457 problem details for every error; the field at fault and, for card errors, the status word.

The one place where errors become HTTP: services raise domain errors, this module maps them by type
(first matching class of `_BY_TYPE`, in order) and reads the field at fault from the error's `.field`
(`FieldError`, registry errors, `ApiError`), never from its message. Mapping: validation → 422 (each
error's field path), ApiError (the service's own refusals: auth, scope, readers) → its status, a
refused field → 422, not found → 404, conflicts with stored state → 409 (job state, and a unique
constraint the database enforced), a city rule → 422 with the article, key store → 503, no
card → 409, reader or link → 503, registry write lock → 503, a card's status word → 502 (SW in the
body), any other CardError → 422 card-data.
Nothing here logs request bodies: they carry personal data (ZZ Art.29).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cardsvc.api.errors import ApiError
from cardsvc.errors import FieldError
from cardsvc.iso7816.errors import ApduError, CardError
from cardsvc.iso7816.sw import sw_name
from cardsvc.permit.record import PermitRecordError
from cardsvc.registry.errors import (
    CardNotAllocatedError,
    ConflictError,
    JobStateError,
    NotFoundError,
    NotVerifiedError,
    RefusedError,
    RegistryError,
)
from cardsvc.security.errors import KeyStoreError
from cardsvc.transport.errors import CardRemovedError, NoCardError, ReaderUnavailableError, TransportError

log = logging.getLogger(__name__)

TYPE_BASE = "urn:cardsvc:problem:"
MEDIA_TYPE = "application/problem+json"

# Domain error → (status, problem kind, title); the first class that matches wins, so subclasses first.
_BY_TYPE: tuple[tuple[type[CardError], int, str, str], ...] = (
    (NotFoundError, 404, "not-found", "not found"),
    (JobStateError, 409, "job-state", "job state does not allow this"),
    (CardNotAllocatedError, 409, "no-card-number", "the permit has no card yet"),
    (ConflictError, 409, "conflict", "conflict with stored state"),
    (NotVerifiedError, 409, "conflict", "conflict with stored state"),
    (RefusedError, 422, "refused", "refused by the city rules"),
    (PermitRecordError, 422, "invalid-permit-data", "invalid permit data"),  # stored data that does not read back
    (RegistryError, 422, "invalid-field", "invalid field"),
    (FieldError, 422, "invalid-field", "invalid field"),
    (KeyStoreError, 503, "no-keys", "key store unavailable"),
    (NoCardError, 409, "no-card", "no card in the reader"),
    (CardRemovedError, 409, "no-card", "no card in the reader"),
    (ReaderUnavailableError, 503, "reader-unavailable", "reader unavailable"),
    (TransportError, 503, "transport", "card link failed"),
)


def problem(status: int, kind: str, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + kind, "title": title, "status": status, "detail": detail,
                            "instance": instance}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_of(exc: CardError) -> str | None:
    """The field at fault as the error carries it; a reader for every error of the card link."""
    if isinstance(exc, FieldError | RegistryError | ApiError):
        return exc.field
    if isinstance(exc, TransportError):
        return "reader"
    return None


def card_error_response(exc: CardError, instance: str) -> JSONResponse:
    if isinstance(exc, ApiError):
        return problem(exc.status, exc.kind, exc.kind.replace("-", " "), exc.detail, instance, field=exc.field)
    detail = str(exc)
    field = field_of(exc)
    for cls, status, kind, title in _BY_TYPE:
        if isinstance(exc, cls):
            return problem(status, kind, title, detail, instance, field=field)
    if isinstance(exc, ApduError):
        return problem(502, "card-error", "the card refused a command", detail, instance,
                       sw=f"{exc.sw:04X}", sw_name=sw_name(exc.sw))
    return problem(422, "card-data", type(exc).__name__, detail, instance, field=field)


def install(app: FastAPI) -> None:
    async def on_card_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CardError)
        response = card_error_response(exc, request.url.path)
        log.info("%s %s → %d %s", request.method, request.url.path, response.status_code, type(exc).__name__)
        return response

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            errors.append({"field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc),
                           "in": loc[0] if loc else "body", "reason": err.get("msg", "invalid")})
        first = errors[0] if errors else {"field": None, "reason": "invalid request"}
        return problem(422, "validation", "request validation failed",
                       f"{first['field']}: {first['reason']}", request.url.path, field=first["field"],
                       errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
        return problem(exc.status_code, kind, str(exc.detail), str(exc.detail), request.url.path)

    async def on_integrity(request: Request, exc: Exception) -> JSONResponse:
        # The unique constraints are the last line behind the locks (design §7): a conflict, never a 500.
        # The driver's message may quote row values, so only the constraint kind goes out.
        log.info("%s %s → 409 %s", request.method, request.url.path, type(exc).__name__)
        return problem(409, "conflict", "conflict with stored state",
                       "a record with these keys was written by another request; reload and retry",
                       request.url.path)

    async def on_busy(request: Request, exc: Exception) -> JSONResponse:
        # A lock wait that timed out (SQLite busy timeout) or a PostgreSQL deadlock/serialization victim:
        # nothing was written, the client may retry.  Only the error class is logged (parameters are data).
        log.warning("%s %s → 503 %s", request.method, request.url.path, type(getattr(exc, "orig", exc)).__name__)
        response = problem(503, "registry-busy", "registry busy", "the registry could not take the write lock "
                           "in time; nothing was changed, retry", request.url.path)
        response.headers["Retry-After"] = "1"
        return response

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal", "internal error", "unexpected error; see the service log",
                       request.url.path)

    app.add_exception_handler(CardError, on_card_error)
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(OperationalError, on_busy)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for code, text in ((401, "missing, unknown, revoked or expired token"),
                       (403, "the token's role or department may not do this"),
                       (404, "no such record, reader, layout or route; `field` names it"),
                       (409, "conflicts with stored state, or no card / a busy reader"),
                       (413, "upload too large"),
                       (422, "invalid field or refused by a city rule; `field` names it"),
                       (502, "the card answered a command with an error; `sw` and `sw_name` give the status word"),
                       (503, "readers, the key store or the registry's write lock unavailable"))
}
