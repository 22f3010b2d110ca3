"""Errors of the permit data model; every one names the field and the reason.

A single bad value is the shared `cardsvc.errors.FieldError`; a whole permit failing its layout's
rules is `PermitInvalid`, listing every broken rule.
"""

from __future__ import annotations

from cardsvc.errors import FieldError as FieldError  # the shared base, named where permit code looks for it
from cardsvc.errors import FieldProblem
from cardsvc.iso7816.errors import CardError


class PermitError(CardError):
    """Root of the permit model's errors."""


class PermitInvalid(PermitError, FieldError):
    """Validation of a whole permit against a layout failed; `problems` lists every broken rule. It is a
    field refusal of the first problem's field (problem details read `.field`), the rest follow."""

    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        self.problems = problems
        first = problems[0] if problems else FieldProblem("permit", "invalid")
        FieldError.__init__(self, first.field, first.reason)
        self.args = ("; ".join(str(p) for p in problems) + " (permit is invalid)",)

    def __str__(self) -> str:
        return str(self.args[0])

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(p.field for p in self.problems)
