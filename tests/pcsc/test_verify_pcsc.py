"""Counter verification through the real stack: pyscard → pcscd → vpcd → simulator.

Reports the APDU count and bytes read (design §6: bytes read ≤ 1.05× the data in the files needed);
times are printed for `make bench`, never asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from cardsvc.issuance.jobs import make_plan
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.personalize import personalize
from cardsvc.layout import builtin_layout
from cardsvc.session import CardSession
from cardsvc.transport.pcsc import connect
from cardsvc.verification import Outcome, Result, verify_card
from devtools.pcsc_stack import SimulatorCard
from simulator import VirtualCard
from simulator.transport import InProcessConnection
from tests.verify_support import NOW, TODAY, FixedStatus, make_keys, permit_for

InsertCard = Callable[..., SimulatorCard]  # the insert_card fixture (tests/pcsc/conftest.py)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_keys(tmp_path_factory.mktemp("keys"))


def personalized(layout_id: str, keys: StationKeys, seed: int) -> tuple[VirtualCard, str]:
    layout = builtin_layout(layout_id)
    permit = permit_for(layout, seed, photo_bytes=15_000, endorsements=3)
    card = VirtualCard.blank()
    card.power_on()
    personalize(CardSession(InProcessConnection(card)), make_plan(permit, layout, keys), keys, permit.authority.code)
    return card, permit.card_number


@pytest.mark.parametrize("layout_id", ["zz", "smx"])
def test_verification_through_pcscd_counts_apdus_and_bytes(insert_card: InsertCard, keys: StationKeys,
                                                           layout_id: str) -> None:
    card, number = personalized(layout_id, keys, 37)
    sim = insert_card(card)
    layout = builtin_layout(layout_id)
    with connect(sim.reader, wait=3.0) as connection:
        start = time.perf_counter()
        verdict = verify_card(connection, layout, keys.trust(), FixedStatus(), keys=keys.card_key, now=NOW, today=TODAY)
        elapsed = time.perf_counter() - start
    assert verdict.result is Result.GENUINE_VALID, verdict.summary()
    assert verdict.card_number == number and all(c.outcome is Outcome.PASS for c in verdict.checks)
    stats = verdict.stats
    assert stats is not None
    print(f"\n[{layout_id}] verify through pcscd: {stats.apdus} APDUs, {stats.file_bytes_read} file bytes read "
          f"for {stats.file_bytes_stored} stored ({stats.read_ratio:.4f}x), wire {stats.response_bytes} bytes in, "
          f"read {stats.seconds * 1000:.1f} ms, whole verification {elapsed * 1000:.1f} ms")
    for rate in (412_000, 9_600):
        modeled, floor = stats.link_seconds(rate)
        print(f"  modeled on {rate} bit/s: {modeled * 1000:.0f} ms (floor {floor * 1000:.0f} ms)")
        assert floor <= modeled <= 1.1 * floor
    assert stats.file_bytes_read <= 1.05 * stats.file_bytes_stored
    assert stats.apdus <= 20  # SELECT, SFI reads, records, chip, terminal auth, one SM read


def test_a_clone_through_pcscd(insert_card: InsertCard, keys: StationKeys) -> None:
    original, _ = personalized("zz", keys, 43)
    clone, _ = personalized("zz", keys, 43)  # same data, its own chip key
    layout = builtin_layout("zz")
    adf = layout.df("permit").fid
    for name in ("card", "visible", "machine", "photo", "chipkey", "sod"):
        fid = layout.ef(name).fid
        src, dst = original.state.mf.child(adf), clone.state.mf.child(adf)
        src_ef, dst_ef = src.child(fid), dst.child(fid)  # type: ignore[union-attr]
        dst_ef.data[:] = src_ef.data  # type: ignore[union-attr]
    sim = insert_card(clone, 35964)
    with connect(sim.reader, wait=3.0) as connection:
        verdict = verify_card(connection, layout, keys.trust(), FixedStatus(), keys=keys.card_key, now=NOW, today=TODAY)
    assert verdict.result is Result.CLONED, verdict.summary()
