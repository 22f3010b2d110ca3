"""Errors raised by the pure rule functions; all derive from CardError (design §8)."""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError


class RuleError(CardError):
    """A rule was asked something it cannot answer: bad input, named by field and reason."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class TransitionError(RuleError):
    """A status change that the lifecycle does not allow."""
