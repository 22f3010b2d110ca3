"""Errors of the permit data model; every one names the field and the reason."""

from __future__ import annotations

from dataclasses import dataclass

from cardsvc.iso7816.errors import CardError


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One broken rule: `field` is the permit attribute path (e.g. "guardian.citizen_id")."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class PermitError(CardError):
    """Root of the permit model's errors."""


class FieldError(PermitError, ValueError):
    """A single bad value, raised by the parsers (citizen ID, permit number, codes)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")

    @property
    def problem(self) -> FieldProblem:
        return FieldProblem(self.field, self.reason)


class PermitInvalid(PermitError):
    """Validation of a whole permit against a layout failed; `problems` lists every broken rule."""

    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        self.problems = problems
        # The first problem leads (problem details take `field` from it); the rest follow.
        super().__init__("; ".join(str(p) for p in problems) + " (permit is invalid)")

    @property
    def field(self) -> str:
        return self.problems[0].field if self.problems else "permit"

    @property
    def reason(self) -> str:
        return self.problems[0].reason if self.problems else "invalid"

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(p.field for p in self.problems)
