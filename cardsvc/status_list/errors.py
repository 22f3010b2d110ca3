"""Errors of the signed status list and its counter-side cache; one class per way a check fails."""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError


class StatusListError(CardError):
    """Root of the status list's errors."""


class StatusListFormatError(StatusListError):
    """The bytes are not a well-formed signed status list (names the part or field and the reason)."""


class StatusListSignatureError(StatusListError):
    """The signature does not verify: the list was altered after signing."""


class StatusListUntrustedSignerError(StatusListError):
    """The signer is unknown, not issued by a trusted root, of the wrong role, expired or revoked.

    The trust store's own error (`cardsvc.security.errors.PkiError` subclass) is the `__cause__`.
    """


class StatusListIssuerError(StatusListError):
    """The list is not from the expected registry, or its signer belongs to another region."""


class StatusListNotYetValidError(StatusListError):
    """The list claims an issue time in the future (beyond the allowed clock skew)."""


class StatusListRollbackError(StatusListError):
    """An older list (lower sequence number), or a different list under the cached sequence number."""


class StatusListCacheError(StatusListError):
    """The cached list on disk cannot be read or no longer verifies."""


class StatusUnavailableError(StatusListError):
    """No online answer and no cached list: the status of the card is unknown."""


class StatusStaleError(StatusListError):
    """The status came from a list older than the profile allows (raised by `StatusAnswer.require_fresh`)."""
