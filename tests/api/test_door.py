"""Issue 13 item 5, through a real uvicorn server process: authentication before the body is read, the
body limit enforced while streaming, Origin on cookie-authenticated changes, POST-only logout and the
security headers. Four unauthenticated and four oversized 50 MB bodies grow the server by < 20 MB."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cardsvc.api.auth import Role, issue_token
from cardsvc.registry import Actor, make_engine, migrate, session_factory

FIFTY_MB = 50 * 1024 * 1024
SERVER = """
import sys, uvicorn
from cardsvc.api import ReaderMode, Settings, create_app
settings = Settings(database_url=sys.argv[1], keystore_dir=sys.argv[2], readers=ReaderMode.NONE)
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path) -> Iterator[tuple[int, int, str]]:
    """(port, server pid, counter token)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('door') / 'registry.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        token = issue_token(s, Actor("setup", "pytest", "admin"), role=Role.COUNTER, station_id="counter-1",
                            label="counter", department=None, at=datetime.now(UTC)).token
    engine.dispose()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, url, str(keys_dir), str(port)], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield port, proc.pid, token
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send(port: int, head: str, *, body: int = 0, chunked: bool = False) -> tuple[int, str]:
    """Send `head`, then up to `body` bytes while reading; the status line and the headers received."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(head.encode() + b"\r\n")

    def pump() -> None:
        chunk = b"{" + b" " * 65534 + b"\n"
        sent = 0
        try:
            while sent < body:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                sent += len(chunk)
        except OSError:  # the server answered and closed: what we want
            pass

    writer = threading.Thread(target=pump, daemon=True)
    writer.start()
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                break
            received += data
    finally:
        sock.close()
        writer.join(timeout=20)
    status_line, _, headers = received.decode("latin-1").partition("\r\n")
    return int(status_line.split()[1]), headers.lower()


def test_unauthenticated_and_oversized_bodies_are_refused_unread(server: tuple[int, int, str]) -> None:
    port, pid, token = server
    before = rss_kb(pid)
    for _ in range(4):  # the issue's attack: 50 MB JSON without a token
        status, _ = send(port, f"POST /api/applications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               f"Content-Length: {FIFTY_MB}\r\n", body=FIFTY_MB)
        assert status == 401
    for _ in range(2):  # with a token, declared too large: refused before reading
        status, _ = send(port, f"POST /api/applications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                               f"Content-Type: application/json\r\nContent-Length: {FIFTY_MB}\r\n", body=FIFTY_MB)
        assert status == 413
    for _ in range(2):  # with a token, no length declared: refused while streaming, at the limit
        status, _ = send(port, f"POST /api/verify/qr HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", body=FIFTY_MB,
                         chunked=True)
        assert status == 413
    grown_mb = (rss_kb(pid) - before) / 1024
    assert grown_mb < 20, f"server memory grew by {grown_mb:.1f} MB"


def test_cookie_changes_need_our_origin_and_logout_is_post(server: tuple[int, int, str]) -> None:
    port, _, token = server
    body = '{"text": "x"}'
    cookie = f"Cookie: cardsvc_token={token}\r\n"
    head = (f"POST /api/verify/qr HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{cookie}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n")
    cross, _ = send(port, head + "Origin: https://evil.example\r\n\r\n" + body)
    assert cross == 403
    missing, _ = send(port, head + "\r\n" + body)
    assert missing == 403
    own, _ = send(port, head + f"Origin: http://127.0.0.1:{port}\r\n\r\n" + body)
    assert own == 200
    bearer, _ = send(port, f"POST /api/verify/qr HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    assert bearer == 200  # a bearer token is no ambient credential: no Origin needed
    get_logout, _ = send(port, "GET /logout HTTP/1.1\r\nHost: x\r\n\r\n")
    assert get_logout == 405


def test_security_headers_on_personal_data(server: tuple[int, int, str]) -> None:
    port, _, token = server
    status, headers = send(port, f"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n")
    assert status == 200
    assert "x-frame-options: deny" in headers and "cache-control: no-store" in headers
    assert "content-security-policy: default-src 'self'" in headers
    status, headers = send(port, "GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and "content-security-policy" in headers and "x-frame-options: deny" in headers
