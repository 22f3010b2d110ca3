"""City rules from the layout TOML files, fees (SMX Art.20, ZZ Art.15) and the status transition tables."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from typing import Any

import pytest

from cardsvc.layout import LayoutError, builtin_layout
from cardsvc.layout.loader import LAYOUT_DIR, layout_from_dict
from cardsvc.rules import (
    CardEvent,
    CardStatus,
    CityRules,
    Ground,
    Material,
    Period,
    PermitStatus,
    SuspensionReason,
    TransitionError,
    check_card_transition,
    check_permit_transition,
    fee_for,
)

SMX_RULES = builtin_layout("smx").rules
ZZ_RULES = builtin_layout("zz").rules


# The numbers each article gives, read from the seeds (not from the TOML): the files must say the same.
@pytest.mark.parametrize(("rules", "expected"), [
    (SMX_RULES, {"city": "smx", "city_code": "411200",
                 "min_registration": Period(months=6),  # SMX Art.8
                 "requires_ground": True, "permit_min_stay_days": None, "short_stay_min_days": None,
                 "short_stay_register_days": None, "long_stay_register_days": None, "mandatory_age": None,
                 "guardian_age": 16, "minor_requires_agent": False,  # SMX Art.10 可以: may
                 "issue_deadline": Period(days=15),  # SMX Art.12
                 "endorsement_window": Period(months=1),  # SMX Art.16
                 "late_endorsement_grace": Period(months=6), "late_restarts_residence_years": True,  # SMX Art.18
                 "address_change_deadline": Period(days=15), "cross_county_reregisters": True,  # SMX Art.17
                 "validity": Period(years=1), "first_issue_free": True, "card_fee_fen": 2000}),  # SMX Art.20
    (ZZ_RULES, {"city": "zz", "city_code": "410100", "min_registration": None, "requires_ground": False,
                "permit_min_stay_days": 30, "short_stay_min_days": 3, "short_stay_register_days": 3,
                "long_stay_register_days": 7, "mandatory_age": 16,  # ZZ Art.10
                "guardian_age": 16, "minor_requires_agent": False, "issue_deadline": None,
                "endorsement_window": Period(days=30),  # ZZ Art.13
                "late_endorsement_grace": None, "late_restarts_residence_years": True,
                "address_change_deadline": Period(days=7), "cross_county_reregisters": False,  # ZZ Art.14
                "validity": Period(years=1), "first_issue_free": True, "card_fee_fen": 2000}),  # ZZ Art.15
])
def test_layout_rules_carry_the_article_numbers(rules: CityRules, expected: dict[str, Any]) -> None:
    assert {k: getattr(rules, k) for k in expected} == expected


@pytest.mark.parametrize(("rules", "grounds", "materials"), [
    (SMX_RULES, {Ground.EMPLOYMENT}, {Material.ID_CARD, Material.REGISTRATION_CERT,  # SMX Art.9
                                      Material.EMPLOYMENT_PROOF}),
    (SMX_RULES, {Ground.STUDY}, {Material.ID_CARD, Material.REGISTRATION_CERT, Material.STUDY_PROOF}),
    (ZZ_RULES, {Ground.EMPLOYMENT}, {Material.ID_CARD, Material.PHOTOS, Material.RESIDENCE_PROOF,  # ZZ Art.12
                                     Material.EMPLOYMENT_PROOF}),
    (ZZ_RULES, {Ground.RESIDENCE}, {Material.ID_CARD, Material.PHOTOS, Material.RESIDENCE_PROOF}),
])
def test_materials_needed_come_from_the_layout(rules: CityRules, grounds: set[Ground],
                                               materials: set[Material]) -> None:
    assert rules.materials_needed(frozenset(grounds)) == materials


def test_materials_for_an_agent_without_id_card() -> None:
    need = SMX_RULES.materials_needed(frozenset({Ground.EMPLOYMENT}), has_id_card=False, via_agent=True)
    assert need == {Material.DIGITAL_PHOTO, Material.AGENT_ID, Material.REGISTRATION_CERT,  # SMX Art.9-10
                    Material.EMPLOYMENT_PROOF}


def _smx_with(**rules: Any) -> dict[str, Any]:
    data = tomllib.loads((LAYOUT_DIR / "sanmenxia.toml").read_text(encoding="utf-8"))
    data["rules"] = {**data["rules"], **rules}
    return data


@pytest.mark.parametrize(("change", "message"), [
    ({"late_endorsement_grace": {"weeks": 2}}, "rules.late_endorsement_grace.weeks"),
    ({"endorsement_window": {"months": 0}}, "a period needs years, months or days"),
    ({"card_fee_fen": "20"}, "rules.card_fee_fen"),
    ({"card_fee_fen": -1}, "rules.card_fee_fen"),
    ({"requires_ground": "maybe"}, "rules.requires_ground"),
    ({"address_change_deadline": {"days": -1}}, "rules.address_change_deadline.days"),
    ({"colour": "red"}, "rules.colour"),
    ({"materials": [{"any_of": ["passport"], "article": "X"}]}, "rules.materials.0.any_of.0"),
    ({"materials": [{"any_of": ["id_card"], "ground_proof": True, "article": "X"}]}, "either any_of"),
    ({"ground_proofs": {"employment": "employment_proof"}}, "no proof material for ['residence', 'study']"),
])
def test_bad_rules_table_names_the_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(LayoutError, match=re.escape(message)):
        layout_from_dict(_smx_with(**change))


def test_missing_rule_is_named() -> None:
    data = _smx_with()
    del data["rules"]["endorsement_window"]
    with pytest.raises(LayoutError, match=r"rules\.endorsement_window: Field required"):
        layout_from_dict(data)


def test_rules_take_the_city_from_the_layout_block() -> None:
    data = _smx_with(city="elsewhere", city_code="990000")
    rules = layout_from_dict(data).rules
    assert (rules.city, rules.city_code) == ("smx", "411200")
    assert rules.county_in_city("411224") and not rules.county_in_city("410105")


def test_periods_clamp_to_month_end() -> None:
    assert SMX_RULES.endorsement_window.subtract_from(date(2025, 3, 31)) == date(2025, 2, 28)
    assert Period(months=6).describe() == "6 month(s)"


@pytest.mark.parametrize("rules", [SMX_RULES, ZZ_RULES])
def test_fees_first_issue_free_replacement_charged(rules: CityRules) -> None:
    assert fee_for(rules, CardEvent.FIRST_ISSUE).amount_fen == 0
    assert fee_for(rules, CardEvent.ENDORSEMENT).amount_fen == 0
    assert fee_for(rules, CardEvent.CORRECTION).amount_fen == 0
    assert fee_for(rules, CardEvent.REPLACEMENT).amount_fen == rules.card_fee_fen > 0
    assert fee_for(rules, CardEvent.RENEWAL).amount_fen == rules.card_fee_fen
    assert "Art.20" in fee_for(rules, CardEvent.REPLACEMENT).article


def test_each_smx_art19_reason_has_its_clause() -> None:
    assert [r.article for r in SuspensionReason] == [f"SMX Art.19({c})" for c in "一二三四五六"]
    assert not SuspensionReason.ENDORSEMENT_OVERDUE.lifted_by_reinstatement
    assert not SuspensionReason.HUKOU_TRANSFERRED.lifted_by_reinstatement
    # issue 12: lifted by the endorsement after half a year of the new registration (SMX Art.17 ¶2)
    assert not SuspensionReason.CROSS_COUNTY_MOVE.lifted_by_reinstatement
    assert SuspensionReason.CIRCUMSTANCES_CHANGED.lifted_by_reinstatement


@pytest.mark.parametrize(("src", "dst", "ok"), [
    (PermitStatus.PENDING, PermitStatus.ACTIVE, True),
    (PermitStatus.ACTIVE, PermitStatus.SUSPENDED, True),
    (PermitStatus.SUSPENDED, PermitStatus.ACTIVE, True),
    (PermitStatus.ACTIVE, PermitStatus.LOST, True),
    (PermitStatus.LOST, PermitStatus.ACTIVE, True),
    (PermitStatus.PENDING, PermitStatus.LOST, False),
    (PermitStatus.CANCELLED, PermitStatus.ACTIVE, False),
    (PermitStatus.ACTIVE, PermitStatus.ACTIVE, False),
])
def test_permit_transitions(src: PermitStatus, dst: PermitStatus, ok: bool) -> None:
    if ok:
        check_permit_transition(src, dst)
    else:
        with pytest.raises(TransitionError, match=f"from {src.value} to {dst.value}"):
            check_permit_transition(src, dst)


@pytest.mark.parametrize("end", [CardStatus.REPLACED, CardStatus.RENEWED, CardStatus.CORRECTED,
                                 CardStatus.CANCELLED, CardStatus.SPOILED])
def test_revoked_card_states_are_final(end: CardStatus) -> None:
    assert end.revoked
    for target in CardStatus:
        with pytest.raises(TransitionError):
            check_card_transition(end, target)


def test_lost_card_can_only_be_replaced_or_cancelled() -> None:
    check_card_transition(CardStatus.LOST, CardStatus.REPLACED)
    with pytest.raises(TransitionError):
        check_card_transition(CardStatus.LOST, CardStatus.ACTIVE)
    assert not CardStatus.LOST.revoked
