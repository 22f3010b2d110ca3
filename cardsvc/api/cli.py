"""CLI subcommands of the service: `serve`, `tokens`, `readers`, `sim` (registered into `cardsvc`).

`register(subparsers)` adds them to the main `cardsvc` parser (cardsvc/cli.py); `python -m cardsvc.api.cli`
runs them alone. Every command takes `--json` for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cardsvc.api.auth import Role, issue_token, list_tokens, revoke_token
from cardsvc.api.settings import ReaderMode, Settings
from cardsvc.registry import make_engine, migrate, session_factory
from cardsvc.registry.audit import Actor

CLI_ACTOR = Actor("cli", os.environ.get("USER", "operator")[:64] or "operator", "admin")
VPCD_PORTS = (35963, 35964)  # design §5: vpcd's two readers


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str) if args.json else text)


def _settings(args: argparse.Namespace) -> Settings:
    base = Settings.from_env()
    if getattr(args, "db", None):
        base = replace(base, database_url=args.db)
    if getattr(args, "readers", None):
        base = replace(base, readers=ReaderMode(args.readers))
    return base


# --- serve -------------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cardsvc.api.app import create_app

    if args.dev:
        from cardsvc.api.devenv import bring_up

        env = bring_up(Path(args.var), use_pcscd=not args.no_pcscd)
        url = f"http://{args.host}:{args.port}/"
        readers = ", ".join(r.name for r in env.hub.readers())
        print(f"\n  cardsvc dev service: {url}\n  readers ({env.settings.readers.value}): {readers}\n"
              f"  admin token (shown once): {env.admin_token}\n  sign in at {url}login with that token\n",
              flush=True)
        try:
            # Pages hold 20 s long polls: do not wait for them on Ctrl-C.
            uvicorn.run(create_app(env.settings, hub=env.hub), host=args.host, port=args.port, log_level="info",
                        timeout_graceful_shutdown=2)
        finally:
            env.close()
        return 0
    settings = _settings(args)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=2)
    return 0


# --- tokens ------------------------------------------------------------------------------------------------
def cmd_tokens(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine=engine)
        with session_factory(engine).begin() as session:
            now = datetime.now(UTC)
            if args.tokens_cmd == "issue":
                issued = issue_token(session, CLI_ACTOR, role=Role(args.role), station_id=args.station,
                                     label=args.label, department=args.department, at=now)
                p = issued.principal
                _out(args, {"id": p.token_id, "role": p.role.value, "station_id": p.station_id,
                            "department": p.department, "token": issued.token},
                     f"token {p.token_id} ({p.role.value} @ {p.station_id}); shown once:\n{issued.token}")
            elif args.tokens_cmd == "list":
                rows = [{"id": r.id, "role": r.role, "station_id": r.station_id, "department": r.department,
                         "label": r.label, "revoked": r.revoked_at is not None} for r in list_tokens(session)]
                _out(args, rows, "\n".join(f"{r['id']:>4} {r['role']:<14} {r['station_id']:<20} "
                                           f"{r['department'] or '':<16} {'revoked' if r['revoked'] else ''}"
                                           for r in rows) or "no tokens")
            else:
                row = revoke_token(session, CLI_ACTOR, args.id, at=now)
                _out(args, {"id": row.id, "revoked": True}, f"token {row.id} revoked")
    finally:
        engine.dispose()
    return 0


# --- readers -----------------------------------------------------------------------------------------------
def cmd_readers(args: argparse.Namespace) -> int:
    from cardsvc.transport.pcsc import list_readers

    def show() -> None:
        rows = [{"name": s.name, "present": s.present, "atr": s.atr.hex().upper()} for s in list_readers()]
        _out(args, rows, "\n".join(f"{'●' if r['present'] else '○'} {r['name']}  {r['atr']}" for r in rows)
             or "no readers")

    show()
    if args.watch:
        from cardsvc.transport.monitor import CardMonitor

        with CardMonitor(report_present=False) as monitor:
            for event in monitor:
                _out(args, {"event": event.kind.value, "reader": event.reader, "atr": event.atr.hex().upper()},
                     f"{event.kind.value}: {event.reader}")
    return 0


# --- sim: virtual cards in vpcd's readers ------------------------------------------------------------------
def _pidfile(var: Path, port: int) -> Path:
    return var / "sim" / f"{port}.pid"


def cmd_sim(args: argparse.Namespace) -> int:
    var = Path(args.var)
    if args.sim_cmd == "start":
        (var / "sim").mkdir(parents=True, exist_ok=True)
        procs = []
        for i, port in enumerate(VPCD_PORTS[:args.readers]):
            card = var / "cards" / f"vpcd-{i}.cbor"
            card.parent.mkdir(parents=True, exist_ok=True)
            # The simulator is its own process (python -m simulator): cardsvc never imports it.
            proc = subprocess.Popen([sys.executable, "-m", "simulator", "--port", str(port), "--card", str(card)])
            _pidfile(var, port).write_text(str(proc.pid))
            procs.append(proc)
            _out(args, {"port": port, "card": str(card), "pid": proc.pid},
                 f"virtual card {card} in the vpcd reader on port {port} (pid {proc.pid})")
        if args.detach:
            return 0
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=10)
                for port in VPCD_PORTS:
                    _pidfile(var, port).unlink(missing_ok=True)
        return 0
    port = VPCD_PORTS[args.reader]
    pidfile = _pidfile(var, port)
    if not pidfile.exists():
        print(f"no virtual card runs in reader {args.reader} (start one with 'cardsvc sim start')", file=sys.stderr)
        return 2
    pid = int(pidfile.read_text())
    if args.sim_cmd == "toggle":
        os.kill(pid, signal.SIGUSR1)  # simulator: SIGUSR1 removes / re-inserts the card
        _out(args, {"reader": args.reader, "pid": pid, "toggled": True}, f"card in reader {args.reader} toggled")
    else:
        os.kill(pid, signal.SIGTERM)  # saves the image and exits
        pidfile.unlink(missing_ok=True)
        _out(args, {"reader": args.reader, "pid": pid, "stopped": True}, f"virtual card {pid} stopped")
    return 0


def register(subparsers: Any) -> None:
    """Add `serve`, `tokens`, `readers`, `sim` to the `cardsvc` command."""
    def common(p: argparse.ArgumentParser, nested: bool = False) -> argparse.ArgumentParser:
        # A nested parser must not reset a --json given before its command (argparse sub-parser defaults win).
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS if nested else False,
                       help="machine-readable output")
        return p

    p = common(subparsers.add_parser("serve", help="run the web service (API + pages)"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--dev", action="store_true", help="dev bring-up: var/ registry, dev keys, virtual cards")
    p.add_argument("--var", default="var", help="dev state directory (default var/)")
    p.add_argument("--no-pcscd", action="store_true", help="dev: in-process virtual readers, never pcscd")
    p.add_argument("--readers", choices=[m.value for m in ReaderMode], help="reader mode (default $CARDSVC_READERS)")
    p.add_argument("--db", help="database URL (default $CARDSVC_DB_URL)")
    p.set_defaults(func=cmd_serve)

    p = common(subparsers.add_parser("tokens", help="issue, list and revoke API tokens (admin)"))
    p.add_argument("--db", help="database URL (default $CARDSVC_DB_URL)")
    sub = p.add_subparsers(dest="tokens_cmd", required=True)
    issue = common(sub.add_parser("issue", help="issue a token (printed once)"), nested=True)
    issue.add_argument("--role", required=True, choices=[r.value for r in Role])
    issue.add_argument("--station", required=True, help="station id the token is bound to")
    issue.add_argument("--label", required=True, help="operator or purpose (audit log)")
    issue.add_argument("--department", help="department tokens only (e.g. education)")
    common(sub.add_parser("list", help="list tokens"), nested=True)
    revoke = common(sub.add_parser("revoke", help="revoke a token"), nested=True)
    revoke.add_argument("id", type=int)
    p.set_defaults(func=cmd_tokens)

    p = common(subparsers.add_parser("readers", help="list PC/SC readers (and --watch card events)"))
    p.add_argument("--watch", action="store_true")
    p.set_defaults(func=cmd_readers)

    p = common(subparsers.add_parser("sim", help="virtual cards in vpcd's readers (python -m simulator)"))
    p.add_argument("--var", default="var")
    sub = p.add_subparsers(dest="sim_cmd", required=True)
    start = common(sub.add_parser("start", help="a virtual card in each vpcd reader (until Ctrl-C)"), nested=True)
    start.add_argument("--readers", type=int, choices=(1, 2), default=2)
    start.add_argument("--detach", action="store_true", help="leave them running; stop with 'sim stop'")
    for name, text in (("toggle", "remove / re-insert the card"), ("stop", "stop the virtual card")):
        q = common(sub.add_parser(name, help=text), nested=True)
        q.add_argument("--reader", type=int, choices=(0, 1), default=0)
    p.set_defaults(func=cmd_sim)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cardsvc", description="residence-permit card service")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except Exception as exc:
        from cardsvc.iso7816.errors import CardError

        if not isinstance(exc, CardError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
