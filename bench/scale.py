"""City scale on PostgreSQL (issue 15, design §6): `python -m bench scale [--permits N]`.

A throwaway PostgreSQL cluster (bench.pg) loaded by COPY with N synthetic Zhengzhou permits, 10% of
their cards not active (bench.scale_load); then, each beside its design §6 target:

- the online status lookup at the database (`registry.publication.online_status`, the one joined query
  the API runs), p50/p99 over 2,000 cards spread over the table;
- the print station's queue query (`GET /api/permits?status=pending`), p50/p99;
- full status list generation (query + compact encoding + signature + publication row), its size on the
  wire, and the counter's load + verify (`StatusListCache.update`: signature, signer, decode, fsync);
- a day's 5,000 changes: the signed delta's size and the counter's apply time (verify, merge, digest);
- HTTP: `GET /api/status/{card}` against the trivial route of the same uvicorn server on this registry;
- two service processes issuing 200 permits from one queue onto in-process virtual cards beside one
  process issuing 200: throughput ratio and duplicates (a job run twice, a permit with two cards issued).
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench import http_bench, status_formats
from bench.env import BenchEnv, bench_permit, other_holder, renumbered
from bench.http_server import TRIVIAL
from bench.report import Figure, not_run, percentile
from bench.scale_load import Loaded, load
from cardsvc.api.auth import Role
from cardsvc.layout import Layout, builtin_layout

SECTION = "city scale (PostgreSQL)"
REPO = Path(__file__).resolve().parent.parent
LAYOUT_ID = "zz"
QUEUE_PERMITS = 200
DAY_CHANGES = 5_000
# Design §6 / issue 15 targets.
LIST_BYTES = 1_000_000
LIST_LOAD_S = 0.5
DELTA_BYTES = 50_000
DELTA_APPLY_S = 0.05
DB_P99_MS = 5.0
GENERATION_S = 10.0
TWO_PROCESS_RATIO = 1.6
HTTP_STATUS_SHARE = 0.7


def measure(env: BenchEnv, permits: int = 1_000_000, *, lookups: int = 2_000, http_seconds: float = 4.0,
            queue_permits: int = QUEUE_PERMITS) -> list[Figure]:
    from bench.pg import PgCluster, pg_bindir

    bindir = pg_bindir()
    if bindir is None:
        return [not_run(SECTION, "city scale", "", "no PostgreSQL binaries (/usr/lib/postgresql/*/bin)")]
    with PgCluster(bindir) as cluster:
        url = cluster.create_database("registry")
        from cardsvc.registry import migrate

        migrate(url)
        loaded = load(cluster.dsn("registry"), _layout(), permits)
        figures = [Figure(SECTION, f"load {permits:,} permits by COPY", loaded.seconds, "s",
                          note=f"{loaded.not_active:,} cards not active; applicants, permits, cards")]
        figures += _database(env, url, loaded, lookups)
        figures += status_formats.measure(permits, loaded.not_active, cbor=loaded.not_active <= 200_000)
        figures += _http(env, url, loaded, http_seconds)
        figures += _queue(env, url, queue_permits)
    return figures


def _layout() -> Layout:
    return builtin_layout(LAYOUT_ID)


def _ms(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return percentile(ordered, 50) * 1000, percentile(ordered, 99) * 1000


def _database(env: BenchEnv, url: str, loaded: Loaded, lookups: int) -> list[Figure]:
    from cardsvc.api.services.records import list_permits
    from cardsvc.registry import make_engine, publication, session_factory
    from cardsvc.registry.models import Card
    from cardsvc.security.ceremony import signer_name
    from cardsvc.security.keystore import EncryptedFileKeyStore
    from cardsvc.security.pki import SignerRole
    from cardsvc.status_list import StatusListCache, sign_status_delta, sign_status_list
    from cardsvc.status_list.scope import list_scope

    layout = _layout()
    scope = list_scope(layout)
    engine = make_engine(url)
    sessions = session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(5)
    out: list[Figure] = []
    try:
        # Online lookup at the database: the API's query, on one pooled connection.
        cards = [rng.choice(loaded.sample_cards) for _ in range(lookups)]
        times = []
        with engine.connect() as conn:
            for number in cards[:50]:  # warm the connection and the plan
                publication.online_status(conn, number, now)
            for number in cards:
                t = time.perf_counter()
                found = publication.online_status(conn, number, now)
                times.append(time.perf_counter() - t)
                if found is None:
                    raise RuntimeError(f"card {number} not found in the loaded registry")
        p50, p99 = _ms(times)
        out.append(Figure(SECTION, "status lookup at the database, p99", p99, "ms", target=DB_P99_MS,
                          higher_is_better=False, note=f"p50 {p50:.3f} ms over {lookups:,} cards, one joined query"))
        # The print station's queue: pending permits, newest first.
        times = []
        for _ in range(100):
            with sessions() as s:
                t = time.perf_counter()
                list_permits(s, "pending", 50)
                times.append(time.perf_counter() - t)
        p50, p99 = _ms(times)
        out.append(Figure(SECTION, "print queue query (pending permits), p99", p99, "ms",
                          note=f"p50 {p50:.2f} ms; GET /api/permits?status=pending&limit=50"))
        # Full list generation, size, counter load + verify.
        store = EncryptedFileKeyStore(env.keystore_dir, cache_private_keys=True, suite=env.suite)
        name = signer_name(SignerRole.DOCUMENT, scope.signer_authority)
        key, cert = store.private_key(name), store.certificate(name)
        lifetime = dt.timedelta(hours=24)
        t = time.perf_counter()
        with sessions.begin() as s:
            first = publication.publish(s, LAYOUT_ID, scope.issuer, now, lifetime,
                                        lambda index: sign_status_list(index, key, cert))
            first_sequence, first_blob = first.sequence, first.signed
        generation = time.perf_counter() - t
        out.append(Figure(SECTION, "full status list generation", generation, "s", target=GENERATION_S,
                          higher_is_better=False, note="joined Core query, compact encoding, signature, row"))
        out.append(Figure(SECTION, "full status list on the wire", len(first_blob), "bytes", target=LIST_BYTES,
                          higher_is_better=False, note=f"{loaded.not_active:,} entries of {loaded.permits:,} cards"))
        trust = env.keys.trust()
        with tempfile.TemporaryDirectory(prefix="cardsvc-counter-") as tmp:
            cache = StatusListCache(Path(tmp) / "status.cose", trust, lifetime, issuer=scope.issuer,
                                    signer_authority=scope.signer_authority, now=now)
            t = time.perf_counter()
            held = cache.update(first_blob, now)
            loaded_s = time.perf_counter() - t
            out.append(Figure(SECTION, "counter: full list load + verify", loaded_s, "s", target=LIST_LOAD_S,
                              higher_is_better=False, note=f"{len(held):,} entries; signature, signer, decode, "
                                                           "fsync to the cache file"))
            # A day's changes: lost, issued (leaves the list), cancelled.
            changed = _day_of_changes(sessions, loaded, rng)
            later = now + dt.timedelta(seconds=5)
            with sessions.begin() as s:
                current = publication.publish(s, LAYOUT_ID, scope.issuer, later, lifetime,
                                              lambda index: sign_status_list(index, key, cert))
                delta = publication.delta_since(s, first_sequence, current,
                                                lambda d: sign_status_delta(d, key, cert))
                current_blob = current.signed
            assert delta is not None
            out.append(Figure(SECTION, f"delta for a day's {changed:,} changes", len(delta), "bytes",
                              target=DELTA_BYTES, higher_is_better=False, note="signed, chained by sequence+digest"))
            t = time.perf_counter()
            applied = cache.apply_delta(delta, later)
            apply_s = time.perf_counter() - t
            full = StatusListCache(Path(tmp) / "check.cose", trust, lifetime, now=later).update(current_blob, later)
            same = applied.digest == full.digest
            out.append(Figure(SECTION, "counter: delta apply (verify, merge, digest)", apply_s, "s",
                              target=DELTA_APPLY_S, higher_is_better=False,
                              note=f"result {'equals' if same else 'DIFFERS FROM'} the full list #{full.sequence}"))
            if not same:
                raise RuntimeError("the delta applied at the counter differs from the full list")
        with sessions() as s:  # sanity: the registry really holds what was loaded
            count = s.scalar(select(func.count()).select_from(Card))
        if count != loaded.permits:
            raise RuntimeError(f"registry holds {count} cards, loaded {loaded.permits}")
    finally:
        engine.dispose()
    return out


def _day_of_changes(sessions: sessionmaker[Session], loaded: Loaded, rng: random.Random) -> int:
    """5,000 status changes as a day brings them: 2,500 losses, 1,500 pending cards issued, 1,000 cancels."""
    active = rng.sample(loaded.card_ids["active"], 3_500)
    pending = rng.sample(loaded.card_ids["pending"], min(1_500, len(loaded.card_ids["pending"])))
    with sessions.begin() as s:
        s.execute(text("UPDATE card SET status = 'lost' WHERE id = ANY(:ids)"), {"ids": active[:2_500]})
        s.execute(text("UPDATE card SET status = 'cancelled' WHERE id = ANY(:ids)"), {"ids": active[2_500:]})
        s.execute(text("UPDATE card SET status = 'active' WHERE id = ANY(:ids)"), {"ids": pending})
    return 3_500 + len(pending)


def _http(env: BenchEnv, url: str, loaded: Loaded, seconds: float) -> list[Figure]:
    tokens = http_bench.issue_tokens(url)
    root = Path(tempfile.mkdtemp(prefix="cardsvc-scale-http-", dir=env.root))
    card = loaded.sample_cards[len(loaded.sample_cards) // 3]
    with http_bench.Server(root, env.keystore_dir, root / "uvicorn.log", db_url=url) as server:
        counter = tokens[Role.COUNTER]
        trivial = http_bench.Request("GET", TRIVIAL)
        status = http_bench.Request("GET", f"/api/status/{card}", headers=http_bench.auth(counter))
        for request in (trivial, status):
            http_bench.run_load(server.port, request, 2, total=50)
        ceiling = http_bench.run_load(server.port, trivial, 8, seconds=seconds)
        lookups = http_bench.run_load(server.port, status, 8, seconds=seconds)
    return [Figure(SECTION, "HTTP trivial route, same server (the ceiling)", ceiling.per_second, "req/s",
                   note=_load_note(ceiling)),
            Figure(SECTION, f"HTTP status lookups ({loaded.permits:,} permits)", lookups.per_second, "req/s",
                   reference=ceiling.per_second, reference_name="trivial route, same server and run",
                   target=HTTP_STATUS_SHARE * ceiling.per_second, note=_load_note(lookups))]


def _load_note(load: http_bench.Load) -> str:
    note = (f"8 clients, {load.requests} requests, {load.errors} errors; p50 "
            f"{percentile(load.latencies, 50):.1f} ms, p99 {percentile(load.latencies, 99):.1f} ms")
    return note + ("; " + load.error_examples[0] if load.error_examples else "")


def _queue(env: BenchEnv, url: str, count: int) -> list[Figure]:
    """One process issues `count` permits from the queue; then two processes the next `count`."""
    from cardsvc.issuance.demo import register_permit
    from cardsvc.issuance.jobs import IssuanceService, IssueRequest
    from cardsvc.registry import make_engine, session_factory
    from cardsvc.registry.models import Card, IssuanceJob

    layout = _layout()
    base = bench_permit(layout, 31, photo_bytes=None)
    engine = make_engine(url)
    factory = session_factory(engine)
    from bench.queue_worker import ACTOR

    service = IssuanceService(factory, ACTOR, env.keys)
    runs: dict[int, tuple[float, Counter[int], list[int]]] = {}
    try:
        n = 0
        for processes in (1, 2):
            made = 0
            while made < count:
                n += 1
                permit = other_holder(renumbered(base, layout, n), n)
                with factory() as s:
                    if s.scalar(select(Card.id).where(Card.card_number == permit.card_number)) is not None:
                        continue  # a synthetic card already has this number
                register_permit(factory, ACTOR, permit, layout)
                service.start(IssueRequest(permit, layout, f"scale-{permit.card_number}"))
                made += 1
            runs[processes] = _run_workers(url, env, processes)
        with factory() as s:
            twice = s.scalar(select(func.count()).select_from(IssuanceJob).where(IssuanceJob.attempts > 1)) or 0
            # The synthetic registry has one card per permit: any permit with two active cards is a duplicate.
            issued = s.execute(select(Card.permit_id).where(Card.status == "active")
                               .group_by(Card.permit_id).having(func.count() > 1)).all()
    finally:
        engine.dispose()
    one_s, one_ran, _ = runs[1]
    two_s, two_ran, shares = runs[2]
    duplicates = sum(c - 1 for c in one_ran.values() if c > 1) + sum(c - 1 for c in two_ran.values() if c > 1)
    duplicates += int(twice) + len(issued)
    one_rate, two_rate = sum(one_ran.values()) / one_s, sum(two_ran.values()) / two_s
    return [
        Figure(SECTION, f"one service process: {count} permits from the queue", one_rate, "cards/s",
               note=f"{one_s:.1f} s, in-process virtual cards"),
        Figure(SECTION, f"two service processes: {count} permits, one queue", two_rate, "cards/s",
               reference=one_rate, reference_name="one process, same run", target=TWO_PROCESS_RATIO * one_rate,
               note=f"{two_s:.1f} s; jobs per process {shares}; target {TWO_PROCESS_RATIO}× one process"),
        Figure(SECTION, "permits issued twice (two processes, one queue)", duplicates, "jobs", target=0,
               higher_is_better=False, note="a job run twice, a job with 2 attempts, or a permit with 2 cards"),
    ]


def _run_workers(url: str, env: BenchEnv, processes: int) -> tuple[float, Counter[int], list[int]]:
    """Start `processes` queue workers, let them all go at once, and return (seconds to drain, job counts)."""
    cmd = [sys.executable, "-m", "bench.queue_worker", url, str(env.keystore_dir), LAYOUT_ID, "31"]
    workers = [subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(processes)]
    try:
        for w in workers:
            assert w.stdout is not None
            line = w.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"queue worker did not start: {line!r} {w.stderr.read()[-500:] if w.stderr else ''}")
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        outputs = [w.communicate(timeout=600) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    ran: Counter[int] = Counter()
    seconds = 0.0
    shares = []
    for w, (out, err) in zip(workers, outputs, strict=True):
        if w.returncode != 0:
            raise RuntimeError(f"queue worker failed: {err[-1000:]}")
        shares.append(sum(1 for line in out.splitlines() if line.endswith(" issued")))
        for line in out.splitlines():
            if line.startswith("done "):
                seconds = max(seconds, float(line.split()[1]))
            elif line.split()[1:] == ["issued"]:
                ran[int(line.split()[0])] += 1
            else:
                raise RuntimeError(f"queue worker: job not issued: {line}")
    return seconds, ran, shares
