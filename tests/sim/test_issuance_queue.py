"""Design §7 / issue 13: job claims are database state, so two service processes on one PostgreSQL
registry issue 50 permits from one queue and no job is run twice (nor left over)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from cardsvc.issuance.jobs import IssuanceService
from cardsvc.layout import builtin_layout
from cardsvc.registry import make_engine, session_factory
from cardsvc.registry.models import IssuanceJob
from tests.issuance_support import ACTOR, make_station_keys, register, request_for, sample_permit, variant
from tests.registry.conftest import _truncate_all, pg_cluster, pg_shared  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
COUNT = 50


def test_two_processes_share_one_queue(pg_shared: str, tmp_path: Path) -> None:  # noqa: F811
    _truncate_all(pg_shared)
    keydir = tmp_path / "keys"
    keys = make_station_keys(keydir)
    layout = builtin_layout("zz")
    base = sample_permit(layout, 21)
    engine = make_engine(pg_shared)
    factory = session_factory(engine)
    service = IssuanceService(factory, ACTOR, keys)
    for n in range(1, COUNT + 1):
        permit = variant(base, layout, n)
        register(factory, permit, layout)
        service.start(request_for(permit, layout))
    cmd = [sys.executable, "-m", "tests.sim.queue_worker", pg_shared, str(keydir), "zz", "21", str(COUNT)]
    workers = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ)) for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-2000:]
    ran = [[int(line.split()[0]) for line in out.splitlines()] for out, _ in outputs]
    counts = Counter(ran[0] + ran[1])
    assert len(counts) == COUNT and set(counts.values()) == {1}, counts  # every job once, none twice
    assert ran[0] and ran[1]  # both processes took work from the queue
    with factory() as s:
        jobs = s.scalars(select(IssuanceJob)).all()
        assert {j.state for j in jobs} == {"issued"} and {j.attempts for j in jobs} == {1}
        assert all(j.claimed_by is None for j in jobs)  # every claim released
    engine.dispose()
