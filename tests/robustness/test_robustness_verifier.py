"""Malformed responses and card images into the counter verifier: never an exception, never GENUINE for
altered bytes or a chip that cannot prove its key (bench.fuzz_verifier)."""

from __future__ import annotations

import warnings

import pytest

from bench import fuzz_verifier
from bench.env import BenchEnv
from bench.fuzz_verifier import Genuine
from bench.report import Campaign
from bench.robustness import genuine_cards
from simulator import InProcessConnection, VirtualCard


@pytest.fixture(scope="module")
def cards(bench_env: BenchEnv) -> list[Genuine]:
    return genuine_cards(bench_env)


def test_genuine_cards_read_cleanly(bench_env: BenchEnv, cards: list[Genuine]) -> None:
    for g in cards:
        assert not g.read.problems and g.read.records["endorse"]  # endorsements: records are fuzzed too
        campaign = Campaign("baseline")
        read = fuzz_verifier._read(bench_env, g, InProcessConnection(VirtualCard.from_bytes(g.image)))
        fuzz_verifier._judge(campaign, bench_env, g, read, "unchanged", must_fail=False)
        assert campaign.counts == {"verdict genuine_valid": 1, "no effect (genuine bytes)": 1}


def test_malformed_responses(bench_env: BenchEnv, cards: list[Genuine], record: list[Campaign]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged certificates make cryptography warn
        campaign = fuzz_verifier.responses(bench_env, cards, 300, seed=4)
    record.append(campaign)
    assert campaign.cases == 300 and campaign.failures == 0, campaign.examples
    assert campaign.counts.get("verdict tampered", 0) > 20  # the damage reaches the signature checks


def test_malformed_card_images(bench_env: BenchEnv, cards: list[Genuine], record: list[Campaign]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        campaign = fuzz_verifier.images(bench_env, cards, 200, seed=5)
    record.append(campaign)
    assert campaign.cases == 200 and campaign.failures == 0, campaign.examples
    assert campaign.counts.get("verdict cloned", 0) > 5  # chip cases reach the chip check


def test_oracle_refuses_genuine_for_chip_damage(bench_env: BenchEnv, cards: list[Genuine]) -> None:
    """A card whose chip lacks its key must never pass, even though every file byte is genuine."""
    g = cards[0]
    card = VirtualCard.from_bytes(g.image)
    for key in [k for k in card.state.objects if k.endswith(":0E")]:
        del card.state.objects[key]
    campaign = Campaign("chip")
    read = fuzz_verifier._read(bench_env, g, InProcessConnection(card))
    fuzz_verifier._judge(campaign, bench_env, g, read, "chip key missing", must_fail=True)
    assert campaign.failures == 0 and campaign.counts == {"verdict cloned": 1}


def test_certificate_bit_string_padding_in_sod_is_refused(bench_env: BenchEnv, cards: list[Genuine]) -> None:
    """Found by this campaign: EF.SOD's signer certificate with non-zero unused bits in its signature
    BIT STRING parsed and verified, so a card with that byte altered read as genuine."""
    from cardsvc.security.errors import SodFormatError
    from cardsvc.security.sod import parse_sod
    from cardsvc.security.suite import GM

    genuine = cards[0].read.files["sod"]
    # SM2-with-SM3 (GM suite, the layouts' default) or ecdsa-with-SHA256, then the signature BIT STRING
    sm2_with_sm3, ecdsa_with_sha256 = bytes.fromhex("06082a811ccf55018375"), bytes.fromhex("06082a8648ce3d040302")
    marker = sm2_with_sm3 if sm2_with_sm3 in genuine else ecdsa_with_sha256
    at = genuine.index(marker, genuine.index(marker) + 1) + len(marker)  # the certificate's outer algorithm
    assert genuine[at] == 0x03 and genuine[at + 2] == 0x00
    for unused in (1, 2, 7):
        sod = bytearray(genuine)
        sod[at + 2] = unused
        with warnings.catch_warnings(), pytest.raises(SodFormatError):
            warnings.simplefilter("ignore")
            parse_sod(bytes(sod), GM)


def test_sod_padding_taken_in_by_a_longer_envelope_is_refused(cards: list[Genuine]) -> None:
    """Found by this campaign: one flipped bit in EF.SOD's outer length made the reader take in the file's
    zero padding, and asn1crypto parsed the zeros after the last part, so the card read as genuine."""
    from cardsvc.security.errors import SodFormatError
    from cardsvc.security.sod import parse_sod
    from cardsvc.security.suite import GM

    genuine = cards[0].read.files["sod"]
    assert genuine[:2] == b"\x30\x82"  # SEQUENCE, two length bytes
    length = int.from_bytes(genuine[2:4], "big")
    parse_sod(genuine, GM)
    for extra in (2, 16, 256):
        padded = genuine[:2] + (length + extra).to_bytes(2, "big") + genuine[4:] + bytes(extra)
        with pytest.raises(SodFormatError, match="after the last part"):
            parse_sod(padded, GM)
