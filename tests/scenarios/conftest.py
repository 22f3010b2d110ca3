"""Scenario fixtures (issue 12): the service on SQLite and on PostgreSQL (the registry tier's throwaway
cluster), with a clock the scenario moves day by day, in-process virtual readers, one token per role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cardsvc.issuance.plan import layout_key_roles
from cardsvc.layout import builtin_layouts
from cardsvc.security import ceremony
from cardsvc.security.keystore import PASSPHRASE_ENV, EncryptedFileKeyStore
from cardsvc.security.pki import build_crl
from tests.api.conftest import READERS, Service, keys_dir, make_service, service  # noqa: F401 (fixtures)
from tests.registry.conftest import _truncate_all, pg_cluster, pg_shared  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def scenario_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key ceremony of the scenarios' own, whose CRL is current for 8 years (in operation it is
    re-issued weekly): the scenario clock moves years ahead while the station's own checks (verify after
    write) run at the real time. Kept apart from the other tiers' shared key store."""
    os.environ.setdefault(PASSPHRASE_ENV, "scenario-tests-" + os.urandom(8).hex())
    path = tmp_path_factory.mktemp("scenario-keys") / "keys"
    layouts = builtin_layouts()
    authorities = sorted({(a.code, a.name) for layout in layouts for a in layout.authorities})
    roles = sorted({r for layout in layouts for r in layout_key_roles(layout)})
    store = EncryptedFileKeyStore.for_layouts(path, layouts)
    ceremony.init_key_ceremony(store, authorities, roles=roles)
    store.put_crl(ceremony.ROOT_CRL, build_crl(store.private_key(ceremony.ROOT), store.certificate(ceremony.ROOT),
                                               [], number=2, validity=timedelta(days=8 * 366)))
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def svc(request: pytest.FixtureRequest, tmp_path: Path, scenario_keys: Path) -> Iterator[Service]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_shared")
        _truncate_all(url)
    # the scenario clock runs years ahead: tokens for as long as the scenarios' CRL
    yield from make_service(tmp_path, scenario_keys, database_url=url,
                            expires_at=datetime.now(UTC) + timedelta(days=8 * 366))
