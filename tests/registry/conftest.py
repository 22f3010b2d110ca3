"""Registry fixtures: every test runs on a SQLite file and on a real, throwaway PostgreSQL cluster.

The PostgreSQL server is started once per session from the Debian `postgresql` binaries (installed
with apt-get when root and missing), as the `postgres` OS user when we are root (initdb refuses
root), on a free loopback port, in a temp dir removed afterwards.  With CI=true a server that cannot
be started fails the tests; elsewhere they skip with a one-line reason.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cardsvc.layout import builtin_layout
from cardsvc.registry import Actor, make_engine, migrate, session_factory
from cardsvc.registry.applications import (
    ApplicationRequest,
    create_permit,
    submit_application,
    upsert_applicant,
)
from cardsvc.registry.jobs import JobState, Verification, advance, record_chip_key, record_issued, start_issuance
from cardsvc.registry.models import Base, PermitApplication
from cardsvc.registry.registrations import add_registration
from cardsvc.rules import CardEvent, Ground, Material, Registration

IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL required in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="cardsvc-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        steps = [
            ("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"),
            ("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "start", "-o",
             f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
             f"-c synchronous_commit=off -c full_page_writes=off"),
        ]
        for step in steps:
            done = self.run(*step)
            if done.returncode != 0:
                raise RuntimeError(f"{step[0]} failed: {(done.stderr or done.stdout).strip()[-300:]}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            # -w waits until the postmaster and its children are gone.
            self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir = _pg_bin()
    if bindir is None and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False, env=env, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], capture_output=True, check=False,
                       env=env, timeout=600)
        bindir = _pg_bin()
    if bindir is None:
        _unavailable("no /usr/lib/postgresql/*/bin/initdb and not root to install `postgresql`")
    assert bindir is not None
    cluster = PgCluster(bindir)
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        cluster.stop()
        _unavailable(str(exc).splitlines()[0])
    try:
        yield cluster
    finally:
        cluster.stop()


_db_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_shared(pg_cluster: PgCluster) -> str:
    """One database migrated from empty per session; tests share it and start from truncated tables
    (~10 ms, where a database per test costs ~0.4-1 s)."""
    import psycopg

    with psycopg.connect(cluster_dsn(pg_cluster), autocommit=True) as conn:
        conn.execute('CREATE DATABASE "registry"')
    url = pg_cluster.url("registry")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("registry") / "template.sqlite3"
    migrate(f"sqlite:///{path}")  # the engine is disposed afterwards, so the WAL is checkpointed
    return path


def cluster_dsn(cluster: PgCluster) -> str:
    return f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"


def _truncate_all(url: str) -> None:
    import psycopg

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database with empty tables, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "registry.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_shared")
    _truncate_all(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A brand-new empty database (for migration tests), on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    import psycopg

    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = f"empty_{next(_db_counter)}"
    with psycopg.connect(cluster_dsn(cluster), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return cluster.url(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as s:
        yield s


@pytest.fixture
def actor() -> Actor:
    return Actor(station_id="SMX-HB-01", operator="op7", role="counter")


# Noon in China (04:00 UTC) keeps the local day unambiguous.
def at_day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 4, 0, tzinfo=UTC)


def plus(at: datetime, days: int) -> datetime:
    return at + timedelta(days=days)


# --- building records the way a counter and a station would -------------------------------------------

SMX_MATERIALS = frozenset({"id_card", "registration_cert", "employment_proof"})
ZZ_MATERIALS = frozenset({"id_card", "photos", "residence_proof", "employment_proof"})


class Builder:
    """Creates applicants, applications and issued permits through the public services."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self._n = itertools.count(1)

    def accepted_application(self, city: str = "smx", *, applied: datetime | None = None) -> PermitApplication:
        n = next(self._n)
        applied = applied or at_day(2024, 8, 1)
        rules = builtin_layout(city).rules
        birth = datetime(1990, 1, n).date()
        # 410105/411202 + birth date + sequence + any check char: shape only, as the registry checks.
        county = "411202" if city == "smx" else "410105"
        applicant = upsert_applicant(self.session, f"{county}{birth:%Y%m%d}{n:03d}X", birth, {"name": f"张{n}"},
                                     at=applied)
        start = (applied - timedelta(days=200)).date()
        reg = add_registration(self.session, applicant, rules, Registration(county, start, start, 365), at=applied)
        mats = SMX_MATERIALS if city == "smx" else ZZ_MATERIALS
        request = ApplicationRequest(grounds=frozenset({Ground.EMPLOYMENT}),
                                     materials=frozenset(Material(m) for m in mats))
        app, decision = submit_application(self.session, self.actor, rules, applicant, reg, request, at=applied)
        assert decision.accepted, decision
        return app

    def pending_permit(self, city: str = "smx", *, applied: datetime | None = None) -> str:
        app = self.accepted_application(city, applied=applied)
        number = f"{city.upper()}{app.id:08d}"
        create_permit(self.session, self.actor, app, permit_number=number, layout_id=f"{city}-v1",
                      county_code="411202" if city == "smx" else "410105", data={"name": "x"},
                      at=applied or at_day(2024, 8, 1))
        return number

    def issue(self, permit_number: str, event: str = "first_issue", *, at: datetime | None = None,
              key: str | None = None) -> tuple[int, str]:
        """Run a job pending → writing → verifying → issued; returns (job id, card number)."""
        at = at or at_day(2024, 8, 5)
        n = next(self._n)
        card_number = f"C{permit_number}{n:03d}"
        job = start_issuance(self.session, self.actor, permit_number, CardEvent(event), card_number=card_number,
                             idempotency_key=key or f"k-{permit_number}-{n}", at=at)
        advance(self.session, job.id, JobState.WRITING, at=at)
        chip_key = bytes([n]) * 65
        record_chip_key(self.session, job.id, chip_key, at=at)
        advance(self.session, job.id, JobState.VERIFYING, at=at)
        record_issued(self.session, self.actor, job.id,
                      Verification(card_number, chip_key, b"\x01" * 32, passed=True), at=at)
        return job.id, card_number

    def issued_permit(self, city: str = "smx", *, issued: datetime | None = None) -> tuple[str, str]:
        number = self.pending_permit(city, applied=issued)
        _, card = self.issue(number, at=issued)
        return number, card


@pytest.fixture
def build(session: Session, actor: Actor) -> Builder:
    return Builder(session, actor)
