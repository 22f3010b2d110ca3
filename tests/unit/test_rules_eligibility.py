"""Application rules at their boundary dates: SMX Art.8-12, ZZ Art.10-12."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cardsvc.layout import builtin_layout
from cardsvc.rules import (
    ApplicationFacts,
    Condition,
    Ground,
    Material,
    Obligation,
    Registration,
    RuleError,
    evaluate,
    issue_deadline,
    registration_deadline,
)

SMX_RULES = builtin_layout("smx").rules  # layouts/sanmenxia.toml [rules]
ZZ_RULES = builtin_layout("zz").rules  # layouts/zhengzhou.toml [rules]

SMX_FULL = frozenset({Material.ID_CARD, Material.REGISTRATION_CERT, Material.EMPLOYMENT_PROOF})
ZZ_FULL = frozenset({Material.ID_CARD, Material.PHOTOS, Material.RESIDENCE_PROOF})
ADULT = date(1990, 5, 20)


def smx(applied_on: date, registered_on: date = date(2024, 1, 15), **kw: object) -> ApplicationFacts:
    reg = Registration("411202", registered_on, registered_on, 365)
    args: dict[str, object] = {"grounds": frozenset({Ground.EMPLOYMENT}), "materials": SMX_FULL,
                               "birth_date": ADULT}
    args.update(kw)
    return ApplicationFacts(applied_on=applied_on, registration=reg, **args)  # type: ignore[arg-type]


def zz(applied_on: date, stay: int = 365, arrived: date = date(2024, 3, 1), registered: date | None = None,
       **kw: object) -> ApplicationFacts:
    reg = Registration("410105", registered or arrived, arrived, stay)
    args: dict[str, object] = {"materials": ZZ_FULL, "birth_date": ADULT}
    args.update(kw)
    return ApplicationFacts(applied_on=applied_on, registration=reg, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(("applied_on", "accepted"), [
    (date(2024, 7, 14), False),  # day before 半年 is complete
    (date(2024, 7, 15), True),  # the day six months are complete
    (date(2024, 7, 16), True),
])
def test_smx_art8_half_year_of_registration(applied_on: date, accepted: bool) -> None:
    decision = evaluate(SMX_RULES, smx(applied_on))
    assert decision.accepted is accepted
    conditions = [f.condition for f in decision.failures]
    assert conditions == ([] if accepted else [Condition.REGISTRATION_TOO_RECENT])
    if not accepted:
        assert "2024-07-15" in decision.failures[0].detail and decision.failures[0].article == "SMX Art.8"


def test_smx_half_year_clamps_month_end() -> None:
    # registered Aug 31 → six months end on the last day of February.
    assert not evaluate(SMX_RULES, smx(date(2024, 2, 28), registered_on=date(2023, 8, 31))).accepted
    assert evaluate(SMX_RULES, smx(date(2024, 2, 29), registered_on=date(2023, 8, 31))).accepted


def test_smx_art8_needs_a_ground() -> None:
    decision = evaluate(SMX_RULES, smx(date(2024, 8, 1), grounds=frozenset()))
    assert [f.condition for f in decision.failures] == [Condition.NO_GROUND]


def test_smx_art11_lists_every_missing_material_at_once() -> None:
    facts = smx(date(2024, 8, 1), grounds=frozenset({Ground.RESIDENCE, Ground.STUDY}), materials=frozenset(),
                via_agent=True, birth_date=date(2012, 1, 1))
    decision = evaluate(SMX_RULES, facts)
    assert not decision.accepted and decision.failures == ()
    needs = {need.any_of: need.article for need in decision.missing}
    assert needs == {
        (Material.RESIDENCE_PROOF, Material.STUDY_PROOF): "SMX Art.9",  # one of the claimed grounds
        (Material.ID_CARD,): "SMX Art.9",
        (Material.AGENT_ID,): "SMX Art.10",
        (Material.REGISTRATION_CERT,): "SMX Art.9",
    }


def test_smx_art9_digital_photo_without_id_card() -> None:
    mats = (SMX_FULL - {Material.ID_CARD}) | {Material.DIGITAL_PHOTO}
    assert evaluate(SMX_RULES, smx(date(2024, 8, 1), materials=mats, has_id_card=False)).accepted
    decision = evaluate(SMX_RULES, smx(date(2024, 8, 1), materials=SMX_FULL - {Material.ID_CARD},
                                       has_id_card=False))
    assert [n.any_of for n in decision.missing] == [(Material.DIGITAL_PHOTO,)]


@pytest.mark.parametrize("applied_on", [
    date(2024, 8, 9),  # day before the 16th birthday
    date(2024, 8, 10),  # 16th birthday
    date(2024, 8, 11),
])
def test_smx_art10_minor_may_apply_through_guardian(applied_on: date) -> None:
    """SMX Art.10: 未满16周岁的未成年人…可以由其监护人、近亲属代为申领 — "may": the minor applies
    alone or through a guardian; an agent's application needs the agent's ID (应当提供…代办人的…身份证件)."""
    alone = evaluate(SMX_RULES, smx(applied_on, birth_date=date(2008, 8, 10)))
    assert alone.accepted and Condition.AGENT_REQUIRED not in [f.condition for f in alone.failures]
    with_agent = evaluate(SMX_RULES, smx(applied_on, birth_date=date(2008, 8, 10), via_agent=True,
                                         materials=SMX_FULL | {Material.AGENT_ID}))
    assert with_agent.accepted
    without_agent_id = evaluate(SMX_RULES, smx(applied_on, birth_date=date(2008, 8, 10), via_agent=True))
    assert not without_agent_id.accepted and without_agent_id.missing


@pytest.mark.parametrize(("accepted_on", "deadline"), [
    (date(2024, 7, 15), date(2024, 7, 30)),
    (date(2024, 12, 20), date(2025, 1, 4)),
])
def test_smx_art12_issue_deadline(accepted_on: date, deadline: date) -> None:
    assert issue_deadline(SMX_RULES, accepted_on) == deadline
    assert evaluate(SMX_RULES, smx(accepted_on)).issue_deadline == deadline
    assert issue_deadline(ZZ_RULES, accepted_on) is None


def test_refused_application_has_no_deadline() -> None:
    assert evaluate(SMX_RULES, smx(date(2024, 7, 14))).issue_deadline is None


def test_registration_missing_or_in_other_city() -> None:
    none = ApplicationFacts(applied_on=date(2024, 8, 1), birth_date=ADULT, registration=None,
                            grounds=frozenset({Ground.EMPLOYMENT}), materials=SMX_FULL)
    assert Condition.REGISTRATION_MISSING in [f.condition for f in evaluate(SMX_RULES, none).failures]
    other = zz(date(2024, 3, 5))
    assert [f.condition for f in evaluate(SMX_RULES, other).failures][:1] == [Condition.REGISTRATION_OTHER_CITY]


@pytest.mark.parametrize(("stay", "accepted"), [(29, False), (30, False), (31, True)])
def test_zz_art10_permit_for_stays_over_30_days(stay: int, accepted: bool) -> None:
    decision = evaluate(ZZ_RULES, zz(date(2024, 3, 5), stay=stay))
    assert decision.accepted is accepted
    if not accepted:
        assert [f.condition for f in decision.failures] == [Condition.STAY_TOO_SHORT]


@pytest.mark.parametrize(("registered", "late"), [
    (date(2024, 3, 7), False),
    (date(2024, 3, 8), False),  # arrival + 7 days: the last day
    (date(2024, 3, 9), True),
])
def test_zz_art10_register_within_7_days(registered: date, late: bool) -> None:
    decision = evaluate(ZZ_RULES, zz(date(2024, 3, 20), registered=registered))
    assert decision.accepted  # late registration is punished (Art.30), not a bar
    assert bool(decision.warnings) is late
    if late:
        assert decision.warnings[0].condition is Condition.LATE_REGISTRATION


@pytest.mark.parametrize(("stay", "deadline"), [
    (2, None),  # under 3 days: nothing to report
    (3, date(2024, 3, 4)),
    (30, date(2024, 3, 4)),
    (31, date(2024, 3, 8)),
])
def test_zz_art10_registration_deadline(stay: int, deadline: date | None) -> None:
    assert registration_deadline(ZZ_RULES, date(2024, 3, 1), stay) == deadline
    assert registration_deadline(SMX_RULES, date(2024, 3, 1), stay) is None


@pytest.mark.parametrize(("applied_on", "obligation"), [
    (date(2024, 8, 9), Obligation.OPTIONAL),  # 15 the day before the birthday
    (date(2024, 8, 10), Obligation.MANDATORY),  # 年满16周岁
    (date(2024, 8, 11), Obligation.MANDATORY),
])
def test_zz_art10_age_16_mandatory_under_optional(applied_on: date, obligation: Obligation) -> None:
    decision = evaluate(ZZ_RULES, zz(applied_on, arrived=applied_on - timedelta(days=2),
                                     birth_date=date(2008, 8, 10)))
    assert decision.obligation is obligation
    assert decision.accepted  # under 16 may apply voluntarily


def test_zz_relief_recipients_need_not_apply() -> None:
    assert evaluate(ZZ_RULES, zz(date(2024, 3, 5), relief_recipient=True)).obligation is Obligation.OPTIONAL
    assert evaluate(ZZ_RULES, zz(date(2024, 3, 5), stay=10)).obligation is Obligation.NOT_APPLICABLE
    assert evaluate(SMX_RULES, smx(date(2024, 8, 1))).obligation is Obligation.NOT_APPLICABLE


def test_zz_art12_materials() -> None:
    decision = evaluate(ZZ_RULES, zz(date(2024, 3, 5), materials=frozenset(),
                                     grounds=frozenset({Ground.EMPLOYMENT})))
    assert [(n.any_of, n.article) for n in decision.missing] == [
        ((Material.ID_CARD,), "ZZ Art.12(1)"),
        ((Material.PHOTOS,), "ZZ Art.12(2)"),
        ((Material.RESIDENCE_PROOF,), "ZZ Art.12(3)"),
        ((Material.EMPLOYMENT_PROOF,), "ZZ Art.12(3)"),
    ]


@pytest.mark.parametrize(("make", "field"), [
    (lambda: Registration("411202", date(2024, 1, 1), date(2024, 1, 2), 10), "registered_on"),
    (lambda: Registration("41120", date(2024, 1, 2), date(2024, 1, 1), 10), "county_code"),
    (lambda: Registration("411202", date(2024, 1, 2), date(2024, 1, 1), -1), "intended_stay_days"),
    (lambda: ApplicationFacts(date(2024, 1, 1), date(2024, 1, 2), None), "birth_date"),
])
def test_bad_facts_name_the_field(make: object, field: str) -> None:
    with pytest.raises(RuleError) as info:
        make()  # type: ignore[operator]
    assert info.value.field == field


@pytest.mark.parametrize(("registered", "late"), [
    (date(2024, 3, 3), False), (date(2024, 3, 4), False), (date(2024, 3, 5), True)])
def test_zz_art10_short_stay_registers_within_3_days(registered: date, late: bool) -> None:
    decision = evaluate(ZZ_RULES, zz(date(2024, 3, 6), stay=10, registered=registered))
    assert [f.condition for f in decision.failures] == [Condition.STAY_TOO_SHORT]
    assert [w.condition for w in decision.warnings] == ([Condition.LATE_REGISTRATION] if late else [])
