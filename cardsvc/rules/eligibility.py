"""Application checks before issuance: SMX Art.7-12, ZZ Art.10-12.

A refusal names every failed condition and, at once, every missing material (SMX Art.11:
一次性书面告知).  Late temporary registration (ZZ Art.10) is a warning, not a refusal: the text
punishes it (ZZ Art.30) but does not bar the permit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from cardsvc.rules.city import CityRules
from cardsvc.rules.dates import full_years
from cardsvc.rules.errors import RuleError
from cardsvc.rules.materials import Ground, Material
from cardsvc.rules.registration import Registration

__all__ = ["ApplicationFacts", "Condition", "Decision", "Finding", "MaterialNeed", "Obligation", "Registration",
           "evaluate", "issue_deadline", "missing_materials", "obligation", "registration_deadline"]


class Condition(StrEnum):
    REGISTRATION_MISSING = "registration_missing"
    REGISTRATION_OTHER_CITY = "registration_other_city"
    REGISTRATION_NOT_IN_FORCE = "registration_not_in_force"  # ended or past its validity (SMX Art.8, ZZ Art.10)
    REGISTRATION_TOO_RECENT = "registration_too_recent"  # SMX Art.8
    NO_GROUND = "no_ground"  # SMX Art.8
    STAY_TOO_SHORT = "stay_too_short"  # ZZ Art.10
    AGENT_REQUIRED = "agent_required"  # SMX Art.10
    LATE_REGISTRATION = "late_registration"  # ZZ Art.10 (warning)


class Obligation(StrEnum):
    """ZZ Art.10 ¶2: whether the applicant must hold a permit."""

    MANDATORY = "mandatory"
    OPTIONAL = "optional"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class ApplicationFacts:
    applied_on: date
    birth_date: date
    registration: Registration | None
    grounds: frozenset[Ground] = frozenset()
    materials: frozenset[Material] = frozenset()
    has_id_card: bool = True
    via_agent: bool = False  # guardian / close relative applies on the applicant's behalf
    relief_recipient: bool = False  # ZZ Art.10 ¶2: 城市生活无着的流浪乞讨人员 need not apply

    def __post_init__(self) -> None:
        if self.birth_date > self.applied_on:
            raise RuleError("birth_date", "is after applied_on")
        if self.registration is not None and self.registration.registered_on > self.applied_on:
            raise RuleError("registration.registered_on", "is after applied_on")


@dataclass(frozen=True)
class Finding:
    condition: Condition
    article: str
    detail: str


@dataclass(frozen=True)
class MaterialNeed:
    """A missing material; `any_of` lists alternatives when one of several suffices."""

    any_of: tuple[Material, ...]
    article: str


@dataclass(frozen=True)
class Decision:
    failures: tuple[Finding, ...]
    missing: tuple[MaterialNeed, ...]
    warnings: tuple[Finding, ...]
    obligation: Obligation
    issue_deadline: date | None  # SMX Art.12, only when accepted

    @property
    def accepted(self) -> bool:
        return not self.failures and not self.missing


def registration_deadline(rules: CityRules, arrived_on: date, intended_stay_days: int) -> date | None:
    """Last day to report temporary registration (ZZ Art.10: 3 or 7 days after arrival)."""
    if rules.long_stay_register_days is None or rules.short_stay_register_days is None:
        return None
    if rules.permit_min_stay_days is not None and intended_stay_days > rules.permit_min_stay_days:
        return arrived_on + timedelta(days=rules.long_stay_register_days)
    if rules.short_stay_min_days is not None and intended_stay_days >= rules.short_stay_min_days:
        return arrived_on + timedelta(days=rules.short_stay_register_days)
    return None


def issue_deadline(rules: CityRules, accepted_on: date) -> date | None:
    """SMX Art.12: the card is made and issued within 15 days of acceptance (last allowed day)."""
    if rules.issue_deadline is None:
        return None
    return rules.issue_deadline.add_to(accepted_on)


def obligation(rules: CityRules, facts: ApplicationFacts) -> Obligation:
    reg = facts.registration
    if rules.mandatory_age is None:
        return Obligation.NOT_APPLICABLE
    if reg is None or (rules.permit_min_stay_days is not None
                       and reg.intended_stay_days <= rules.permit_min_stay_days):
        return Obligation.NOT_APPLICABLE
    if facts.relief_recipient or full_years(facts.birth_date, facts.applied_on) < rules.mandatory_age:
        return Obligation.OPTIONAL
    return Obligation.MANDATORY


def evaluate(rules: CityRules, facts: ApplicationFacts) -> Decision:
    failures: list[Finding] = []
    warnings: list[Finding] = []
    missing: list[MaterialNeed] = []
    reg = facts.registration
    age = full_years(facts.birth_date, facts.applied_on)

    if reg is None:
        failures.append(Finding(Condition.REGISTRATION_MISSING, "SMX Art.7-8 / ZZ Art.10",
                                "no temporary residence registration"))
    else:
        if not rules.county_in_city(reg.county_code):
            failures.append(Finding(Condition.REGISTRATION_OTHER_CITY, "SMX Art.7 / ZZ Art.10",
                                    f"registration county {reg.county_code} is not in {rules.city_code}"))
        if not reg.in_force(facts.applied_on):
            failures.append(Finding(Condition.REGISTRATION_NOT_IN_FORCE, "SMX Art.8 / ZZ Art.10",
                                    f"the registration last held on {reg.last_day()}; one in force "
                                    "on the day of application is needed"))
        if rules.min_registration is not None:
            eligible_from = rules.min_registration.add_to(reg.registered_on)
            if facts.applied_on < eligible_from:
                failures.append(Finding(
                    Condition.REGISTRATION_TOO_RECENT, "SMX Art.8",
                    f"registered {reg.registered_on.isoformat()}; needs "
                    f"{rules.min_registration.describe()}, eligible from {eligible_from.isoformat()}"))
        if rules.permit_min_stay_days is not None and reg.intended_stay_days <= rules.permit_min_stay_days:
            failures.append(Finding(
                Condition.STAY_TOO_SHORT, "ZZ Art.10",
                f"intended stay {reg.intended_stay_days} days; a permit is for stays over "
                f"{rules.permit_min_stay_days} days (registration only)"))
        deadline = registration_deadline(rules, reg.arrived_on, reg.intended_stay_days)
        if deadline is not None and reg.registered_on > deadline:
            warnings.append(Finding(Condition.LATE_REGISTRATION, "ZZ Art.10",
                                    f"registered {reg.registered_on.isoformat()}, due by {deadline.isoformat()}"))

    if rules.requires_ground and not facts.grounds:
        failures.append(Finding(Condition.NO_GROUND, "SMX Art.8",
                                "needs one of: stable employment, stable residence, continuous study"))

    is_minor = age < rules.guardian_age
    if rules.minor_requires_agent and is_minor and not facts.via_agent:
        failures.append(Finding(Condition.AGENT_REQUIRED, "SMX Art.10",
                                f"applicant is {age}; under {rules.guardian_age} applies through a guardian"))

    missing.extend(missing_materials(rules, facts))
    accepted = not failures and not missing
    return Decision(
        failures=tuple(failures),
        missing=tuple(missing),
        warnings=tuple(warnings),
        obligation=obligation(rules, facts),
        issue_deadline=issue_deadline(rules, facts.applied_on) if accepted else None,
    )


def missing_materials(rules: CityRules, facts: ApplicationFacts) -> list[MaterialNeed]:
    """Every material the city's rules ask for that the application lacks, in the city's order
    (SMX Art.11: told at once, in writing)."""
    need: list[MaterialNeed] = []
    for rule in rules.materials:
        if not rule.applies(facts.grounds, facts.has_id_card, facts.via_agent):
            continue
        options = rule.options(facts.grounds, rules.ground_proofs)
        if options and not any(m in facts.materials for m in options):
            need.append(MaterialNeed(options, rule.article))
    return need
