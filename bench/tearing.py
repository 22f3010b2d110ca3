"""Power lost at every APDU of an issuance, both layouts, three ways (design §7; the issuance issue's
tearing test does the same through the registry, this counts it for the campaign totals).

For command i of a whole issuance (survey, personalization, verify-after-write) the card loses power
while processing it: before its first EEPROM write, in the middle of it (a prefix of the pages
programmed) or right after it. Then: the counter verifier must call the card genuine exactly when it
passed its commit point (the permit ADF ACTIVATED) — never a partial card — and a retry on the same card
must finish the issuance and verify genuine.
"""

from __future__ import annotations

import logging
import time

from bench.cards import blank_card, issue, verify
from bench.env import BenchEnv, bench_permit, layouts, renumbered
from bench.report import Campaign
from cardsvc.iso7816.errors import CardError
from cardsvc.iso7816.fcp import LifeCycle
from cardsvc.layout import Layout
from simulator import InProcessConnection, TearingConnection, VirtualCard, When


def committed(card: VirtualCard, layout: Layout) -> bool:
    adf = card.state.mf.child(layout.df("permit").fid)
    return adf is not None and adf.lifecycle is LifeCycle.ACTIVATED


def run(env: BenchEnv, modes: tuple[When, ...] = (When.BEFORE, When.MIDDLE, When.AFTER),
        stride: int = 1) -> Campaign:
    """Every `stride`-th command index (1 = all) of an issuance per layout, for each power-cut mode."""
    campaign = Campaign("power lost at every APDU of issuance, both layouts")
    quiet = logging.getLogger("simulator")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    start = time.perf_counter()
    try:
        for layout in layouts():
            base = bench_permit(layout, 21, photo_bytes=8_000)
            reference = TearingConnection(blank_card())
            issue(env, layout, renumbered(base, layout, 1), reference)
            total = reference.sent
            campaign.count(f"{layout.id} APDUs per issuance", total)
            n = 2
            for when in modes:
                for cut in range(0, total, stride):
                    permit = renumbered(base, layout, n)
                    n += 1
                    campaign.cases += 1
                    card = blank_card()
                    try:
                        issue(env, layout, permit, TearingConnection(card, cut, when))
                        campaign.fail(f"{layout.id} cut {cut} {when.value}: issuance did not notice the pull")
                        continue
                    except CardError as exc:  # the pull itself, or verify-after-write refusing the card
                        campaign.count(f"noticed as {type(exc).__name__}")
                    card.power_on()
                    genuine = verify(env, layout, InProcessConnection(card)).result.genuine_valid
                    done = committed(card, layout)
                    campaign.count("torn after the commit point" if done else "torn before the commit point")
                    if genuine != done:
                        campaign.fail(f"{layout.id} cut {cut} {when.value}: genuine={genuine} committed={done}")
                    card.power_on()
                    try:
                        issue(env, layout, permit, InProcessConnection(card))
                    except CardError as exc:
                        campaign.fail(f"{layout.id} cut {cut} {when.value}: retry failed: {exc}")
                        continue
                    if not verify(env, layout, InProcessConnection(card)).result.genuine_valid:
                        campaign.fail(f"{layout.id} cut {cut} {when.value}: retried card is not genuine")
                    else:
                        campaign.count("retried and genuine")
    finally:
        quiet.setLevel(level)
    campaign.seconds = time.perf_counter() - start
    return campaign
