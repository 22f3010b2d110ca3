"""Address changes: SMX Art.17 (within county: endorse in 15 days; across counties: new temporary
registration, use suspended per Art.19(5)), ZZ Art.14 (change registration within 7 days).
Leaving the city ends the permit (ZZ Art.25 cancellation; SMX Art.7 registers elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cardsvc.rules.city import CityRules
from cardsvc.rules.errors import RuleError


class ChangeKind(StrEnum):
    ENDORSE = "endorse"  # SMX Art.17 ¶1 / ZZ Art.14: recorded as an endorsement on the card
    REREGISTER = "reregister"  # SMX Art.17 ¶2: cross-county, new temporary registration first
    LEAVES_CITY = "leaves_city"  # ZZ Art.25: cancel; no endorsement possible


@dataclass(frozen=True)
class ChangeAssessment:
    kind: ChangeKind
    deadline: date  # last day to report the change
    late: bool  # reported after the deadline (still recorded; the text punishes, ZZ Art.30)
    article: str


def assess_address_change(
    rules: CityRules, old_county: str, new_county: str, moved_on: date, reported_on: date
) -> ChangeAssessment:
    for name, code in (("old_county", old_county), ("new_county", new_county)):
        if len(code) != 6 or not code.isdigit():
            raise RuleError(name, f"must be 6 GB/T 2260 digits, got {code!r}")
    if reported_on < moved_on:
        raise RuleError("reported_on", "is before moved_on")
    deadline = rules.address_change_deadline.add_to(moved_on)
    late = reported_on > deadline
    if not rules.county_in_city(new_county):
        return ChangeAssessment(ChangeKind.LEAVES_CITY, deadline, late, "ZZ Art.25 / SMX Art.7")
    if rules.cross_county_reregisters and new_county != old_county:
        return ChangeAssessment(ChangeKind.REREGISTER, deadline, late, "SMX Art.17 ¶2, Art.19(5)")
    article = "SMX Art.17 ¶1" if rules.cross_county_reregisters else "ZZ Art.14"
    return ChangeAssessment(ChangeKind.ENDORSE, deadline, late, article)


def assess_registered_change(rules: CityRules, changed_on: date, reported_on: date) -> ChangeAssessment:
    """ZZ Art.14 "现居住地址、服务处所等登记事项发生变更的，应当自变更之日起 7 日内…办理变更登记": another
    registered item (the service place) changed; the same deadline as the address, late flag after it."""
    if reported_on < changed_on:
        raise RuleError("changed_on", f"{changed_on.isoformat()} is after today ({reported_on.isoformat()})")
    deadline = rules.address_change_deadline.add_to(changed_on)
    return ChangeAssessment(ChangeKind.ENDORSE, deadline, reported_on > deadline, "ZZ Art.14")
