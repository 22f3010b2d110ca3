"""Power lost at every APDU of an issuance and of an endorsement, both layouts (design §7).

For APDU index i of a full run, the card loses power while processing command i: a command that writes
is torn in the middle of its first EEPROM write (a prefix of the pages programmed), any other command is
answered into a dead card (its effect, volatile, is gone). After each tear:
- the card verifies genuine only if it passed its commit point, and then it is complete;
- the registry shows the card issued only if it was verified (never after a tear);
- a retry on the same card with the same job completes it, and the result verifies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cardsvc.iso7816.fcp import LifeCycle
from cardsvc.issuance.endorse import EndorsementService
from cardsvc.issuance.jobs import IssuanceService, make_plan
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.verify_after_write import WriteVerificationFailed, verify_after_write
from cardsvc.layout import Layout, builtin_layout
from cardsvc.permit.model import Permit
from cardsvc.registry.lookup import card_by_number, permit_by_number
from cardsvc.registry.models import CardSync, Endorsement, JobState
from cardsvc.rules.endorsement import anniversary
from cardsvc.session import CardSession
from cardsvc.transport.errors import CardRemovedError
from cardsvc.verification.endorsements import verify_record
from cardsvc.verification.verdict import Check, Outcome
from cardsvc.verification.verifier import verify_card
from simulator import TearingConnection, VirtualCard, When
from simulator.transport import InProcessConnection
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


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_station_keys(tmp_path_factory.mktemp("keystore"))


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    r = Registry()
    yield r
    r.close()


def committed(card: VirtualCard, layout: Layout) -> bool:
    adf = card.state.mf.child(layout.df("permit").fid)
    return adf is not None and adf.lifecycle is LifeCycle.ACTIVATED


AUTHENTICITY = {Check.READ, Check.PASSIVE_AUTH, Check.CHIP_AUTH}


def genuine(card: VirtualCard, layout: Layout, keys: StationKeys, permit: Permit) -> bool:
    """Whatever is on the card, judged twice: by the counter verifier (cardsvc.verification: read, EF.SOD,
    chip) and by the station's verify-after-write against the permit it was meant for. They must agree."""
    card.power_on()
    verdict = verify_card(InProcessConnection(card), layout, keys.trust(), None, keys=keys.card_key)
    counter = {c.check for c in verdict.checks if c.outcome is Outcome.PASS} >= AUTHENTICITY
    card.power_on()
    plan = make_plan(permit, layout, keys)
    try:
        verify_after_write(CardSession(InProcessConnection(card)), plan, layout, keys)
    except WriteVerificationFailed:
        station = False
    else:
        station = True
    assert counter == station, (verdict.summary(), station)
    return station


@pytest.mark.parametrize(("layout_id", "when"), [("zz", When.MIDDLE), ("smx", When.MIDDLE), ("zz", When.AFTER)])
def test_power_lost_at_every_issuance_apdu(keys: StationKeys, registry: Registry, layout_id: str, when: When) -> None:
    """MIDDLE: the command's first EEPROM write is torn; AFTER: it completes but the answer is lost (one
    layout is enough for that: the plan's shape is the same, and it keeps the campaign under a minute)."""
    layout = builtin_layout(layout_id)
    factory = registry.fresh()
    # Reference run: how many commands a whole issuance takes (survey, write, verify).
    base = sample_permit(layout, 1000)
    permit = variant(base, layout, 1)
    register(factory, permit, layout)
    reference = TearingConnection(blank_card())
    assert IssuanceService(factory, ACTOR, keys).issue(request_for(permit, layout), CardSession(reference)).issued
    total = reference.sent
    assert total > 40
    for cut in range(total):
        permit = variant(base, layout, 2 + cut)
        register(factory, permit, layout)
        card = blank_card()
        service = IssuanceService(factory, ACTOR, keys)
        torn = service.issue(request_for(permit, layout), CardSession(TearingConnection(card, cut, when)))
        assert torn.state is JobState.FAILED_RETRYABLE, (cut, torn)
        with factory() as s:
            assert card_by_number(s, permit.card_number).status == "pending", cut
            assert permit_by_number(s, permit.permit_number).status == "pending", cut
        is_genuine = genuine(card, layout, keys, permit)
        assert is_genuine == committed(card, layout), f"command {cut}: genuine={is_genuine}"
        card.power_on()
        retry = service.issue(request_for(permit, layout), CardSession(InProcessConnection(card)))
        assert retry.issued, (cut, retry.error)
        assert retry.attempts == 2
        assert genuine(card, layout, keys, permit), cut


def issued_for_endorsement(keys: StationKeys, factory: sessionmaker[Session], layout: Layout, permit: Permit,
                           clock: Clock) -> VirtualCard:
    """An issued card, and the registry clock moved ten days before its first anniversary."""
    register(factory, permit, layout)
    card = blank_card()
    assert IssuanceService(factory, ACTOR, keys, clock=clock).issue(
        request_for(permit, layout), CardSession(InProcessConnection(card))).issued
    with factory() as s:
        row = permit_by_number(s, permit.permit_number)
        due = anniversary(row.anchor_on, row.years) - dt.timedelta(days=10)
    clock.now = dt.datetime(due.year, due.month, due.day, 4, tzinfo=dt.UTC)
    return card


@pytest.mark.parametrize("when", [When.MIDDLE, When.AFTER])
@pytest.mark.parametrize("layout_id", ["zz", "smx"])
def test_power_lost_at_every_endorsement_apdu(keys: StationKeys, registry: Registry, layout_id: str,
                                              when: When) -> None:
    layout = builtin_layout(layout_id)
    factory = registry.fresh()
    base = sample_permit(layout, 3000, endorsements=0)
    sfi = layout.ef("endorse").sfi
    # Reference: the commands of one endorsement written to a card.
    clock = Clock()
    card = issued_for_endorsement(keys, factory, layout, variant(base, layout, 1), clock)
    service = EndorsementService(factory, ACTOR, keys, clock=clock)
    reference = TearingConnection(card)
    first = variant(base, layout, 1)
    result = service.endorse(first.permit_number, first.card_number, layout, CardSession(reference),
                             {"residence_address": f"{layout.layout.city}路1号"})
    assert result.written == (1,) and reference.sent >= 5
    for cut in range(reference.sent):
        permit = variant(base, layout, 100 + cut)
        clock = Clock()
        card = issued_for_endorsement(keys, factory, layout, permit, clock)
        service = EndorsementService(factory, ACTOR, keys, clock=clock)
        with pytest.raises(CardRemovedError):
            service.endorse(permit.permit_number, permit.card_number, layout,
                            CardSession(TearingConnection(card, cut, when)),
                            {"residence_address": f"{layout.layout.city}路{cut}号"})
        card.power_on()
        session = CardSession(InProcessConnection(card))
        session.select_aid(layout.df("permit").aid)
        records = session.read_records(sfi=sfi)
        assert len(records) <= 1, cut
        with factory() as s:
            row = s.query(Endorsement).filter(Endorsement.card_id == card_by_number(s, permit.card_number).id).one()
            code = permit_by_number(s, permit.permit_number).county_code
            # The registry says "written" only once the card holds the record.
            assert row.card_sync != CardSync.WRITTEN.value or records, cut
        for number, record in enumerate(records, start=1):  # a record on the card is whole and verifies
            e = verify_record(record, number, permit.card_number, layout, keys.trust(), dt.datetime.now(dt.UTC))
            assert e.authority.code == code, cut
        repaired = service.sync(permit.card_number, layout, CardSession(InProcessConnection(card)))
        assert repaired.on_card_before + len(repaired.written) == 1, cut
        with factory() as s:
            row = s.query(Endorsement).filter(Endorsement.card_id == card_by_number(s, permit.card_number).id).one()
            assert row.card_sync == CardSync.WRITTEN.value, cut


@pytest.mark.parametrize("when", [When.MIDDLE, When.AFTER])
def test_power_lost_at_every_change_record_apdu(keys: StationKeys, registry: Registry, when: When) -> None:
    """ZZ Art.14 change registration of the service place, torn at every APDU of its write: the card holds
    the whole signed record or none, the registry says written only once the card holds it, and a retried
    sync completes it (APPEND RECORD is atomic on the card)."""
    from datetime import timedelta

    from cardsvc.registry.models import ChangeRecord
    from cardsvc.verification.endorsements import verify_change_record

    layout = builtin_layout("zz")
    changes = layout.ef("changes")
    factory = registry.fresh()
    base = sample_permit(layout, 4000, endorsements=0)

    def record(service: EndorsementService, permit: Permit, clock: Clock) -> None:
        service.change_service_place(permit.permit_number, service_place="郑州𠈌园物流有限公司",
                                     changed_on=clock.now.date() - timedelta(days=2), layout=layout)

    clock = Clock()
    card = issued_for_endorsement(keys, factory, layout, variant(base, layout, 1), clock)
    service = EndorsementService(factory, ACTOR, keys, clock=clock)
    first = variant(base, layout, 1)
    record(service, first, clock)
    reference = TearingConnection(card)
    result = service.sync(first.card_number, layout, CardSession(reference))
    assert result.changes_written == (1,) and reference.sent >= 5
    for cut in range(reference.sent):
        permit = variant(base, layout, 200 + cut)
        clock = Clock()
        card = issued_for_endorsement(keys, factory, layout, permit, clock)
        service = EndorsementService(factory, ACTOR, keys, clock=clock)
        record(service, permit, clock)
        with pytest.raises(CardRemovedError):
            service.sync(permit.card_number, layout, CardSession(TearingConnection(card, cut, when)))
        card.power_on()
        session = CardSession(InProcessConnection(card))
        session.select_aid(layout.df("permit").aid)
        on_card = session.read_records(sfi=changes.sfi)
        assert len(on_card) <= 1, cut
        with factory() as s:
            row = s.query(ChangeRecord).filter(ChangeRecord.card_id == card_by_number(s, permit.card_number).id).one()
            assert row.card_sync != CardSync.WRITTEN.value or on_card, cut
        for number, raw in enumerate(on_card, start=1):  # a record on the card is whole and verifies
            c = verify_change_record(raw, number, permit.card_number, layout, keys.trust(), dt.datetime.now(dt.UTC))
            assert c.service_place == "郑州𠈌园物流有限公司", cut
        repaired = service.sync(permit.card_number, layout, CardSession(InProcessConnection(card)))
        assert len(on_card) + len(repaired.changes_written) == 1, cut
        with factory() as s:
            row = s.query(ChangeRecord).filter(ChangeRecord.card_id == card_by_number(s, permit.card_number).id).one()
            assert row.card_sync == CardSync.WRITTEN.value, cut
