"""Design §7 / issue 13 crash injection: the station dies at every APDU of an issuance and at every
registry step (before and after its commit); a restarted station resumes the job on a NEW blank card
(the dangerous case: the first card may already be genuine and gone). Afterwards no card anywhere —
the abandoned one or the new one — verifies `genuine_valid`, online or against the registry's status
list, unless the registry holds that card number active for exactly that card's chip.

The "process death" is simulated in-process: from the kill on, the dead station sends no APDU and
writes nothing to the registry (not even the release of its claim, which its `finally` would try).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy.orm import Session, sessionmaker

from applets.fs import DedicatedFile, TransparentEf
from cardsvc.issuance.jobs import IssuanceService
from cardsvc.issuance.keys import StationKeys
from cardsvc.layout import Layout, builtin_layout
from cardsvc.registry.errors import NotFoundError
from cardsvc.registry.lookup import card_by_number
from cardsvc.registry.models import Card
from cardsvc.session import CardSession
from cardsvc.status_list import ListStatus, StatusAnswer, StatusSource
from cardsvc.verification.verifier import verify_card
from simulator import VirtualCard
from simulator.transport import InProcessConnection
from tests.issuance_support import (
    ACTOR,
    Registry,
    blank_card,
    card_number_on,
    make_station_keys,
    register,
    request_for,
    sample_permit,
    variant,
)


class Killed(BaseException):
    """The station process is gone (BaseException: nothing in the service may catch it)."""


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(milliseconds=1)
        return self.now


class DyingConnection(InProcessConnection):
    """The card gets command `kill` in full, then the station dies; nothing is sent after that."""

    def __init__(self, card: VirtualCard, kill: int | None) -> None:
        super().__init__(card)
        self.kill, self.sent = kill, 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        index = self.sent
        self.sent += 1
        if self.kill is not None and index > self.kill:
            raise Killed(f"APDU {index} after the kill")
        response = super().transmit(apdu)
        if index == self.kill:
            raise Killed(f"killed after APDU {index}")
        return response


class DyingRegistry:
    """A session factory whose transaction number `kill` dies before (or just after) its commit; the dead
    process opens no transaction afterwards."""

    def __init__(self, factory: sessionmaker[Session], kill: int | None, *, after_commit: bool) -> None:
        self.factory, self.kill, self.after_commit = factory, kill, after_commit
        self.steps = 0
        self.dead = False

    def __call__(self) -> Session:
        if self.dead:
            raise Killed("registry read after the kill")
        return self.factory()

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        if self.dead:
            raise Killed("registry write after the kill")
        index = self.steps
        self.steps += 1
        if index != self.kill:
            with self.factory.begin() as s:
                yield s
            return
        self.dead = True
        if self.after_commit:
            with self.factory.begin() as s:
                yield s
            raise Killed(f"killed after registry step {index}")
        with self.factory() as s:
            yield s
            s.rollback()
        raise Killed(f"killed before the commit of registry step {index}")


def chip_key_on(card: VirtualCard, layout: Layout) -> bytes | None:
    adf = card.state.mf.child(layout.df("permit").fid)
    if not isinstance(adf, DedicatedFile):
        return None
    ef = adf.child(layout.ef("chipkey").fid)
    if not isinstance(ef, TransparentEf) or not any(ef.data):
        return None
    data = bytes(ef.data)  # one DER SubjectPublicKeyInfo, then the file's padding: cut at its length
    size = data[1] & 0x7F
    if data[1] & 0x80:
        return data[:2 + size + int.from_bytes(data[2:2 + size], "big")]
    return data[:2 + size]


class Online:
    """The registry online (the service's own lookup, with the chip and endorsement binding)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def lookup(self, card_number: str, now: dt.datetime) -> StatusAnswer:
        from cardsvc.api.services.cards import RegistryStatus

        with self.factory() as s:
            return RegistryStatus(s).lookup(card_number, now)


class Offline:
    """The registry's status list as a counter holds it: every allocated number that is not active."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def lookup(self, card_number: str, now: dt.datetime) -> StatusAnswer:
        with self.factory() as s:
            try:
                status = ListStatus.from_card_status(card_by_number(s, card_number).status)  # type: ignore[arg-type]
            except NotFoundError:  # not on the list: a list says ACTIVE for numbers it does not name
                status = ListStatus.ACTIVE
        reason = None
        if status is ListStatus.SUSPENDED:  # pragma: no cover - no suspension in this campaign
            raise AssertionError("unexpected suspension")
        return StatusAnswer(status, reason, now, dt.timedelta(0), True, StatusSource.CACHED_LIST)


def registry_holds_active(factory: sessionmaker[Session], card: VirtualCard, layout: Layout) -> bool:
    number = card_number_on(card, layout)
    with factory() as s:
        row = s.query(Card).filter(Card.card_number == number).one_or_none()
        return row is not None and row.status == "active" and row.chip_public_key == chip_key_on(card, layout)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_station_keys(tmp_path_factory.mktemp("keystore"))


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    r = Registry()
    yield r
    r.close()


def campaign(keys: StationKeys, factory: sessionmaker[Session], layout: Layout, n: int, *,
             apdu: int | None = None, step: int | None = None, after_commit: bool = False) -> None:
    permit = variant(sample_permit(layout, 4000), layout, n)
    register(factory, permit, layout)
    clock = Clock()
    first = blank_card()
    dying = DyingRegistry(factory, step, after_commit=after_commit)
    station = IssuanceService(dying, ACTOR, keys, clock=clock)  # type: ignore[arg-type]
    with contextlib.suppress(Killed):
        station.issue(request_for(permit, layout), CardSession(DyingConnection(first, apdu)))
    # The station restarts after its lease ran out; a new blank card goes into the reader.
    clock.now += dt.timedelta(minutes=10)
    restarted = IssuanceService(factory, ACTOR, keys, clock=clock)
    restarted.recover(dt.timedelta(minutes=5))
    second = blank_card()
    outcome = restarted.issue(request_for(permit, layout), CardSession(InProcessConnection(second)))
    assert outcome.issued, (apdu, step, outcome)
    where = f"apdu={apdu} step={step} after_commit={after_commit}"
    valid_online = 0
    for card in (first, second):
        for status in (Online(factory), Offline(factory)):
            card.power_on()
            verdict = verify_card(InProcessConnection(card), layout, keys.trust(), status, keys=keys.card_key,
                                  now=clock.now)
            if verdict.genuine_valid:
                assert registry_holds_active(factory, card, layout), (where, type(status).__name__,
                                                                       verdict.summary())
                valid_online += isinstance(status, Online)
    # The job finished once: exactly one card is genuine and valid (the first, when it was recorded
    # issued before the kill, and the resumed job then had nothing to write; else the new one).
    assert valid_online == 1, where


def test_station_killed_at_every_apdu(keys: StationKeys, registry: Registry) -> None:
    layout = builtin_layout("zz")
    factory = registry.fresh()
    reference = DyingConnection(blank_card(), None)
    permit = variant(sample_permit(layout, 4000), layout, 1)
    register(factory, permit, layout)
    assert IssuanceService(factory, ACTOR, keys).issue(request_for(permit, layout), CardSession(reference)).issued
    assert reference.sent > 40
    for cut in range(reference.sent):
        campaign(keys, factory, layout, 2 + cut, apdu=cut)


def test_station_killed_at_every_registry_step(keys: StationKeys, registry: Registry) -> None:
    layout = builtin_layout("zz")
    factory = registry.fresh()
    counting = DyingRegistry(factory, None, after_commit=False)
    permit = variant(sample_permit(layout, 4000), layout, 1)
    register(factory, permit, layout)
    assert IssuanceService(counting, ACTOR, keys).issue(  # type: ignore[arg-type]
        request_for(permit, layout), CardSession(InProcessConnection(blank_card()))).issued
    assert counting.steps >= 5
    n = 500
    for step in range(counting.steps):
        for after in (False, True):
            n += 1
            campaign(keys, factory, layout, n, step=step, after_commit=after)


def test_a_second_card_for_the_same_number_is_refused_online(keys: StationKeys, registry: Registry) -> None:
    """A card written for an issued number with another chip (station software bypassed) is genuine as far
    as EF.SOD and its chip go; online the registry's chip binding refuses it (design §7)."""
    from cardsvc.issuance.jobs import make_plan
    from cardsvc.issuance.personalize import personalize

    layout = builtin_layout("zz")
    factory = registry.fresh()
    permit = variant(sample_permit(layout, 4000), layout, 900)
    register(factory, permit, layout)
    assert IssuanceService(factory, ACTOR, keys).issue(request_for(permit, layout),
                                                       CardSession(InProcessConnection(blank_card()))).issued
    copy = blank_card()
    personalize(CardSession(InProcessConnection(copy)), make_plan(replace(permit), layout, keys), keys,
                permit.authority.code)
    now = dt.datetime.now(dt.UTC)
    copy.power_on()
    offline = verify_card(InProcessConnection(copy), layout, keys.trust(), Offline(factory), keys=keys.card_key,
                          now=now)
    copy.power_on()
    online = verify_card(InProcessConnection(copy), layout, keys.trust(), Online(factory), keys=keys.card_key,
                         now=now)
    assert offline.genuine_valid  # what an offline counter cannot know: the number is active
    assert online.result.value == "not_issued", online.summary()
    assert "not the one the registry recorded" in online.check(online.checks[-1].check).detail
