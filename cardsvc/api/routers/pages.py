"""The web pages (counter, print station, endorsement, department counter) and the token login that sets their cookie.

Pages are static HTML + small vanilla JS (static/); they read everything through the API with the
cookie the login set. A page needs the same scope as its main API calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from cardsvc.api.auth import Principal, Role, Scope, authenticate, touch
from cardsvc.api.deps import COOKIE, CtxDep, SessionDep
from cardsvc.api.errors import ApiError

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PAGES = {"counter": Scope.VERIFY, "print": Scope.ISSUE, "endorse": Scope.ENDORSE,
         "duties": Scope.PERMITS_READ,  # the standing duties' lists (issue 16 item 2)
         "dept": Scope.DEPARTMENT_DATA}  # a department's records on the card (issue 16 item 1)
HOME = {Role.COUNTER: "/counter", Role.PRINT_STATION: "/print", Role.ENDORSEMENT: "/endorse", Role.ADMIN: "/print",
        Role.DEPARTMENT: "/dept"}


def _principal(request: Request, ctx: CtxDep, session: SessionDep) -> Principal | None:
    try:
        return authenticate(session, request.cookies.get(COOKIE), at=ctx.clock(), page=True)
    except ApiError:
        return None


@router.get("/")
def home(request: Request, ctx: CtxDep, session: SessionDep) -> Response:
    principal = _principal(request, ctx, session)
    return RedirectResponse("/login" if principal is None else HOME[principal.role], status_code=303)


@router.get("/login")
def login_page() -> FileResponse:
    return FileResponse(TEMPLATES / "login.html", media_type="text/html")


@router.post("/login")
def login(token: Annotated[str, Form(max_length=128)], ctx: CtxDep, session: SessionDep) -> Response:
    try:
        principal = authenticate(session, token.strip(), at=ctx.clock())
    except ApiError:
        return RedirectResponse("/login?error=1", status_code=303)
    touch(session, token.strip(), at=ctx.clock())  # a new page session: its idle time starts now
    response = RedirectResponse(HOME[principal.role], status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", max_age=12 * 3600)
    return response


@router.post("/logout")
def logout() -> Response:
    """POST only (a GET could be triggered by any page linking here); the Origin check applies."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def _page(name: str) -> object:
    def page(request: Request, ctx: CtxDep, session: SessionDep) -> Response:
        principal = _principal(request, ctx, session)
        if principal is None:
            return RedirectResponse(f"/login?next=/{name}", status_code=303)
        principal.require(PAGES[name])
        return FileResponse(TEMPLATES / f"{name}.html", media_type="text/html")

    page.__name__ = f"{name}_page"
    return page


for _name in PAGES:
    router.add_api_route(f"/{_name}", _page(_name), methods=["GET"])  # type: ignore[arg-type]
