"""`cardsvc serve`, `cardsvc tokens`, `cardsvc readers`: the web service and what an operator runs beside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cardsvc.cli.common import LazyChoice, card_side, emit, json_option, settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cardsvc.registry.audit import Actor
    from cardsvc.settings import Settings


def _reader_modes() -> list[str]:
    from cardsvc.settings import ReaderMode

    return [m.value for m in ReaderMode]


def _roles() -> list[str]:
    from cardsvc.roles import Role

    return [r.value for r in Role]


@click.command("serve", help="run the web service (API + pages)")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--dev", is_flag=True, help="dev bring-up: var/ registry, dev keys, virtual cards")
@click.option("--var", default="var", show_default=True, help="dev state directory")
@click.option("--no-pcscd", is_flag=True, help="dev: in-process virtual readers, never pcscd")
@click.option("--readers", type=LazyChoice("MODE", _reader_modes),
              help="reader mode: pcsc, virtual or none (default $CARDSVC_READERS)")
@click.option("--db", metavar="URL", help="database URL (default $CARDSVC_DB_URL)")
@json_option
def serve(host: str, port: int, dev: bool, var: str, no_pcscd: bool, readers: str | None, db: str | None) -> int:
    import uvicorn

    from cardsvc.api.app import create_app

    if dev:
        side = card_side()
        env = side.bring_up(Path(var), use_pcscd=not no_pcscd)
        url = f"http://{host}:{port}/"
        names = [r.name for r in env.hub.readers()]
        emit({"url": url, "readers": names, "reader_mode": env.settings.readers.value, "admin_token": env.admin_token},
             f"\n  cardsvc dev service: {url}\n  readers ({env.settings.readers.value}): {', '.join(names)}\n"
             f"  admin token (shown once): {env.admin_token}\n  sign in at {url}login with that token\n", line=True)
        try:
            # Pages hold 20 s long polls: do not wait for them on Ctrl-C.
            uvicorn.run(create_app(env.settings, hub=env.hub, card_side=side), host=host, port=port,
                        log_level="info", timeout_graceful_shutdown=2)
        finally:
            env.close()
        return 0
    app = create_app(settings(database_url=db, readers=readers))
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=2)
    return 0


# --- tokens ------------------------------------------------------------------------------------------------
@click.group("tokens", help="issue, list and revoke API tokens (admin)")
@click.option("--db", metavar="URL", help="database URL (default $CARDSVC_DB_URL)")
@json_option
@click.pass_context
def tokens(ctx: click.Context, db: str | None) -> None:
    ctx.obj = settings(database_url=db)


@contextmanager
def _admin(ctx: click.Context) -> Iterator[tuple[Session, Actor]]:
    """A transaction on the registry (migrated first) and the CLI's admin actor for the audit log."""
    from cardsvc.registry import make_engine, migrate, session_factory
    from cardsvc.registry.audit import Actor

    s: Settings = ctx.obj  # the `tokens` group's
    engine = make_engine(s.database_url)
    try:
        migrate(engine=engine)
        with session_factory(engine).begin() as session:
            yield session, Actor("cli", s.operator, "admin")
    finally:
        engine.dispose()


@tokens.command("issue", help="issue a token (printed once)")
@click.option("--role", type=LazyChoice("ROLE", _roles), required=True,
              help="print_station, counter, endorsement, department or admin")
@click.option("--station", required=True, help="station id the token is bound to")
@click.option("--label", required=True, help="operator or purpose (audit log)")
@click.option("--department", help="department tokens only (e.g. education)")
@click.option("--expires-in", "expires_in", type=click.IntRange(1, 730 * 24), metavar="HOURS",
              help="lifetime in hours (default per role: a year for stations, a week for admins)")
@json_option
@click.pass_context
def tokens_issue(ctx: click.Context, role: str, station: str, label: str, department: str | None,
                 expires_in: int | None) -> int:
    from cardsvc.api.auth import issue_token
    from cardsvc.roles import Role

    with _admin(ctx) as (session, who):
        issued = issue_token(session, who, role=Role(role), station_id=station, label=label, department=department,
                             at=datetime.now(UTC), lifetime=None if expires_in is None else timedelta(hours=expires_in))
        p = issued.principal
        emit({"id": p.token_id, "role": p.role.value, "station_id": p.station_id, "department": p.department,
              "expires_at": issued.expires_at.isoformat(), "token": issued.token},
             f"token {p.token_id} ({p.role.value} @ {p.station_id}, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC); "
             f"shown once:\n{issued.token}", line=True)
    return 0


@tokens.command("list", help="list tokens")
@json_option
@click.pass_context
def tokens_list(ctx: click.Context) -> int:
    from cardsvc.api.auth import list_tokens

    with _admin(ctx) as (session, _):
        rows = [{"id": r.id, "role": r.role, "station_id": r.station_id, "department": r.department,
                 "label": r.label, "revoked": r.revoked_at is not None} for r in list_tokens(session)]
    emit(rows, "\n".join(f"{r['id']:>4} {r['role']:<14} {r['station_id']:<20} {r['department'] or '':<16} "
                         f"{'revoked' if r['revoked'] else ''}" for r in rows) or "no tokens", line=True)
    return 0


@tokens.command("revoke", help="revoke a token")
@click.argument("token_id", type=int, metavar="ID")
@json_option
@click.pass_context
def tokens_revoke(ctx: click.Context, token_id: int) -> int:
    from cardsvc.api.auth import revoke_token

    with _admin(ctx) as (session, who):
        row = revoke_token(session, who, token_id, at=datetime.now(UTC))
        emit({"id": row.id, "revoked": True}, f"token {row.id} revoked", line=True)
    return 0


# --- readers -----------------------------------------------------------------------------------------------
@click.command("readers", help="list PC/SC readers (and --watch card events)")
@click.option("--watch", is_flag=True, help="then print card events until Ctrl-C")
@json_option
def readers(watch: bool) -> int:
    from cardsvc.transport.pcsc import list_readers

    rows = [{"name": s.name, "present": s.present, "atr": s.atr.hex().upper()} for s in list_readers()]
    emit(rows, "\n".join(f"{'●' if r['present'] else '○'} {r['name']}  {r['atr']}" for r in rows) or "no readers",
         line=True)
    if watch:
        from cardsvc.transport.monitor import CardMonitor

        with CardMonitor(report_present=False) as monitor:
            for event in monitor:
                emit({"event": event.kind.value, "reader": event.reader, "atr": event.atr.hex().upper()},
                     f"{event.kind.value}: {event.reader}", line=True)
    return 0
