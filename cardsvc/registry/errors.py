"""Registry errors; all derive from CardError (design §8)."""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError


class RegistryError(CardError):
    """A registry operation was refused; the message names the record or field and the reason."""


class NotFoundError(RegistryError):
    pass


class ConflictError(RegistryError):
    """The request contradicts stored state (duplicate number, wrong job state, ...)."""


class NotVerifiedError(RegistryError):
    """SMX Art.15 / design §7: a card is recorded issued only after verify-after-write passed."""


class RefusedError(RegistryError):
    """A city rule refuses the request; `.findings` carries the structured reasons."""

    def __init__(self, message: str, findings: tuple[object, ...] = ()) -> None:
        self.findings = findings
        super().__init__(message)


class StateConflictError(ConflictError, RefusedError):
    """A state change or job the record's current state no longer allows (it was already lost, cancelled,
    has an open job ...): refused (a rule says no) and a conflict (409: another request got there first)."""
