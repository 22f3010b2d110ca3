"""API-level errors: carry the HTTP status, a problem type and the field at fault (RFC 9457)."""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError


class ApiError(CardError):
    """A request refused by the service itself (auth, scope, unknown reader, ...)."""

    def __init__(self, status: int, kind: str, detail: str, *, field: str | None = None) -> None:
        self.status = status
        self.kind = kind  # the last segment of the problem type URI
        self.detail = detail
        self.field = field
        super().__init__(detail)


class AuthError(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(401, "unauthenticated", detail, field="Authorization")


class ForbiddenError(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(403, "forbidden", detail)
