"""Issue 15 item 3: card-image verifications run side by side (as many at once as there are cores, outside
any write transaction) and each is still audited once, with the station that asked (ZZ Art.29)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cardsvc.api.auth import Role
from tests.api.conftest import Service
from tests.api.helpers import issue


def test_concurrent_image_verifications_each_answered_and_audited_once(service: Service) -> None:
    number, job = issue(service, "zz", seed=21)
    desk = service.ctx.hub.desk
    assert desk is not None
    image = desk.image(desk.cards()[0].card_id)

    def verifications() -> list[dict[str, object]]:
        entries = service.call(Role.ADMIN, "GET", "/api/audit?limit=1000").json()  # type: ignore[attr-defined]
        return [a for a in entries if a["action"] == "card.verify"]

    before = len(verifications())

    def upload(_: int) -> tuple[int, dict[str, object]]:
        r = service.call(Role.COUNTER, "POST", "/api/verify/image", files={"file": ("card.cbor", image)})
        return r.status_code, r.json()  # type: ignore[attr-defined]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(upload, range(12)))
    assert [status for status, _ in answers] == [200] * 12
    for _, verdict in answers:  # a dev service: the image's chip check runs, and says so
        assert verdict["result"] == "genuine_valid" and verdict["card_number"] == job["card_number"], verdict
        assert verdict["permit_number"] == number and verdict["registry_status"] == "active"
    audit = verifications()
    assert len(audit) - before == 12
    assert {(a["station_id"], a["role"], a["card_number"]) for a in audit[:12]} == {
        ("counter-1", "counter", job["card_number"])}
