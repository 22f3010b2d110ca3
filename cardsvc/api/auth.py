"""Access tokens and roles (issue 7 item 2; ZZ Art.29, SMX Art.27: data used only for one's duty).

A token is 256 random bits shown once at issue; the registry keeps only its SHA-256 (a hash of that much
entropy needs no salt or slow KDF). Each token is bound to one station and one role; a department token
also to its department. `ROLE_SCOPES` is the whole access policy: each role gets only what its job needs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.api.errors import ApiError, AuthError, ForbiddenError
from cardsvc.api.tokens_model import ApiToken
from cardsvc.registry.audit import Actor, audit
from cardsvc.roles import Role as Role  # re-exported: the service names roles from here

log = logging.getLogger(__name__)

TOKEN_PREFIX = "cst_"
_STATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Scope(StrEnum):
    READERS = "readers"
    APPLICATIONS = "applications"
    PERMITS_READ = "permits:read"  # personal data of a permit
    ISSUE = "issue"
    ENDORSE = "endorse"
    STATUS_CHANGE = "status:change"
    VERIFY = "verify"
    STATUS_LIST = "status-list"
    LAYOUTS = "layouts"
    FACES = "faces"
    DEPARTMENT_DATA = "department-data"
    TOKENS = "tokens"
    AUDIT = "audit"


_CARD_DESK = {Scope.READERS, Scope.STATUS_LIST, Scope.LAYOUTS}
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.PRINT_STATION: frozenset(_CARD_DESK | {Scope.ISSUE, Scope.PERMITS_READ, Scope.FACES}),
    # A counter never issues (issue 7 item 2); it takes applications and changes status (ZZ Art.16, 25).
    Role.COUNTER: frozenset(_CARD_DESK | {Scope.APPLICATIONS, Scope.PERMITS_READ, Scope.VERIFY,
                                          Scope.STATUS_CHANGE}),
    Role.ENDORSEMENT: frozenset(_CARD_DESK | {Scope.ENDORSE, Scope.PERMITS_READ, Scope.VERIFY}),
    # A department works at its own counter's reader (issue 16): its records on the card.
    Role.DEPARTMENT: frozenset(_CARD_DESK | {Scope.DEPARTMENT_DATA}),
    Role.ADMIN: frozenset(Scope),
}


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    role: Role
    station_id: str
    label: str
    department: str | None = None

    def allows(self, scope: Scope) -> bool:
        return scope in ROLE_SCOPES[self.role]

    def require(self, scope: Scope) -> None:
        if not self.allows(scope):
            raise ForbiddenError(f"role {self.role.value} may not use {scope.value}")

    def require_department(self, department: str) -> None:
        """A department token reads its own department only; admin reads any."""
        self.require(Scope.DEPARTMENT_DATA)
        if self.role is Role.DEPARTMENT and self.department != department:
            raise ForbiddenError(f"department token of {self.department} may not read {department} data")

    @property
    def actor(self) -> Actor:
        return Actor(station_id=self.station_id, operator=self.label, role=self.role.value)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # shown once; never stored or logged
    principal: Principal
    expires_at: datetime


# Issue 13: every token expires. A station's token lasts a year (rotated with the station's yearly
# check), an admin's a week; `lifetime` (CLI --expires-in, API expires_in_hours) sets another.
TOKEN_LIFETIME: dict[Role, timedelta] = {
    Role.PRINT_STATION: timedelta(days=365), Role.COUNTER: timedelta(days=365),
    Role.ENDORSEMENT: timedelta(days=365), Role.DEPARTMENT: timedelta(days=365), Role.ADMIN: timedelta(days=7)}
MAX_LIFETIME = timedelta(days=730)
PAGE_IDLE = timedelta(minutes=30)  # a page session (the login cookie) unused this long must sign in again
_TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often (a write per request is not)


def issue_token(session: Session, issuer: Actor, *, role: Role, station_id: str, label: str,
                department: str | None, at: datetime, expires_at: datetime | None = None,
                lifetime: timedelta | None = None, departments: frozenset[str] | None = None) -> IssuedToken:
    """Create a token; `departments` (when given) is the set of department names the layouts declare.
    It expires at `expires_at`, else after `lifetime`, else after its role's `TOKEN_LIFETIME`."""
    if lifetime is not None and not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ApiError(422, "invalid-field", f"expires_in: must be more than 0 and at most {MAX_LIFETIME.days} days",
                       field="expires_in_hours")
    if expires_at is None:
        expires_at = at + (lifetime or TOKEN_LIFETIME[role])
    if not _STATION.fullmatch(station_id):
        raise ApiError(422, "invalid-field", "station_id: 1-64 characters of A-Z a-z 0-9 _ . -",
                       field="station_id")
    if not label.strip() or len(label) > 64:
        raise ApiError(422, "invalid-field", "label: must be 1-64 characters", field="label")
    if role is Role.DEPARTMENT:
        if not department:
            raise ApiError(422, "invalid-field", "department: required for a department token",
                           field="department")
        if departments is not None and department not in departments:
            raise ApiError(422, "invalid-field", f"department: {department!r} is not declared by any layout "
                           f"(known: {sorted(departments)})", field="department")
    elif department is not None:
        raise ApiError(422, "invalid-field", f"department: only a department token has one, not {role.value}",
                       field="department")
    if expires_at is not None and expires_at <= at:
        raise ApiError(422, "invalid-field", "expires_at: must be in the future", field="expires_at")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=hash_token(token), role=role.value, station_id=station_id, department=department,
                   label=label, created_at=at, expires_at=expires_at, revoked_at=None)
    session.add(row)
    session.flush()
    audit(session, issuer, "token.issued", at=at,
          reason=f"token {row.id}: role {role.value} station {station_id}"
                 f"{f' department {department}' if department else ''}")
    return IssuedToken(token, _principal(row), expires_at)


def _principal(row: ApiToken) -> Principal:
    return Principal(token_id=row.id, role=Role(row.role), station_id=row.station_id, label=row.label,
                     department=row.department)


def authenticate(session: Session, token: str | None, *, at: datetime, page: bool = False) -> Principal:
    """The token's principal. `page`: the token came in the pages' cookie, whose session idles out after
    `PAGE_IDLE` without use (`touch` records use)."""
    if not token:
        raise AuthError("missing token: send 'Authorization: Bearer <token>'")
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        raise AuthError("token: not a cardsvc token")
    digest = hash_token(token)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one_or_none()
    # compare_digest on the found hash: the lookup is by hash, so timing reveals nothing about the token.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise AuthError("token: unknown")
    if row.revoked_at is not None:
        raise AuthError(f"token {row.id}: revoked")
    if row.expires_at is not None and row.expires_at <= at:
        raise AuthError(f"token {row.id}: expired")
    if page and row.last_used_at is not None and at - row.last_used_at > PAGE_IDLE:
        raise AuthError(f"token {row.id}: page session idle for more than {PAGE_IDLE}; sign in again")
    return _principal(row)


def touch(session: Session, token: str, *, at: datetime) -> None:
    """Record a page session's use (for its idle timeout); a write at most once a minute per token."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one_or_none()
    if row is not None and (row.last_used_at is None or at - row.last_used_at >= _TOUCH_EVERY):
        row.last_used_at = at
        session.flush()


def needs_touch(session: Session, token: str, *, at: datetime) -> bool:
    row = session.scalars(select(ApiToken.last_used_at).where(ApiToken.token_hash == hash_token(token))).first()
    return row is None or at - row >= _TOUCH_EVERY


def revoke_token(session: Session, issuer: Actor, token_id: int, *, at: datetime) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise ApiError(404, "not-found", f"token_id: no token {token_id}", field="token_id")
    if row.revoked_at is None:
        row.revoked_at = at
        audit(session, issuer, "token.revoked", at=at, reason=f"token {token_id}")
        session.flush()
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
