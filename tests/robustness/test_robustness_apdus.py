"""Random and mutated APDUs into the virtual card: an answer with a defined SW to each, no 6F00, no data
beyond Ne, and the card image always saves and loads back identical (bench.fuzz_apdu)."""

from __future__ import annotations

import pytest

from bench import fuzz_apdu
from bench.env import BenchEnv
from bench.fuzz_apdu import allowed_data, check_response, mutate, structured, valid_sw
from bench.report import Campaign
from bench.robustness import apdu_inputs
from simulator import VirtualCard


def test_random_and_mutated_apdus(bench_env: BenchEnv, record: list[Campaign]) -> None:
    pristine, corpus = apdu_inputs(bench_env)
    assert len(pristine) == 3 and len(corpus) > 100  # blank + one issued card per layout; real traffic
    campaign = fuzz_apdu.run(20_000, pristine, corpus, seed=3, image_every=1_000)
    record.append(campaign)
    assert campaign.cases == 20_000
    assert campaign.failures == 0, campaign.examples
    assert campaign.counts["image round trips"] == 20
    # The mix reaches the card's commands, not just its APDU parser.
    assert campaign.counts.get("sw 90xx", 0) > 200 and campaign.counts.get("sw 6Axx", 0) > 100


@pytest.mark.parametrize(("sw", "ok"), [(0x9000, True), (0x6A82, True), (0x6110, True), (0x63C2, True),
                                        (0x9001, False), (0x6000, False), (0x0000, False), (0x7000, False)])
def test_valid_sw(sw: int, ok: bool) -> None:
    assert valid_sw(sw) is ok


@pytest.mark.parametrize(("raw", "ne"), [("00B0000010", 16), ("00B0000000", 256), ("00B00000000000", 65536),
                                         ("00A4040C02D156", 0), ("00B0", 0), ("", 0), ("00A4040C05D156", 0)])
def test_allowed_data_follows_ne(raw: str, ne: int) -> None:
    assert allowed_data(bytes.fromhex(raw)) == ne


def test_checker_catches_a_card_that_breaks_the_rules() -> None:
    """The oracle itself: 6F00, an undefined SW, data beyond Ne and a mute card are each a failure."""
    campaign = Campaign("oracle")
    read16 = bytes.fromhex("00B0000010")
    check_response(campaign, read16, bytes(16) + b"\x90\x00")
    assert campaign.failures == 0
    for response in (b"\x6f\x00", b"\x12\x34", bytes(17) + b"\x90\x00", b""):
        check_response(campaign, read16, response)
    assert campaign.failures == 4 and len(campaign.examples) == 4


def test_generators_are_reproducible_and_varied() -> None:
    import random

    a, b = random.Random(5), random.Random(5)
    assert [structured(a) for _ in range(50)] == [structured(b) for _ in range(50)]
    rng = random.Random(6)
    base = bytes.fromhex("00B0810010")
    mutants = {mutate(rng, base) for _ in range(200)}
    assert len(mutants) > 50
    card = VirtualCard.blank()
    card.power_on()
    assert all(len(card.process(m)) >= 2 for m in mutants)
