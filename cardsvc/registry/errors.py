"""Registry errors; all derive from CardError (design §8).

`field` names the request or record field at fault when there is one (e.g. "permit_number"), so the
API's problem details read it instead of parsing the message. Field refusals of a single value are the
shared `cardsvc.errors.FieldError`.
"""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError


class RegistryError(CardError):
    """A registry operation was refused; the message names the record or field and the reason."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class NotFoundError(RegistryError):
    pass


class ConflictError(RegistryError):
    """The request contradicts stored state (duplicate number, wrong job state, ...)."""


class JobStateError(ConflictError):
    """The issuance job is not in a state that allows the request (run, retry)."""


class CardNotAllocatedError(ConflictError):
    """The permit has no card (number) yet: its issuance job has not been created."""


class NotVerifiedError(RegistryError):
    """SMX Art.15 / design §7: a card is recorded issued only after verify-after-write passed."""


class RefusedError(RegistryError):
    """A city rule refuses the request; `.findings` carries the structured reasons."""

    def __init__(self, message: str, findings: tuple[object, ...] = (), *, field: str | None = None) -> None:
        self.findings = findings
        super().__init__(message, field=field)


class StateConflictError(ConflictError, RefusedError):
    """A state change or job the record's current state no longer allows (it was already lost, cancelled,
    has an open job ...): refused (a rule says no) and a conflict (409: another request got there first)."""
