"""Design §7 / issue 13: a job never starts for a permit that is not issuable — refused before any APDU,
so the blank card in the reader stays blank."""

from __future__ import annotations

from cardsvc.api.auth import Role
from tests.api.conftest import READERS, Service
from tests.api.helpers import sample_permit


def test_a_job_of_a_cancelled_permit_never_touches_the_card(service: Service) -> None:
    number = sample_permit(service, "zz", seed=31)
    job = service.call(Role.PRINT_STATION, "POST", "/api/jobs", json={"permit_number": number}).json()  # type: ignore[attr-defined]
    r = service.call(Role.COUNTER, "POST", f"/api/permits/{number}/status", json={"action": "cancel", "note": "注销"})
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    assert service.call(Role.PRINT_STATION, "POST", "/api/desk/insert",  # type: ignore[attr-defined]
                        json={"reader": READERS[0]}).status_code == 200
    desk = service.ctx.hub.desk
    assert desk is not None
    card = desk.card_in(READERS[0])  # type: ignore[attr-defined]  # the in-process desk
    run = service.call(Role.PRINT_STATION, "POST", f"/api/jobs/{job['id']}/run", json={"reader": READERS[0]})
    assert run.status_code == 409, run.text  # type: ignore[attr-defined]
    assert service.call(Role.PRINT_STATION, "GET", f"/api/jobs/{job['id']}").json()["state"] == "failed"  # type: ignore[attr-defined]
    zz = service.ctx.layout("zz")
    assert card.state.mf.child(zz.df("permit").fid) is None  # nothing was written
