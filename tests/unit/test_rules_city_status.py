"""CityRules from layout dicts, fees (SMX Art.20, ZZ Art.15) and the status transition tables."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from cardsvc.rules import (
    SMX_RULES,
    ZZ_RULES,
    CardEvent,
    CardStatus,
    City,
    CityRules,
    Period,
    PermitStatus,
    RuleConfigError,
    RuleError,
    SuspensionReason,
    TransitionError,
    check_card_transition,
    check_permit_transition,
    fee_for,
    rules_for,
)


def as_dict(rules: CityRules) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(rules):
        value = getattr(rules, f.name)
        out[f.name] = dataclasses.asdict(value) if isinstance(value, Period) else value
    out["city"] = rules.city.value
    return out


@pytest.mark.parametrize("rules", [SMX_RULES, ZZ_RULES])
def test_from_dict_round_trip(rules: CityRules) -> None:
    assert CityRules.from_dict(as_dict(rules)) == rules
    assert rules_for(rules.city.value) is rules


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"late_grace": {"weeks": 2}}, "late_grace", "table"),
    ({"endorsement_window": None}, "endorsement_window", "empty"),
    ({"endorsement_window": {"months": 0}}, "endorsement_window", "needs months or days"),
    ({"card_fee_fen": "20"}, "card_fee_fen", "integer"),
    ({"card_fee_fen": True}, "card_fee_fen", "integer"),
    ({"requires_ground": 1}, "requires_ground", "true or false"),
    ({"city": "bj"}, "city", "unknown city"),
    ({"city_code": "4112"}, "city_code", "6-digit"),
    ({"address_change_days": -1}, "address_change_days", ">= 0"),
    ({"colour": "red"}, "colour", "unknown"),
])
def test_from_dict_names_the_bad_field(change: dict[str, Any], field: str, reason: str) -> None:
    data = {**as_dict(SMX_RULES), **change}
    with pytest.raises(RuleConfigError) as info:
        CityRules.from_dict(data)
    assert info.value.field == field and reason in info.value.reason


def test_from_dict_missing_field() -> None:
    data = as_dict(ZZ_RULES)
    del data["late_grace"]
    with pytest.raises(RuleConfigError, match="late_grace: missing"):
        CityRules.from_dict(data)


def test_unknown_city() -> None:
    with pytest.raises(RuleError, match="unknown city"):
        rules_for("bj")


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
    assert SuspensionReason.CROSS_COUNTY_MOVE.lifted_by_reinstatement


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
    assert not CardStatus.LOST.revoked and City.SMX.value == "smx"
