"""The duties on a schedule inside the service: one asyncio task started by the FastAPI lifespan.

Each round runs every duty in a worker thread (the database work blocks), with the service's clock;
a failing duty is logged and retried next round, never ends the loop. Several service processes may
run this loop on one registry: the lease row (cardsvc.duties.lease) lets one of them run each duty.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from cardsvc.duties.runner import DUTIES, DutyContext, RunResult, run_duty

log = logging.getLogger(__name__)


def run_all(ctx: DutyContext, at: datetime) -> list[RunResult]:
    results = []
    for name in DUTIES:
        try:
            results.append(run_duty(ctx, name, at=at))
        except Exception:
            log.exception("duty %s failed; retried next round", name)
    return results


async def schedule(ctx: DutyContext, clock: Callable[[], datetime], interval: float, first_delay: float) -> None:
    """Run all duties after `first_delay` seconds, then every `interval` seconds, until cancelled."""
    await asyncio.sleep(first_delay)
    while True:
        round_ = asyncio.ensure_future(asyncio.to_thread(run_all, ctx, clock()))
        try:
            await asyncio.shield(round_)
        except asyncio.CancelledError:
            await round_  # a thread cannot be interrupted: let the round end before the engine is closed
            raise
        await asyncio.sleep(interval)
