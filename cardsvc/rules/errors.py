"""Errors raised by the pure rule functions; field refusals of the shared `cardsvc.errors.FieldError`."""

from __future__ import annotations

from cardsvc.errors import FieldError


class RuleError(FieldError):
    """A rule was asked something it cannot answer: bad input, named by field and reason."""


class TransitionError(RuleError):
    """A status change that the lifecycle does not allow."""
