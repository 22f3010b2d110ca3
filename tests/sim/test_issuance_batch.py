"""A batch across several (in-process) readers at once: every card gets its own permit, progress per card."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cardsvc.issuance.batch import CardProgress, run_batch
from cardsvc.issuance.jobs import IssuanceService, IssueOutcome, make_plan
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.verify_after_write import verify_after_write
from cardsvc.layout import builtin_layout
from cardsvc.session import CardSession
from cardsvc.transport.base import Connection
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


class MemoryFeed:
    """A reader that always has a fresh blank virtual card; keeps the finished ones."""

    def __init__(self, name: str, fail_first: bool = False) -> None:
        self._name = name
        self.done: list[tuple[VirtualCard, IssueOutcome | None]] = []
        self._cards: dict[int, VirtualCard] = {}
        self.fail_first = fail_first
        self.threads: set[str] = set()

    @property
    def name(self) -> str:
        return self._name

    def next_card(self) -> Connection:
        self.threads.add(threading.current_thread().name)
        card = blank_card()
        if self.fail_first:  # the first card is pulled at its 30th EEPROM write
            card.cut_power(30)
            self.fail_first = False
        connection = InProcessConnection(card)
        self._cards[id(connection)] = card
        return connection

    def release(self, connection: Connection, outcome: IssueOutcome | None) -> None:
        self.done.append((self._cards.pop(id(connection)), outcome))


class FlakyConnection(InProcessConnection):
    """Powers the card back on after a cut, as an operator reseating the card would."""

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if not self.card.powered:
            self.reconnect()
        return super().transmit(apdu)


class ReseatFeed(MemoryFeed):
    def next_card(self) -> Connection:
        connection = super().next_card()
        assert isinstance(connection, InProcessConnection)
        flaky = FlakyConnection(connection.card)
        self._cards[id(flaky)] = self._cards.pop(id(connection))
        return flaky


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_station_keys(tmp_path_factory.mktemp("keystore"))


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    r = Registry()
    yield r
    r.close()


def test_batch_across_readers_without_cross_talk(keys: StationKeys, registry: Registry) -> None:
    layout = builtin_layout("zz")
    factory = registry.fresh()
    base = sample_permit(layout, 500)
    permits = [variant(base, layout, n) for n in range(1, 9)]
    for permit in permits:
        register(factory, permit, layout)
    feeds = [MemoryFeed("reader A"), ReseatFeed("reader B", fail_first=True)]
    seen: list[CardProgress] = []
    result = run_batch(IssuanceService(factory, ACTOR, keys), [request_for(p, layout) for p in permits], feeds,
                       progress=seen.append)
    assert result.issued == len(permits) and not result.errors, (result.errors, result.outcomes)
    assert set(result.per_reader()) == {"reader A", "reader B"}
    assert feeds[0].threads.isdisjoint(feeds[1].threads)  # one thread per reader
    retried = [o for o in result.outcomes.values() if o.attempts == 2]
    assert len(retried) == 1  # the pulled card was resumed on the same card and issued
    finished = {p.card_number for p in seen if p.finished and p.what == "issued"}
    assert finished == {p.card_number for p in permits}
    assert any(not p.finished and p.steps > 40 for p in seen)  # per-step progress
    # No cross-talk: each card holds exactly the permit its outcome names, and verifies.
    by_number = {p.card_number: p for p in permits}
    cards = [(card, outcome) for feed in feeds for card, outcome in feed.done]
    assert len(cards) == len(permits)
    for card, outcome in cards:
        assert outcome is not None
        number = card_number_on(card, layout)
        assert number == outcome.card_number
        plan = make_plan(by_number[number], layout, keys)
        card.power_on()
        verify_after_write(CardSession(InProcessConnection(card)), plan, layout, keys)


def test_batch_needs_a_reader(keys: StationKeys, registry: Registry) -> None:
    with pytest.raises(ValueError, match="reader"):
        run_batch(IssuanceService(registry.fresh(), ACTOR, keys), [], [])
