"""The service's door (design §7, issue 13): one pure ASGI middleware in front of every route.

In this order, before any route code runs:
1. a request to `/api` must authenticate (bearer token or the pages' cookie) before its body is read: an
   unauthenticated request gets 401 with its body never received;
2. a cookie-authenticated state change (any method but GET/HEAD/OPTIONS; `POST /login` carries its own
   token) must come from our own origin (`Origin`, else `Referer`, equal to the request's scheme://host):
   no cross-site form posts;
3. the body is read while streaming and refused with 413 as soon as it passes the limit (a declared
   `Content-Length` over it is refused before reading), so no route or parser ever holds more;
4. every response gets `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`, a CSP for our pages,
   and `Cache-Control: no-store` unless it is a static asset (responses carry personal data).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from anyio import to_thread

from cardsvc.api.errors import ApiError

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
# (token, from the pages' cookie) → None; raises ApiError(401) for a missing/unknown/expired/idle token
Authenticate = Callable[[str | None, bool], None]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Our pages load only our own scripts and styles; the photo comes as a data: URL. /docs (Swagger UI,
# served from a CDN) keeps FastAPI's own page without this policy.
CSP = ("default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
NO_CSP = ("/docs", "/redoc")
COOKIE = "cardsvc_token"


def _problem(status: int, kind: str, detail: str, path: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps({"type": f"urn:cardsvc:problem:{kind}", "title": kind.replace("-", " "), "status": status,
                       "detail": detail, "instance": path}).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    return body, headers


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def credentials(scope: Scope) -> tuple[str | None, bool]:
    """(token, from_cookie): the bearer token if sent, else the pages' cookie."""
    auth = _header(scope, b"authorization")
    if auth is not None:
        kind, _, token = auth.partition(" ")
        return (token.strip() if kind.lower() == "bearer" else None), False
    cookie = _header(scope, b"cookie")
    if cookie:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie)
        except Exception:  # a malformed cookie header is no credential
            return None, False
        if COOKIE in jar:
            return jar[COOKIE].value, True
    return None, False


def same_origin(scope: Scope) -> bool:
    """`Origin` (else `Referer`) names this very service: scheme and host as the request reached us."""
    host = _header(scope, b"host")
    claimed = _header(scope, b"origin") or _header(scope, b"referer")
    if not host or not claimed or claimed == "null":
        return False
    parts = urlsplit(claimed)
    return parts.scheme == scope.get("scheme", "http") and parts.netloc == host


class Door:
    """See the module doc. `authenticate` checks a token against the registry (run on a worker thread);
    `max_body` is the largest request body any route takes."""

    def __init__(self, app: App, *, authenticate: Authenticate, max_body: int,
                 known: Callable[[str | None], bool] | None = None) -> None:
        self.app = app
        self.authenticate = authenticate
        self.known = known  # a token authenticated moments ago (cache on the loop): no thread hop, no query
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        method = str(scope.get("method", "GET")).upper()
        send = self._with_headers(send, path)
        token, from_cookie = credentials(scope)
        if path.startswith("/api/") and not (self.known is not None and self.known(token)):
            try:
                await to_thread.run_sync(self.authenticate, token, from_cookie)
            except ApiError as exc:
                await self._refuse(send, exc.status, exc.kind, exc.detail, path)
                return
        # POST /login authenticates by the token in its form, not by the cookie it may also carry.
        if method not in SAFE_METHODS and from_cookie and path != "/login" and not same_origin(scope):
            await self._refuse(send, 403, "cross-origin", "Origin: a cookie-authenticated change must come from "
                               "this service's own pages", path)
            return
        if method in SAFE_METHODS and _header(scope, b"content-length") in (None, "0"):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._refuse(send, 413, "too-large", f"body: {declared} bytes, the limit is {self.max_body}", path)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await self._refuse(send, 413, "too-large", f"body: more than the limit of {self.max_body} bytes", path)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, send: Send, status: int, kind: str, detail: str, path: str) -> None:
        body, headers = _problem(status, kind, detail, path)
        headers.append((b"connection", b"close"))  # the unread body is not ours to drain
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _with_headers(send: Send, path: str) -> Send:
        extra = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                 (b"referrer-policy", b"same-origin")]
        if not path.startswith(NO_CSP):
            extra.append((b"content-security-policy", CSP.encode()))
        if not path.startswith("/static/"):
            extra.append((b"cache-control", b"no-store"))

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {bytes(k).lower() for k, _ in message.get("headers", ())}
                message["headers"] = [*message.get("headers", ()), *((k, v) for k, v in extra if k not in names)]
            await send(message)

        return wrapped


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect like the server would

    return replay
