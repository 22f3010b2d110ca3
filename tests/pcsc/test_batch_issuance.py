"""A batch of 20 permits issued across both vpcd readers at once, through pyscard → pcscd → vpcd.

Each reader gets its own thread; every card is a `python -m simulator` process inserted blank, written
and verified through PC/SC, then pulled (its image saved). Afterwards each saved card must hold exactly
the permit its job names and verify genuine: no cross-talk between the readers.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardsvc.cli import main
from cardsvc.issuance.batch import CardProgress, run_batch
from cardsvc.issuance.jobs import IssuanceService, IssueOutcome, make_plan
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.verify_after_write import verify_after_write
from cardsvc.layout import builtin_layout
from cardsvc.security.keystore import PASSPHRASE_ENV
from cardsvc.session import CardSession
from cardsvc.transport.base import Connection
from cardsvc.transport.pcsc import PcscConnection, connect
from devtools.pcsc_stack import READERS, SimulatorCard
from simulator import VirtualCard
from simulator.transport import InProcessConnection
from tests.issuance_support import (
    ACTOR,
    Registry,
    card_number_on,
    make_station_keys,
    register,
    request_for,
    sample_permit,
    variant,
)

_serial = itertools.count(1)


class VpcdFeed:
    """One vpcd reader: a fresh blank virtual card process per request, pulled when done."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.images: list[tuple[Path, IssueOutcome | None]] = []
        self._current: SimulatorCard | None = None
        self._image: Path | None = None

    @property
    def name(self) -> str:
        return READERS[self.port]

    def next_card(self) -> Connection:
        self.close()  # never leave a card process behind, whatever happened to the last one
        self._image = self.directory / f"card-{self.port}-{next(_serial)}.cbor"
        VirtualCard.blank().save(self._image)
        self._current = SimulatorCard(self._image, self.port, log_path=self.directory / f"sim-{self.port}.log")
        self._current.insert()
        try:
            return connect(self.name, exclusive=True, wait=5.0)
        except BaseException:
            self.close()
            raise

    def release(self, connection: Connection, outcome: IssueOutcome | None) -> None:
        connection.close()
        assert self._image is not None
        self.images.append((self._image, outcome))
        self.close()  # SIGTERM: the simulator saves the card image and exits

    def close(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            current.remove()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_station_keys(tmp_path_factory.mktemp("keystore"))


@pytest.fixture
def registry() -> Iterator[Registry]:
    r = Registry()
    yield r
    r.close()


def test_batch_of_20_across_both_vpcd_readers(keys: StationKeys, registry: Registry, tmp_path: Path) -> None:
    layout = builtin_layout("zz")
    factory = registry.fresh()
    base = sample_permit(layout, 900, photo_bytes=15_000)
    permits = [variant(base, layout, n) for n in range(1, 21)]
    for permit in permits:
        register(factory, permit, layout)
    feeds = [VpcdFeed(port, tmp_path) for port in sorted(READERS)]
    progress: list[CardProgress] = []
    try:
        result = run_batch(IssuanceService(factory, ACTOR, keys), [request_for(p, layout) for p in permits], feeds,
                           progress=progress.append)
    finally:
        for feed in feeds:
            feed.close()
    assert result.issued == 20 and not result.errors, (result.errors, [o.error for o in result.outcomes.values()])
    per_reader = result.per_reader()
    assert set(per_reader) == set(READERS.values()) and sum(per_reader.values()) == 20
    assert all(o.attempts == 1 for o in result.outcomes.values())
    by_number = {p.card_number: p for p in permits}
    images = [item for feed in feeds for item in feed.images]
    assert len(images) == 20
    numbers = set()
    for image, outcome in images:
        assert outcome is not None and outcome.issued
        card = VirtualCard.load(image)
        number = card_number_on(card, layout)
        assert number == outcome.card_number  # the card in this reader holds this reader's job
        numbers.add(number)
        card.power_on()
        verify_after_write(CardSession(InProcessConnection(card)), make_plan(by_number[number], layout, keys),
                           layout, keys)
    assert numbers == set(by_number)
    print(f"\nbatch: 20 cards in {result.seconds:.1f} s across {per_reader}")


def test_issue_one_card_through_pcscd(keys: StationKeys, registry: Registry, tmp_path: Path) -> None:
    """ZZ cards with a 15 KB photo: plan lean enough (≤ 1.2 × the minimum, verification included).
    Two cards one after the other: the second shows the warm cost (keys unlocked, codecs compiled)."""
    layout = builtin_layout("zz")
    factory = registry.fresh()
    base = sample_permit(layout, 901, photo_bytes=15_000)
    service = IssuanceService(factory, ACTOR, keys)
    timings = []
    for n in (98, 99):
        permit = variant(base, layout, n)
        register(factory, permit, layout)
        image = tmp_path / f"one-{n}.cbor"
        VirtualCard.blank().save(image)
        with SimulatorCard(image, 35963, log_path=tmp_path / "sim.log"):
            connection: PcscConnection = connect(READERS[35963], wait=5.0)
            with connection:
                started = time.perf_counter()
                outcome = service.issue(request_for(permit, layout), CardSession(connection))
                timings.append(time.perf_counter() - started)
        assert outcome.issued, outcome.error
        assert outcome.write is not None and outcome.verification is not None
        plan = make_plan(permit, layout, keys)
        sent = outcome.write.commands + outcome.verification.commands
        minimum = plan.minimum_apdus + outcome.verification.commands
        assert sent <= 1.2 * minimum
    print(f"\nZZ card (15 KB photo) through pcscd, write + verify + registry: first {timings[0] * 1000:.0f} ms, "
          f"warm {timings[1] * 1000:.0f} ms; {sent} commands ({outcome.write.commands} write + "
          f"{outcome.verification.commands} verify), minimum {minimum} ({sent / minimum:.2f}x)")


def test_cli_issues_through_a_named_reader(tmp_path: Path, insert_card: Any, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`cardsvc issue --reader NAME`: the operator's card is personalized through pcscd (the card stays in
    the reader: the station's wait for its removal times out after --wait, which is only logged)."""
    monkeypatch.setenv(PASSPHRASE_ENV, "pcsc cli passphrase")
    store = tmp_path / "ks"
    assert main(["keys", "init", "--keystore", str(store), "--layout", "smx", "--json"]) == 0
    capsys.readouterr()
    sim = insert_card(port=35964)
    code = main(["issue", "--layout", "smx", "--keystore", str(store), "--db", f"sqlite:///{tmp_path / 'r.db'}",
                 "--reader", READERS[35964], "--sample", "1", "--seed", "3", "--wait", "1", "--json", "--quiet"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["issued"] == 1 and data["cards"][0]["reader"] == READERS[35964], data
    sim.remove()
    card = VirtualCard.load(sim.card_file)
    assert card_number_on(card, builtin_layout("smx")) == data["cards"][0]["card_number"]
