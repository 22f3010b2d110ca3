"""The personalization pipeline on the in-process virtual card, both layouts, through the registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy.orm import Session, sessionmaker

from applets.fs import DedicatedFile, TransparentEf
from cardsvc.iso7816.fcp import LifeCycle
from cardsvc.issuance.endorse import EndorsementService
from cardsvc.issuance.jobs import IssuanceService, make_plan
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.personalize import Unit, personalize
from cardsvc.issuance.plan import Op, build_plan, put_key_command
from cardsvc.issuance.verify_after_write import WriteVerificationFailed, verify_after_write
from cardsvc.layout import Layout, builtin_layout
from cardsvc.layout.codec import encode_permit
from cardsvc.registry.jobs import job
from cardsvc.registry.lookup import card_by_number, permit_by_number
from cardsvc.registry.models import CardSync, Endorsement, JobState
from cardsvc.security.chip import CHIP_KEY_REF
from cardsvc.session import CardSession
from cardsvc.transport.errors import CardRemovedError
from cardsvc.verification.endorsements import verify_record
from simulator import TearingConnection
from simulator.transport import InProcessConnection
from tests.issuance_support import (
    ACTOR,
    Registry,
    blank_card,
    make_station_keys,
    register,
    request_for,
    sample_permit,
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_station_keys(tmp_path_factory.mktemp("keystore"))


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    r = Registry()
    yield r
    r.close()


@pytest.fixture
def factory(registry: Registry) -> sessionmaker[Session]:
    return registry.fresh()


@pytest.fixture(params=["zz", "smx"])
def layout(request: pytest.FixtureRequest) -> Layout:
    return builtin_layout(request.param)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def test_issue_records_only_a_verified_card(keys: StationKeys, factory: sessionmaker[Session], layout: Layout) -> None:
    permit = sample_permit(layout, 11, photo_bytes=15_000)
    register(factory, permit, layout)
    card = blank_card()
    session = CardSession(InProcessConnection(card))
    service = IssuanceService(factory, ACTOR, keys)
    outcome = service.issue(request_for(permit, layout), session)
    assert outcome.issued, outcome.error
    assert outcome.write is not None and outcome.verification is not None
    assert outcome.write.survey.blank and outcome.write.wiped == ()
    with factory() as s:
        row = card_by_number(s, permit.card_number)
        assert row.status == "active" and row.chip_public_key == outcome.verification.chip_public_key
        assert job(s, outcome.job_id).verified_digest == outcome.verification.image_digest
        assert permit_by_number(s, permit.permit_number).status == "active"
    # Lean plan: at most 1.2x the minimum for the layout, verification included.
    plan = make_plan(permit, layout, keys)
    sent = outcome.write.commands + outcome.verification.commands
    minimum = plan.minimum_apdus + outcome.verification.commands
    assert sent <= 1.2 * minimum, (sent, minimum)
    # The permit ADF is operational; the chip key stays on the card.
    adf = card.state.mf.child(layout.df("permit").fid)
    assert adf is not None and adf.lifecycle is LifeCycle.ACTIVATED
    assert any(name.endswith(f":{CHIP_KEY_REF:02X}") for name in card.state.objects)


def test_same_idempotency_key_returns_the_issued_job(keys: StationKeys, factory: sessionmaker[Session]) -> None:
    layout = builtin_layout("zz")
    permit = sample_permit(layout, 12)
    register(factory, permit, layout)
    service = IssuanceService(factory, ACTOR, keys)
    first = service.issue(request_for(permit, layout), CardSession(InProcessConnection(blank_card())))
    other = blank_card()
    again = service.issue(request_for(permit, layout), CardSession(InProcessConnection(other)))
    assert first.issued and again.issued and again.job_id == first.job_id and again.write is None
    assert other.state.mf.child(layout.df("permit").fid) is None  # the second card was not touched


def test_partial_card_is_wiped_and_redone(keys: StationKeys, factory: sessionmaker[Session], layout: Layout) -> None:
    permit = sample_permit(layout, 13)
    register(factory, permit, layout)
    plan = make_plan(permit, layout, keys)
    card = blank_card()
    session = CardSession(InProcessConnection(card))
    # Write everything up to (not including) the commit point: the last ACTIVATE.
    for step in plan.steps[:-1]:
        if step.apdu is not None and step.op is not Op.GENERATE_CHIP_KEY:
            session.send(step.apdu)
    with pytest.raises(WriteVerificationFailed) as info:
        verify_after_write(CardSession(InProcessConnection(card)), plan, layout, keys)
    assert info.value.check == "lifecycle"  # never genuine before the commit point
    outcome = IssuanceService(factory, ACTOR, keys).issue(request_for(permit, layout),
                                                          CardSession(InProcessConnection(card)))
    assert outcome.issued, outcome.error
    assert outcome.write is not None and outcome.write.wiped == ("permit",)
    assert outcome.write.survey.state("dir") is Unit.COMPLETE  # finished units are kept


def test_verify_after_write_is_the_counter_check_plus_the_byte_comparison(keys: StationKeys) -> None:
    """One implementation of the checks (cardsvc.verification): a byte the counter would call TAMPERED
    fails as "sod"; a card whose bytes are genuine but not this image's fails the station's "compare";
    a card pulled mid-read is a transport error, not a verdict."""
    layout = builtin_layout("zz")
    permit = sample_permit(layout, 18)
    plan = make_plan(permit, layout, keys)
    card = blank_card()
    write = personalize(CardSession(InProcessConnection(card)), plan, keys, permit.authority.code)
    card.power_on()
    done = verify_after_write(CardSession(InProcessConnection(card)), plan, layout, keys, written=write.contents)
    assert done.chip_public_key == write.chip_public_key and done.card_number == permit.card_number
    adf = card.state.mf.child(layout.df("permit").fid)
    assert isinstance(adf, DedicatedFile)
    visible = adf.child(layout.ef("visible").fid)
    assert isinstance(visible, TransparentEf)
    visible.data[8] ^= 0x01
    card.power_on()
    with pytest.raises(WriteVerificationFailed) as info:
        verify_after_write(CardSession(InProcessConnection(card)), plan, layout, keys, written=write.contents)
    assert info.value.check == "sod"
    visible.data[8] ^= 0x01
    other = make_plan(replace(permit, contact="13800000000"), layout, keys)  # same card, other image
    card.power_on()
    with pytest.raises(WriteVerificationFailed) as info:
        verify_after_write(CardSession(InProcessConnection(card)), other, layout, keys)
    assert info.value.check == "compare"
    card.power_on()
    with pytest.raises(CardRemovedError):
        verify_after_write(CardSession(TearingConnection(card, 3)), plan, layout, keys)


def test_committed_card_is_verified_not_rewritten(keys: StationKeys, factory: sessionmaker[Session]) -> None:
    """A crash after the card's commit point but before the registry heard of it: resume verifies."""
    layout = builtin_layout("smx")
    permit = sample_permit(layout, 14)
    register(factory, permit, layout)
    plan = make_plan(permit, layout, keys)
    card = blank_card()
    personalize(CardSession(InProcessConnection(card)), plan, keys, permit.authority.code)
    outcome = IssuanceService(factory, ACTOR, keys).issue(request_for(permit, layout),
                                                          CardSession(InProcessConnection(card)))
    assert outcome.issued and outcome.write is not None and outcome.write.survey.committed
    assert outcome.write.commands == 2  # survey only (EF.DIR, permit ADF): nothing written again


def test_image_that_does_not_fit_fails_the_job_for_good(keys: StationKeys, factory: sessionmaker[Session]) -> None:
    layout = builtin_layout("zz")
    permit = sample_permit(layout, 15)
    register(factory, permit, layout)
    service = IssuanceService(factory, ACTOR, keys)
    bad = replace(permit, name="王" * 200)  # EF.VISIBLE holds 64 bytes of name
    outcome = service.issue(request_for(bad, layout), CardSession(InProcessConnection(blank_card())))
    assert outcome.state is JobState.FAILED and outcome.error and "name" in outcome.error


def test_plan_loads_keys_only_where_rules_name_them(keys: StationKeys) -> None:
    layout = builtin_layout("zz")
    permit = sample_permit(layout, 16)
    plan = make_plan(permit, layout, keys)
    by_df: dict[str, set[int]] = {}
    for k in plan.keys:
        by_df.setdefault(k.df, set()).add(k.ref)
    assert by_df["permit"] == {1, 2, 3}  # issuer, endorsement, counter
    assert by_df["education"] == {1, 4}
    assert all("value" not in repr(k) and k.value.hex() not in repr(plan) for k in plan.keys)
    assert put_key_command(plan.keys[0]).p2 == 0x80 | plan.keys[0].ref
    assert [s.op for s in plan.steps][-1] is Op.ACTIVATE and plan.steps[-1].target == "permit"
    # Lean: one SELECT MF between ADFs and one before the activations, no other SELECT; one whole-file
    # UPDATE BINARY per non-empty EF; EF.SOD is the last write, the ADF activations come after it.
    ops = [s.op for s in plan.steps]
    assert ops.count(Op.SELECT_MF) == len(layout.dfs)
    updates = [s.target for s in plan.steps if s.op is Op.UPDATE]
    assert len(updates) == len(set(updates)) == sum(1 for f in plan.image.efs() if f.content and f.name != "atr")
    assert all(s.apdu is not None and s.apdu.p1 == s.apdu.p2 == 0 for s in plan.steps if s.op is Op.UPDATE)
    # After EF.SOD: department activations, the issuer key into the MF, the MF's activation, the commit.
    last_write = max(i for i, s in enumerate(plan.steps) if s.op not in (Op.SELECT_MF, Op.ACTIVATE)
                     and s.unit != "mf")
    assert ops[last_write] is Op.WRITE_SOD and set(ops[last_write + 1:]) == {Op.SELECT_MF, Op.ACTIVATE, Op.PUT_KEY}
    assert [(s.op, s.unit) for s in plan.steps[-3:]] == [(Op.PUT_KEY, "mf"), (Op.ACTIVATE, "mf"),
                                                         (Op.ACTIVATE, "permit")]
    assert by_df["mf"] == {1} and put_key_command(plan.keys[-1], df_specific=False).p2 == 1  # MF scope
    with pytest.raises(ValueError, match="layout"):
        build_plan(encode_permit(sample_permit(builtin_layout("smx"), 1), builtin_layout("smx")), layout, {})


def test_endorsement_reaches_card_and_registry(keys: StationKeys, factory: sessionmaker[Session],
                                               layout: Layout) -> None:
    permit = sample_permit(layout, 17, endorsements=0)
    register(factory, permit, layout)
    clock = Clock()
    card = blank_card()
    outcome = IssuanceService(factory, ACTOR, keys, clock=clock).issue(
        request_for(permit, layout), CardSession(InProcessConnection(card)))
    assert outcome.issued, outcome.error
    clock.now += dt.timedelta(days=355)  # inside the window before the first anniversary
    service = EndorsementService(factory, ACTOR, keys, clock=clock)
    address = f"{layout.layout.city}新址路8号"
    result = service.endorse(permit.permit_number, permit.card_number, layout,
                             CardSession(InProcessConnection(card)), {"residence_address": address})
    assert result.written == (1,) and result.on_card_before == 0
    session = CardSession(InProcessConnection(card))
    session.select_aid(layout.df("permit").aid)
    records = session.read_records(sfi=layout.ef("endorse").sfi)
    assert len(records) == 1
    code = permit_by_number_code(factory, permit.permit_number)
    e = verify_record(records[0], 1, permit.card_number, layout, keys.trust(), dt.datetime.now(dt.UTC))
    assert e.residence_address == address and e.authority.code == code
    with factory() as s:
        assert s.query(Endorsement).one().card_sync == CardSync.WRITTEN.value
    again = service.sync(permit.card_number, layout, CardSession(InProcessConnection(card)))
    assert again.written == () and again.on_card_before == 1  # idempotent


def permit_by_number_code(factory: sessionmaker[Session], permit_number: str) -> str:
    with factory() as s:
        return permit_by_number(s, permit_number).county_code


def test_address_change_is_an_endorsement_on_the_card(keys: StationKeys, factory: sessionmaker[Session]) -> None:
    """ZZ Art.14: moving within the city is registered as a record with the new address and county."""
    layout = builtin_layout("zz")
    permit = sample_permit(layout, 18, endorsements=0)
    register(factory, permit, layout)
    clock = Clock()
    card = blank_card()
    assert IssuanceService(factory, ACTOR, keys, clock=clock).issue(
        request_for(permit, layout), CardSession(InProcessConnection(card))).issued
    clock.now += dt.timedelta(days=40)
    new_county = next(a.code for a in layout.authorities if a.code != permit.authority.code)
    service = EndorsementService(factory, ACTOR, keys, clock=clock)
    row = service.change_address(permit.permit_number, new_county=new_county,
                                 moved_on=clock.now.date() - dt.timedelta(days=2),
                                 data={"residence_address": "郑州市新区𠈌路9号"})
    assert row is not None and row.county_code == new_county
    result = service.sync(permit.card_number, layout, CardSession(InProcessConnection(card)))
    assert result.written == (1,)
    session = CardSession(InProcessConnection(card))
    session.select_aid(layout.df("permit").aid)
    record = session.read_records(sfi=layout.ef("endorse").sfi)[0]
    e = verify_record(record, 1, permit.card_number, layout, keys.trust(), dt.datetime.now(dt.UTC))
    assert e.authority.code == new_county and e.residence_address == "郑州市新区𠈌路9号"


def test_crashed_station_leaves_a_retryable_job(keys: StationKeys, factory: sessionmaker[Session]) -> None:
    """A station that dies mid-write leaves the job WRITING; `recover` marks it retryable, a retry on the
    same card wipes the partial ADF and issues."""
    layout = builtin_layout("smx")
    permit = sample_permit(layout, 19)
    register(factory, permit, layout)
    clock = Clock()
    service = IssuanceService(factory, ACTOR, keys, clock=clock)
    job_id = service.start(request_for(permit, layout))
    card = blank_card()

    class Crash(Exception):
        pass

    def crash(done: int, total: int, what: str) -> None:
        if done == 40:
            raise Crash(what)  # not a CardError: the process would die here

    with pytest.raises(Crash):
        service.run(job_id, request_for(permit, layout), CardSession(InProcessConnection(card)), progress=crash)
    assert service.state(job_id)[0] is JobState.WRITING
    assert service.recover(dt.timedelta(minutes=10)) == []  # not stale yet
    clock.now += dt.timedelta(minutes=11)
    assert service.recover(dt.timedelta(minutes=10)) == [job_id]
    assert service.state(job_id)[0] is JobState.FAILED_RETRYABLE
    outcome = service.run(job_id, request_for(permit, layout), CardSession(InProcessConnection(card)))
    assert outcome.issued and outcome.write is not None and outcome.write.wiped  # the torn unit was redone


def test_short_apdu_reader_chains_the_same_plan(keys: StationKeys, factory: sessionmaker[Session]) -> None:
    """A reader without extended length: the 15 KB photo goes as chained short commands, same plan."""
    layout = builtin_layout("zz")
    permit = sample_permit(layout, 20, photo_bytes=15_000)
    register(factory, permit, layout)
    card = blank_card()
    outcome = IssuanceService(factory, ACTOR, keys).issue(
        request_for(permit, layout), CardSession(InProcessConnection(card), extended=False))
    assert outcome.issued, outcome.error
    # The plan plus the survey of a blank card: SELECT EF.DIR (absent), SELECT MF (its state and rules).
    assert outcome.write is not None and outcome.write.commands == len(make_plan(permit, layout, keys)) + 2
