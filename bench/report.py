"""Figures and the readable table: every figure is printed beside its ceiling or floor and the ratio.

A `Figure` is one measured number. `reference` is what bounds it in the same run (a ceiling such as the
raw ECDSA sign rate, or a floor such as the minimum APDU count); `ratio` is value / reference. `target`
is a number of design §6 when one applies, with `higher_is_better` saying which side of it passes.
A `Campaign` counts the cases and failures of one robustness campaign (bench.robustness).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class Figure:
    section: str  # "encode+sign", "issue", ...
    name: str  # what was measured, e.g. "zz pcscd wall time"
    value: float
    unit: str
    reference: float | None = None  # the ceiling or floor it is compared with
    reference_name: str = ""  # e.g. "raw ECDSA P-256 / 3 signatures"
    target: float | None = None  # design §6 bound, if any
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0 or math.isnan(self.value) or math.isnan(self.reference):
            return None
        return self.value / self.reference

    @property
    def met(self) -> bool | None:
        """Whether the design §6 target holds (None when the figure has no target or did not run)."""
        if self.target is None or math.isnan(self.value):
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                                  for k, v in asdict(self).items()}
        out["ratio"] = self.ratio
        out["met"] = self.met
        return out


MAX_FAILURES_KEPT = 10


@dataclass
class Campaign:
    """Counts of one campaign; `failures` keeps the first few inputs that broke a rule (hex)."""

    name: str
    cases: int = 0
    failures: int = 0
    examples: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def fail(self, what: str) -> None:
        self.failures += 1
        if len(self.examples) < MAX_FAILURES_KEPT:
            self.examples.append(what)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def merge(self, other: Campaign) -> None:
        self.cases += other.cases
        self.failures += other.failures
        self.examples += other.examples[: max(0, MAX_FAILURES_KEPT - len(self.examples))]
        for k, v in other.counts.items():
            self.count(k, v)
        self.seconds = max(self.seconds, other.seconds)



def not_run(section: str, name: str, unit: str, why: str) -> Figure:
    return Figure(section, name, float("nan"), unit, note=f"not run: {why}")


def _number(value: float) -> str:
    if math.isnan(value):
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def table(figures: Iterable[Figure]) -> str:
    """One line per figure, grouped by section: value, reference, ratio, design target and verdict."""
    header = (f"{'figure':<56}{'value':>12} {'unit':<9}{'ceiling/floor':>13} {'ratio':>7}  "
              f"{'target':>9} {'ok':<4} reference / note")
    lines = [header, "-" * len(header)]
    section = None
    for f in figures:
        if f.section != section:
            section = f.section
            lines.append(f"[{section}]")
        ratio = f.ratio
        target = "" if f.target is None else ("≥" if f.higher_is_better else "≤") + _number(f.target)
        met = {True: "yes", False: "NO", None: ""}[f.met]
        reference = "" if f.reference is None else _number(f.reference)
        detail = "; ".join(x for x in (f.reference_name, f.note) if x)
        lines.append(f"  {f.name[:54]:<54}{_number(f.value):>12} {f.unit:<9}{reference:>13} "
                     f"{'' if ratio is None else f'{ratio:.2f}':>7}  {target:>9} {met:<4} {detail}")
    return "\n".join(lines)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
