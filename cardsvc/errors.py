"""The field-level refusal every door shares: `FieldError(field, reason)` (design §3 "One truth").

Permit parsers, layout field codecs, city rules, the card face and the API's own checks raise it (or a
subclass naming their package), so callers and RFC 9457 problem details read `.field` and `.reason`
instead of parsing messages. It is a `ValueError` as well: a bad value is what it reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardsvc.iso7816.errors import CardError


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One broken rule: `field` is the attribute path (e.g. "guardian.citizen_id")."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class FieldError(CardError, ValueError):
    """One bad value: `field` names it (a dotted path), `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")

    @property
    def problem(self) -> FieldProblem:
        return FieldProblem(self.field, self.reason)
