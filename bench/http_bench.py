"""HTTP: status lookups and verifications per second with N concurrent clients against uvicorn, beside a
trivial FastAPI route of the same server (the framework's ceiling); p50/p99 latency; and the soak —
10,000 verifications with 16 concurrent clients, no error, server memory flat.

The server is a uvicorn process (one worker) on a free local port with a fresh SQLite registry, this
run's key store and in-process virtual readers; tokens are issued before it starts. A card is issued
through the API itself (sample application → job → blank card on the desk → run) and its image is what
the clients upload to /api/verify/image. Clients are threads with one keep-alive connection each.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.env import BenchEnv
from bench.http_server import TRIVIAL
from bench.report import Campaign, Figure, percentile
from cardsvc.api.auth import Role, issue_token
from cardsvc.registry import make_engine, migrate, session_factory
from cardsvc.registry.audit import Actor

SECTION = "http"
REPO = Path(__file__).resolve().parent.parent
STATUS_SHARE_TARGET = 0.7  # design §6 (raised by issue 15): status lookups ≥ 70% of a trivial FastAPI endpoint
VERIFY_SHARE_TARGET = 0.7  # design §6: image verifications over HTTP ≥ 70% of the in-process single-thread rate
READER = "Virtual Reader 0"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Load:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms, sorted after the run
    error_examples: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """uvicorn running bench.http_server in a child process; stopped and reaped on exit."""

    def __init__(self, root: Path, keystore: Path, log_path: Path, *, db_url: str | None = None) -> None:
        self.port = free_port()
        self.env = {**os.environ, "CARDSVC_DB_URL": db_url or f"sqlite:///{root / 'registry.sqlite3'}",
                    "CARDSVC_KEYSTORE": str(keystore), "CARDSVC_READERS": "virtual", "CARDSVC_DEV": "1",
                    "CARDSVC_STATION": "bench-service"}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "bench.http_server:create", "--factory", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
                cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode} (log: {self.log_path})")
            with contextlib.suppress(OSError):
                status, _ = call(self.port, Request("GET", TRIVIAL))
                if status == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"uvicorn did not answer within 30 s (log: {self.log_path})")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def rss_mb(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def call(port: int, request: Request, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        c.request(request.method, request.path, body=request.body or None, headers=dict(request.headers))
        response = c.getresponse()
        return response.status, response.read()
    finally:
        if own:
            c.close()


def auth(token: str, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {token}"), *extra)


def api_json(port: int, token: str, method: str, path: str, payload: object | None = None,
             expect: tuple[int, ...] = (200, 201, 202)) -> Any:
    body = b"" if payload is None else json.dumps(payload).encode()
    status, raw = call(port, Request(method, path, body, auth(token, ("Content-Type", "application/json"))))
    if status not in expect:
        raise RuntimeError(f"{method} {path}: HTTP {status}: {raw[:300]!r}")
    return json.loads(raw) if raw else None


def issue_tokens(db_url: str) -> dict[Role, str]:
    """Migrate the registry and issue one token per role the benchmark uses (before the server starts)."""
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with session_factory(engine).begin() as s:
            actor = Actor("bench-setup", "bench", "admin")
            at = datetime.now(UTC)
            return {role: issue_token(s, actor, role=role, station_id=f"bench-{role.value}",
                                      label=f"bench {role.value}", department=None, at=at).token
                    for role in (Role.COUNTER, Role.PRINT_STATION, Role.ADMIN)}
    finally:
        engine.dispose()


def issue_card(port: int, tokens: dict[Role, str], layout_id: str = "zz") -> tuple[str, bytes]:
    """Through the API: sample application → job → blank card → run; returns (card number, card image)."""
    counter, station = tokens[Role.COUNTER], tokens[Role.PRINT_STATION]
    permit = api_json(port, counter, "POST", "/api/applications/sample", {"layout_id": layout_id, "seed": 3})
    job = api_json(port, station, "POST", "/api/jobs", {"permit_number": permit["permit_number"]})
    card = api_json(port, station, "POST", "/api/desk/insert", {"reader": READER})
    api_json(port, station, "POST", f"/api/jobs/{job['id']}/run", {"reader": READER})
    deadline = time.monotonic() + 60
    while True:
        state = api_json(port, station, "GET", f"/api/jobs/{job['id']}")
        if not state.get("progress", {}).get("running") and state["state"] in ("issued", "failed",
                                                                                 "failed_retryable"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"issuance job did not finish: {state}")
        time.sleep(0.05)
    if state["state"] != "issued":
        raise RuntimeError(f"issuance through the API failed: {state}")
    # The image carries the card's secret keys: a dev service gives it to an admin only (issue 13).
    status, image = call(port, Request("GET", f"/api/desk/{card['card_id']}/image", headers=auth(tokens[Role.ADMIN])))
    if status != 200:
        raise RuntimeError(f"card image export: HTTP {status}")
    return state["card_number"], image


def multipart(image: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"card.cbor\"\r\n"
            f"Content-Type: application/cbor\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def run_load(port: int, request: Request, clients: int, *, seconds: float | None = None,
             total: int | None = None, check: Any = None) -> Load:
    """`clients` threads send `request` until `seconds` pass or `total` requests are done."""
    load = Load()
    lock = threading.Lock()
    budget = [total if total is not None else -1]
    stop_at = time.perf_counter() + (seconds if seconds is not None else 1e9)

    def take() -> bool:
        with lock:
            if budget[0] == 0:
                return False
            budget[0] -= 1
            return True

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        errors: list[str] = []
        try:
            while time.perf_counter() < stop_at and take():
                t0 = time.perf_counter()
                try:
                    status, raw = call(port, request, conn)
                    bad = status != 200 or (check is not None and not check(raw))
                except (OSError, http.client.HTTPException) as exc:
                    status, raw, bad = 0, repr(exc).encode(), True
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                mine.append((time.perf_counter() - t0) * 1000)
                if bad:
                    errors.append(f"HTTP {status}: {raw[:160]!r}")
        finally:
            conn.close()
            with lock:
                load.latencies += mine
                load.requests += len(mine)
                load.errors += len(errors)
                load.error_examples += errors[: max(0, 5 - len(load.error_examples))]

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    load.seconds = time.perf_counter() - start
    load.latencies.sort()
    return load


def _genuine(raw: bytes) -> bool:
    try:
        return bool(json.loads(raw).get("valid"))
    except ValueError:
        return False


def _figure(name: str, load: Load, clients: int, ceiling: Load | None = None, target: float | None = None) -> Figure:
    note = (f"{clients} clients, {load.requests} requests, {load.errors} errors; p50 "
            f"{percentile(load.latencies, 50):.1f} ms, p99 {percentile(load.latencies, 99):.1f} ms")
    if load.error_examples:
        note += "; " + load.error_examples[0]
    return Figure(SECTION, name, load.per_second, "req/s", reference=ceiling.per_second if ceiling else None,
                  reference_name="trivial FastAPI route, same server and run" if ceiling else "",
                  target=None if target is None or ceiling is None else target * ceiling.per_second, note=note)


@contextlib.contextmanager
def service(env: BenchEnv) -> Iterator[tuple[Server, dict[Role, str], str, bytes]]:
    root = env.root / f"http-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True)
    tokens = issue_tokens(f"sqlite:///{root / 'registry.sqlite3'}")
    with Server(root, env.keystore_dir, root / "uvicorn.log") as server:
        card_number, image = issue_card(server.port, tokens)
        yield server, tokens, card_number, image


def measure(env: BenchEnv, clients: int = 8, seconds: float = 4.0, verify_seconds: float = 6.0) -> list[Figure]:
    with service(env) as (server, tokens, card_number, image):
        port, counter = server.port, tokens[Role.COUNTER]
        trivial = Request("GET", TRIVIAL)
        status = Request("GET", f"/api/status/{card_number}", headers=auth(counter))
        body, content_type = multipart(image)
        verify = Request("POST", "/api/verify/image", body, auth(counter, ("Content-Type", content_type)))
        for request in (trivial, status, verify):  # warm every route
            run_load(port, request, 2, total=20)
        ceiling = run_load(port, trivial, clients, seconds=seconds)
        lookups = run_load(port, status, clients, seconds=seconds)
        verifications = run_load(port, verify, clients, seconds=verify_seconds, check=_genuine)
        figure = _figure("verifications (card image upload)", verifications, clients, ceiling)
        figure = replace(figure, note=figure.note + f"; the same image verified in-process, one thread: "
                                                    f"{in_process_rate(env, image):.0f}/s")
        return [
            _figure("trivial FastAPI route (the ceiling)", ceiling, clients),
            _figure("status lookups", lookups, clients, ceiling, STATUS_SHARE_TARGET),
            figure,
        ]


def in_process_rate(env: BenchEnv, image: bytes, count: int = 20) -> float:
    """Load the card image and verify it, `count` times, without HTTP: what one verification costs."""
    from bench.cards import verify
    from cardsvc.layout import builtin_layout
    from simulator import InProcessConnection, VirtualCard

    layout = builtin_layout("zz")
    start = time.perf_counter()
    for _ in range(count):
        verify(env, layout, InProcessConnection(VirtualCard.from_bytes(image)))
    return count / (time.perf_counter() - start)


def soak(env: BenchEnv, total: int = 10_000, clients: int = 16) -> tuple[Campaign, list[Figure]]:
    """`total` verifications with `clients` concurrent clients; memory sampled while it runs."""
    campaign = Campaign("HTTP soak: verifications with 16 clients")
    with service(env) as (server, tokens, _card_number, image):
        body, content_type = multipart(image)
        verify = Request("POST", "/api/verify/image", body, auth(tokens[Role.COUNTER], ("Content-Type", content_type)))
        run_load(server.port, verify, clients, total=200, check=_genuine)  # warm-up: caches, pools, arenas
        samples: list[float] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.5):
                samples.append(server.rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        before = server.rss_mb()
        sampler.start()
        load = run_load(server.port, verify, clients, total=total, check=_genuine)
        done.set()
        sampler.join()
        after = server.rss_mb()
    in_process = in_process_rate(env, image)
    campaign.cases, campaign.failures, campaign.seconds = load.requests, load.errors, load.seconds
    campaign.examples = load.error_examples
    quarter = max(1, len(samples) // 4)
    first = sum(samples[:quarter]) / quarter if samples else before
    last = sum(samples[-quarter:]) / quarter if samples else after
    campaign.counts = {"rss MB at start": round(before), "rss MB at end": round(after)}
    figures = [
        Figure(SECTION, f"soak: {total:,} verifications, {clients} clients", load.per_second, "req/s",
               reference=in_process, reference_name="the same image verified in-process, one thread",
               target=VERIFY_SHARE_TARGET * in_process,
               note=f"{load.errors} errors; p50 {percentile(load.latencies, 50):.1f} ms, "
                    f"p99 {percentile(load.latencies, 99):.1f} ms; {load.seconds:.0f} s"),
        Figure(SECTION, "soak: server memory, last vs first quarter", last, "MB", reference=first,
               reference_name=f"first quarter mean; start {before:.0f} MB, end {after:.0f} MB",
               target=first * 1.10 + 5, higher_is_better=False),
    ]
    return campaign, figures
