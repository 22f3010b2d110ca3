"""Errors of the signed status list and its counter-side cache; one class per way a check fails.

Signature and signer failures are the shared family of `cardsvc.security.errors` (`SignatureInvalidError`,
the `PkiError` signer classes), raised as they are; malformed lists and a signer outside the issuer's
region derive from the family's `SignedFormatError` and `IssuerMismatchError`.
"""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError
from cardsvc.security.errors import IssuerMismatchError, SignedFormatError


class StatusListError(CardError):
    """Root of the status list's errors."""


class StatusListFormatError(StatusListError, SignedFormatError):
    """The bytes are not a well-formed signed status list (names the part or field and the reason)."""


class StatusListIssuerError(StatusListError, IssuerMismatchError):
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


class StatusListGapError(StatusListError):
    """A delta that does not start from the list held (changes missed): fetch the full list."""


class StatusListChainError(StatusListError):
    """A delta whose base digest or result digest does not match the list held (a fork or a bad merge)."""
