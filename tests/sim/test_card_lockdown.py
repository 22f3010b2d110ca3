"""An issued card is locked (design §4: writes after personalization only under SM with per-card keys).

The card stock's MF carries rules naming the issuer key and is delivered in INITIALISATION;
personalization loads the per-card issuer key into the MF and activates it just before the commit point.
After that nothing can be created in or deleted from the MF, nor EF.DIR changed, without the issuer key
under secure messaging; with it the station can wipe and issue again. The chip key pair belongs to the
permit application and cannot be made again once the application is activated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from applets.fs import DedicatedFile
from cardsvc.iso7816.apdu import CommandApdu, ResponseApdu
from cardsvc.iso7816.commands import delete_file, select_mf
from cardsvc.iso7816.fcp import ALWAYS, NEVER, AccessCondition, DfOp, EfOp, Fcp, FileStructure, LifeCycle
from cardsvc.iso7816.fcp import SecurityAttributes as SA
from cardsvc.iso7816.sw import SW
from cardsvc.issuance.jobs import IssuanceService, make_plan
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.personalize import PersonalizationError, as_issuer, mf_keys, personalize, top_level
from cardsvc.issuance.plan import Plan
from cardsvc.issuance.verify_after_write import verify_after_write
from cardsvc.layout import Layout, builtin_layout
from cardsvc.registry.models import JobState
from cardsvc.security.chip import CHIP_KEY_REF, generate_key_pair_command
from cardsvc.session import CardSession
from cardsvc.verification.verdict import Check, Outcome
from cardsvc.verification.verifier import verify_card
from simulator import TearingConnection, VirtualCard, When
from simulator.card import issuer_mf_security
from simulator.transport import InProcessConnection
from tests.card_support import grant
from tests.issuance_support import (
    ACTOR,
    Registry,
    blank_card,
    make_station_keys,
    register,
    request_for,
    sample_permit,
    variant,
)

EF_DIR = 0x2F00
EF_DIR_SFI = 30
AUTHORITY: dict[int, str] = {}  # seed → issuing authority of the sample permit


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_station_keys(tmp_path_factory.mktemp("keystore") / "store")


@pytest.fixture(scope="module")
def factory() -> Iterator[sessionmaker[Session]]:
    registry = Registry()
    yield registry.fresh()
    registry.close()


@pytest.fixture(scope="module")
def layout() -> Layout:
    return builtin_layout("zz")


def issued(keys: StationKeys, factory: sessionmaker[Session], layout: Layout, seed: int) -> tuple[VirtualCard, Plan]:
    permit = sample_permit(layout, seed)
    AUTHORITY[seed] = permit.authority.code
    register(factory, permit, layout)
    card = blank_card()
    outcome = IssuanceService(factory, ACTOR, keys).issue(request_for(permit, layout),
                                                          CardSession(InProcessConnection(card)))
    assert outcome.issued, outcome.error
    card.power_on()
    return card, make_plan(permit, layout, keys)


def at_mf(card: VirtualCard) -> CardSession:
    session = CardSession(InProcessConnection(card))
    session.send(select_mf())
    return session


def create_in_mf() -> CommandApdu:
    return CommandApdu(0x00, 0xE0, 0x00, 0x00, Fcp(0x5F00, FileStructure.TRANSPARENT, size=16).encode())


def update_dir() -> CommandApdu:  # UPDATE RECORD 1 of EF.DIR by SFI (ISO 7816-4 §7.3.3: P2 = SFI << 3 | 4)
    return CommandApdu(0x00, 0xDC, 0x01, (EF_DIR_SFI << 3) | 0x04, bytes.fromhex("6106 4F04 D1560000"))


def genuine(card: VirtualCard, layout: Layout, keys: StationKeys) -> bool:
    """The counter verifier's authenticity checks all pass (status is not asked: no status source)."""
    card.power_on()
    verdict = verify_card(InProcessConnection(card), layout, keys.trust(), None, keys=keys.card_key)
    card.power_on()
    passed = {c.check for c in verdict.checks if c.outcome is Outcome.PASS}
    return passed >= {Check.READ, Check.PASSIVE_AUTH, Check.CHIP_AUTH, Check.DATA}


def test_issued_card_refuses_mf_changes_without_the_issuer_key(keys: StationKeys, factory: sessionmaker[Session],
                                                               layout: Layout) -> None:
    card, _ = issued(keys, factory, layout, 1)
    mf = card.state.mf
    assert mf.lifecycle is LifeCycle.ACTIVATED and mf.security is not None
    session = at_mf(card)
    permit_fid = layout.df("permit").fid
    refused = {
        "DELETE FILE permit ADF": delete_file(permit_fid),
        "DELETE FILE EF.DIR": delete_file(EF_DIR),
        "CREATE FILE in the MF": create_in_mf(),
        "UPDATE RECORD EF.DIR": update_dir(),
        "APPEND RECORD EF.DIR": CommandApdu(0x00, 0xE2, 0x00, EF_DIR_SFI << 3, bytes.fromhex("6100")),
        "DEACTIVATE FILE permit ADF": CommandApdu(0x00, 0x04, 0x00, 0x00, permit_fid.to_bytes(2, "big")),
        "TERMINATE DF MF": CommandApdu(0x00, 0xE6, 0x00, 0x00),
    }
    for what, command in refused.items():
        assert session.pipeline.send(command).sw == SW.SECURITY_STATUS_NOT_SATISFIED, what
        session.send(select_mf())
    # Another card's issuer key does not open it either (keys are diversified per card).
    _, other = issued(keys, factory, layout, 2)
    with pytest.raises(PersonalizationError, match="issuer key"), as_issuer(session, mf_keys(other)[0]):
        pass
    session.send(select_mf())
    assert mf.child(permit_fid) is not None and mf.child(0x5F00) is None
    assert genuine(card, layout, keys)


def test_issuer_key_under_sm_opens_the_mf(keys: StationKeys, factory: sessionmaker[Session], layout: Layout) -> None:
    card, plan = issued(keys, factory, layout, 3)
    session = at_mf(card)
    issuer = mf_keys(plan)[0]
    with as_issuer(session, issuer):
        assert session.pipeline.send(update_dir()).sw == SW.OK
        assert session.pipeline.send(create_in_mf()).sw == SW.OK
    session.send(select_mf())
    with as_issuer(session, issuer):
        assert session.pipeline.send(delete_file(layout.df("permit").fid)).sw == SW.OK
    assert card.state.mf.child(layout.df("permit").fid) is None and card.state.mf.child(0x5F00) is not None
    # A plain command in between ends the SM session: the next MF change is refused again.
    session.send(select_mf())
    assert session.pipeline.send(delete_file(0x5F00)).sw == SW.SECURITY_STATUS_NOT_SATISFIED


def test_wiped_card_with_an_active_mf_is_issued_again(keys: StationKeys, factory: sessionmaker[Session],
                                                     layout: Layout) -> None:
    """The re-issue path: the station wipes every application under SM, then personalizes again; the MF
    stays active throughout, so each CREATE FILE in it goes under SM too."""
    card, plan = issued(keys, factory, layout, 4)
    session = at_mf(card)
    with as_issuer(session, mf_keys(plan)[0]):
        for f in reversed(top_level(plan)):
            session.send(delete_file(f.fid), context=f"DELETE {f.name}")
    assert [child.fid for child in card.state.mf.children.values()] == [0x2F01]  # only EF.ATR is left
    result = personalize(CardSession(InProcessConnection(card)), plan, keys, AUTHORITY[4])
    assert result.survey.blank and result.survey.mf_active
    card.power_on()
    verify_after_write(CardSession(InProcessConnection(card)), plan, layout, keys, written=result.contents)
    assert genuine(card, layout, keys)


def test_retry_after_the_mf_was_activated_wipes_under_sm(keys: StationKeys, factory: sessionmaker[Session],
                                                        layout: Layout) -> None:
    """Torn after the MF's activation, before the commit point: the retry must delete the partial permit
    ADF and create it again in a locked MF, with the issuer key."""
    permit = sample_permit(layout, 5)
    register(factory, permit, layout)
    plan = make_plan(permit, layout, keys)
    card = blank_card()
    session = CardSession(InProcessConnection(card))
    personalize_until_commit(session, plan)
    assert card.state.mf.lifecycle is LifeCycle.ACTIVATED
    assert not genuine(card, layout, keys)
    outcome = IssuanceService(factory, ACTOR, keys).issue(request_for(permit, layout),
                                                          CardSession(InProcessConnection(card)))
    assert outcome.issued, outcome.error
    assert outcome.write is not None and outcome.write.wiped == ("permit",) and outcome.write.survey.mf_active
    assert genuine(card, layout, keys)


@pytest.mark.parametrize("when", [When.MIDDLE, When.AFTER])
def test_retry_under_sm_torn_again_still_finishes(keys: StationKeys, factory: sessionmaker[Session], layout: Layout,
                                                  when: When) -> None:
    """The SM part of a retry on an active MF — survey, authentication, DELETE FILE, authentication again,
    CREATE FILE of the permit ADF and what follows it — torn at each of its first commands: the card is
    never genuine before the commit point, and one more retry finishes it."""
    base = sample_permit(layout, 7 if when is When.MIDDLE else 8)
    service = IssuanceService(factory, ACTOR, keys)
    for cut in range(17):  # survey (9), GET CHALLENGE, MUTUAL AUTH, DELETE, SELECT MF, again, CREATE, …
        permit = variant(base, layout, (100 if when is When.MIDDLE else 200) + cut)
        register(factory, permit, layout)
        card = blank_card()
        personalize_until_commit(CardSession(InProcessConnection(card)), make_plan(permit, layout, keys))
        torn = service.issue(request_for(permit, layout), CardSession(TearingConnection(card, cut, when)))
        assert torn.state is JobState.FAILED_RETRYABLE, (cut, torn)
        assert not genuine(card, layout, keys), cut
        retry = service.issue(request_for(permit, layout), CardSession(InProcessConnection(card)))
        assert retry.issued, (cut, retry.error)
        assert genuine(card, layout, keys), cut


def personalize_until_commit(session: CardSession, plan: Plan) -> None:
    """Every step but the last (the permit ADF's ACTIVATE); the chip key and EF.SOD are left empty."""
    for step in plan.steps[:-1]:
        if step.apdu is not None:
            session.send(step.apdu, context=step.op.value)


def test_chip_key_cannot_be_generated_again(keys: StationKeys, factory: sessionmaker[Session], layout: Layout) -> None:
    card, plan = issued(keys, factory, layout, 6)
    before = dict(card.state.objects)
    session = CardSession(InProcessConnection(card))
    session.select_aid(layout.df("permit").aid)
    assert session.pipeline.send(generate_key_pair_command(CHIP_KEY_REF)).sw == SW.CONDITIONS_OF_USE_NOT_SATISFIED
    # Not with the issuer key under SM either, and not as a card-global (MF) key.
    issuer = next(k for k in plan.keys if k.df == "permit" and k.name == "issuer")
    with as_issuer(session, issuer):
        response: ResponseApdu = session.pipeline.send(generate_key_pair_command(CHIP_KEY_REF))
        assert response.sw == SW.CONDITIONS_OF_USE_NOT_SATISFIED
    session.send(select_mf())
    assert session.pipeline.send(generate_key_pair_command(CHIP_KEY_REF, df_specific=False)).sw in (
        SW.CONDITIONS_OF_USE_NOT_SATISFIED, SW.SECURITY_STATUS_NOT_SATISFIED)
    assert card.state.objects == before  # no key object changed or added
    assert any(name.startswith(f"key:3F00/{layout.df('permit').fid:04X}:") and name.endswith(f":{CHIP_KEY_REF:02X}")
               for name in card.state.objects)  # the chip key lives in the permit ADF
    assert genuine(card, layout, keys)


def test_chip_key_is_made_only_while_its_application_is_personalized() -> None:
    card = VirtualCard.blank()
    card.power_on()
    session = CardSession(InProcessConnection(card))
    aid = bytes.fromhex("D1560000990001")
    session.create_file(Fcp(0x1001, FileStructure.DF, df_name=aid, lifecycle=LifeCycle.INITIALISATION,
                            security=SA({DfOp.CREATE_EF: ALWAYS, DfOp.ACTIVATE: ALWAYS})))
    assert session.pipeline.send(generate_key_pair_command(CHIP_KEY_REF)).sw == SW.OK
    session.send(select_mf())
    session.activate_file(0x1001)
    session.select_aid(aid)
    # The DF's CREATE_EF rule is ALWAYS, yet an activated application keeps the key it was born with.
    assert session.pipeline.send(generate_key_pair_command(CHIP_KEY_REF)).sw == SW.CONDITIONS_OF_USE_NOT_SATISFIED


@pytest.mark.parametrize(("parent_rule", "own_rule", "key", "sw"), [
    (AccessCondition(key_ref=1), NEVER, None, SW.SECURITY_STATUS_NOT_SATISFIED),
    (AccessCondition(key_ref=1), NEVER, 1, SW.OK),  # the parent's DELETE FILE (child) rule suffices
    (NEVER, ALWAYS, None, SW.OK),  # so does the file's own DELETE FILE (self) rule
    (NEVER, None, None, SW.SECURITY_STATUS_NOT_SATISFIED),  # no own rule listed: never
])
def test_delete_file_takes_the_parent_or_the_own_rule(parent_rule: AccessCondition, own_rule: AccessCondition | None,
                                                      key: int | None, sw: int) -> None:
    card = VirtualCard.blank(SA({DfOp.CREATE_DF: ALWAYS, DfOp.DELETE_CHILD: parent_rule}), security=False)
    card.power_on()
    session = CardSession(InProcessConnection(card))
    own = SA({} if own_rule is None else {DfOp.DELETE: own_rule})
    session.create_file(Fcp(0x1001, FileStructure.DF, df_name=bytes.fromhex("D15600009901"), security=own))
    session.send(select_mf())
    if key is not None:
        grant(card, key)
    assert session.pipeline.send(delete_file(0x1001)).sw == sw
    assert (card.state.mf.child(0x1001) is None) == (sw == SW.OK)


def test_blank_card_stock_is_open_until_its_mf_is_activated(tmp_path: Path) -> None:
    card = VirtualCard.blank()
    assert card.state.mf.lifecycle is LifeCycle.INITIALISATION
    assert card.state.mf.security is not None
    rule = card.state.mf.security.condition(DfOp.DELETE_CHILD)
    assert rule.key_ref == 1 and rule.sm
    assert card.state.mf.security.condition(DfOp.DELETE).never
    card.power_on()
    session = CardSession(InProcessConnection(card))
    session.create_file(Fcp(0x5F00, FileStructure.TRANSPARENT, size=4, security=SA({EfOp.READ: ALWAYS})))
    session.send(select_mf())
    session.delete_file(0x5F00)  # personalization may undo its own work while the MF is not active
    card.save(tmp_path / "blank.json")  # the MF's state and rules survive a saved image
    again = VirtualCard.load(tmp_path / "blank.json")
    assert isinstance(again.state.mf, DedicatedFile) and again.state.mf.lifecycle is LifeCycle.INITIALISATION
    assert again.state.mf.security == card.state.mf.security


@pytest.mark.parametrize("layout_id", ["zz", "smx"])
def test_layout_mf_rules_are_the_card_stock_and_other_stock_is_refused(keys: StationKeys, layout_id: str) -> None:
    layout = builtin_layout(layout_id)
    plan = make_plan(sample_permit(layout, 9), layout, keys)
    assert plan.image.by_path((0x3F00,)).fcp.security == issuer_mf_security()
    # Card stock whose MF names another issuer key reference: refused before anything is written.
    card = VirtualCard.blank(issuer_mf_security(key_ref=5), mf_lifecycle=LifeCycle.INITIALISATION)
    card.power_on()
    with pytest.raises(PersonalizationError, match="wrong card stock"):
        personalize(CardSession(InProcessConnection(card)), plan, keys, layout.authorities[0].code)
    assert [child.fid for child in card.state.mf.children.values()] == [0x2F01]
