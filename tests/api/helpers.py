"""Steps the API tests share: a sample permit issued on a virtual reader through the API."""

from __future__ import annotations

import time
from typing import Any

from cardsvc.api.auth import Role
from tests.api.conftest import READERS, Service


def wait_job(service: Service, job_id: int, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = service.call(Role.PRINT_STATION, "GET", f"/api/jobs/{job_id}").json()  # type: ignore[attr-defined]
        if not job["progress"].get("running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def sample_permit(service: Service, layout_id: str = "zz", seed: int = 1) -> str:
    r = service.call(Role.COUNTER, "POST", "/api/applications/sample", json={"layout_id": layout_id, "seed": seed})
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    number: str = r.json()["permit_number"]  # type: ignore[attr-defined]
    return number


def issue(service: Service, layout_id: str = "zz", seed: int = 1,
          reader: str = READERS[0]) -> tuple[str, dict[str, Any]]:
    """Sample application → job → blank card in `reader` → run → issued; returns (permit number, job)."""
    number = sample_permit(service, layout_id, seed)
    job = service.call(Role.PRINT_STATION, "POST", "/api/jobs", json={"permit_number": number}).json()  # type: ignore[attr-defined]
    assert service.call(Role.PRINT_STATION, "POST", "/api/desk/insert", json={"reader": reader}).status_code == 200  # type: ignore[attr-defined]
    run = service.call(Role.PRINT_STATION, "POST", f"/api/jobs/{job['id']}/run", json={"reader": reader})
    assert run.status_code == 202, run.text  # type: ignore[attr-defined]
    done = wait_job(service, job["id"])
    assert done["state"] == "issued", done
    return number, done
