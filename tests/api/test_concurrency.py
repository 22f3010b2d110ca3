"""Design §7 / issue 13: 16 concurrent identical state changes → exactly one accepted, the rest 409, never
a 500, with history and fees consistent — on SQLite (BEGIN IMMEDIATE) and PostgreSQL (row locks)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cardsvc.api.auth import Role
from cardsvc.registry.models import Endorsement, FeeRecord, IssuanceJob, StatusChange
from cardsvc.registry.models import Permit as PermitRow
from tests.api.conftest import READERS, Service, make_service
from tests.api.helpers import issue, sample_permit, wait_job
from tests.registry.conftest import _truncate_all, pg_cluster, pg_shared  # noqa: F401 (fixtures)

N = 16


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_service(request: pytest.FixtureRequest, tmp_path: Path, keys_dir: Path) -> Iterator[Service]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_shared")
        _truncate_all(url)
    yield from make_service(tmp_path, keys_dir, database_url=url)


def parallel(calls: list[Callable[[], Any]]) -> list[int]:
    """Run the calls at once (a barrier releases them together); their HTTP status codes, in order."""
    gate = threading.Barrier(len(calls))

    def one(call: Callable[[], Any]) -> int:
        gate.wait()
        return int(call().status_code)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def same(service: Service, role: Role, method: str, path: str, **kw: Any) -> list[int]:
    return parallel([lambda: service.call(role, method, path, **kw) for _ in range(N)])


def assert_one_accepted(codes: list[int], accepted: int) -> None:
    assert Counter(codes) == {accepted: 1, 409: N - 1}, codes


def count(service: Service, model: Any, *where: Any) -> int:
    with service.ctx.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def permit_id(service: Service, number: str) -> int:
    with service.ctx.sessions() as s:
        return int(s.scalar(select(PermitRow.id).where(PermitRow.permit_number == number)) or 0)


def test_report_lost(shared_service: Service) -> None:
    number, _ = issue(shared_service, "zz", seed=3)
    codes = same(shared_service, Role.COUNTER, "POST", f"/api/permits/{number}/status",
                 json={"action": "report_lost", "note": "挂失"})
    assert_one_accepted(codes, 200)
    pid = permit_id(shared_service, number)
    assert count(shared_service, StatusChange, StatusChange.permit_id == pid, StatusChange.subject == "permit",
                 StatusChange.to_status == "lost") == 1


def test_cancel_racing_report_lost(shared_service: Service) -> None:
    """Whatever wins, the answers agree with the end state: an accepted cancel leaves the permit cancelled."""
    number, _ = issue(shared_service, "smx", seed=4)
    path = f"/api/permits/{number}/status"
    calls = [(lambda a=action: shared_service.call(Role.COUNTER, "POST", path, json={"action": a, "note": "n"}))
             for action in ("cancel", "report_lost") * (N // 2)]
    codes = parallel(calls)
    assert set(codes) <= {200, 409}, codes
    cancels, losses = codes[0::2], codes[1::2]
    assert cancels.count(200) == 1 and losses.count(200) <= 1, codes
    status = shared_service.call(Role.COUNTER, "GET", f"/api/permits/{number}").json()["status"]
    assert status == "cancelled"
    pid = permit_id(shared_service, number)
    assert count(shared_service, StatusChange, StatusChange.permit_id == pid, StatusChange.subject == "permit",
                 StatusChange.to_status == "lost") == losses.count(200)


def test_create_job(shared_service: Service) -> None:
    number = sample_permit(shared_service, "zz", seed=5)
    codes = same(shared_service, Role.PRINT_STATION, "POST", "/api/jobs", json={"permit_number": number})
    assert_one_accepted(codes, 201)
    pid = permit_id(shared_service, number)
    assert count(shared_service, IssuanceJob, IssuanceJob.permit_id == pid) == 1
    assert count(shared_service, FeeRecord, FeeRecord.permit_id == pid) == 1


def test_replacement_job(shared_service: Service) -> None:
    number, _ = issue(shared_service, "zz", seed=6)
    r = shared_service.call(Role.COUNTER, "POST", f"/api/permits/{number}/status",
                            json={"action": "report_lost", "note": "挂失"})
    assert r.status_code == 200, r.text
    codes = same(shared_service, Role.PRINT_STATION, "POST", "/api/jobs",
                 json={"permit_number": number, "event": "replacement"})
    assert_one_accepted(codes, 201)
    pid = permit_id(shared_service, number)
    assert count(shared_service, FeeRecord, FeeRecord.permit_id == pid, FeeRecord.event == "replacement") == 1
    assert count(shared_service, IssuanceJob, IssuanceJob.permit_id == pid, IssuanceJob.event == "replacement") == 1


def test_run_job(shared_service: Service) -> None:
    number = sample_permit(shared_service, "smx", seed=7)
    job = shared_service.call(Role.PRINT_STATION, "POST", "/api/jobs", json={"permit_number": number}).json()
    assert shared_service.call(Role.PRINT_STATION, "POST", "/api/desk/insert",
                               json={"reader": READERS[0]}).status_code == 200
    codes = same(shared_service, Role.PRINT_STATION, "POST", f"/api/jobs/{job['id']}/run",
                 json={"reader": READERS[0]})
    assert_one_accepted(codes, 202)
    done = wait_job(shared_service, job["id"])
    assert done["state"] == "issued" and done["attempts"] == 1, done


def test_endorse(shared_service: Service) -> None:
    number, _ = issue(shared_service, "smx", seed=8)
    real_clock = shared_service.ctx.clock
    shared_service.ctx.clock = lambda: real_clock() + dt.timedelta(days=350)  # inside the window (SMX Art.16)
    codes = same(shared_service, Role.ENDORSEMENT, "POST", "/api/endorsements", json={"permit_number": number})
    assert_one_accepted(codes, 201)
    assert count(shared_service, Endorsement, Endorsement.permit_id == permit_id(shared_service, number)) == 1
