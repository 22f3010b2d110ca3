"""`cardsvc`: the command line of stations, counters and operators.

Subcommands here: `keys init` (key ceremony), `issue` (personalize cards: one or a batch across readers,
with a progress line), `endorse` (write the yearly endorsement / sync the card with the registry),
`status` (a permit or card in the registry). Other packages add theirs through `register(subparsers)` in
the modules listed in PLUGINS (verification: `verify`, `read`; the service: `serve`, `tokens`, ...).

Cards: `--reader NAME` (PC/SC, exact name or unique prefix; repeat it for a batch across readers) or
`--card FILE` (a virtual card image, .json or .cbor; created blank when missing, saved afterwards). The
virtual card is card-side code that cardsvc never imports (design §3): `open_card_file` loads the
simulator by name at run time, the one plug-in seam of this module.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import os
import random
import shutil
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cardsvc.iso7816.errors import CardError
from cardsvc.layout import builtin_layout, builtin_layouts
from cardsvc.transport.base import Connection

log = logging.getLogger(__name__)

PLUGINS = ("cardsvc.verification.cli", "cardsvc.api.cli")
KEYSTORE_ENV = "CARDSVC_KEYSTORE"
DEFAULT_KEYSTORE = Path("var") / "keystore"
CardFileOpener = Callable[[Path], tuple[Connection, Callable[[], None]]]  # → (connection, save)


def open_card_file(path: Path) -> tuple[Connection, Callable[[], None]]:
    """A virtual card image through the in-process transport; returns (connection, save)."""
    card_module = importlib.import_module("simulator.card")
    transport = importlib.import_module("simulator.transport")
    card = card_module.VirtualCard.load(path) if path.exists() else card_module.VirtualCard.blank()
    connection: Connection = transport.InProcessConnection(card)
    return connection, lambda: card.save(path)


# ---------------------------------------------------------------- shared options and helpers

def _add_station(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="registry database URL (default $CARDSVC_DB_URL or var/)")
    parser.add_argument("--keystore", type=Path, metavar="DIR",
                        default=Path(os.environ.get(KEYSTORE_ENV, DEFAULT_KEYSTORE)),
                        help="key store (passphrase from CARDSVC_KEYSTORE_PASSPHRASE)")
    parser.add_argument("--station", default=os.environ.get("CARDSVC_STATION", socket.gethostname()[:64]),
                        help="station id for the audit log")
    parser.add_argument("--operator", default=os.environ.get("CARDSVC_OPERATOR", os.environ.get("USER") or "operator"),
                        help="operator for the audit log")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def _add_cards(parser: argparse.ArgumentParser, many: bool) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    action = "append" if many else "store"
    source.add_argument("--reader", action=action, metavar="NAME",
                        help="PC/SC reader" + (" (repeat for a batch across readers)" if many else ""))
    source.add_argument("--card", action=action, type=Path, metavar="FILE",
                        help="virtual card image" + (" (repeat: one card per file)" if many else ""))


def _factory(args: argparse.Namespace) -> sessionmaker[Session]:
    from cardsvc.registry import default_url, make_engine, migrate, session_factory

    url = args.db or default_url()
    migrate(url)
    return session_factory(make_engine(url))


def _keys(args: argparse.Namespace) -> Any:
    from cardsvc.issuance.keys import StationKeys
    from cardsvc.security.keystore import EncryptedFileKeyStore

    return StationKeys(EncryptedFileKeyStore(args.keystore, cache_private_keys=True))


def _actor(args: argparse.Namespace, role: str) -> Any:
    from cardsvc.registry import Actor

    return Actor(station_id=args.station, operator=args.operator, role=role)


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str) if args.json else text)


class ProgressLine:
    """One status line on stderr for all readers (redrawn in place), a line per finished card."""

    def __init__(self, total: int, stream: Any = sys.stderr) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.readers: dict[str, str] = {}
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def __call__(self, p: Any) -> None:
        if p.finished:
            self.done += 1
            self.readers.pop(p.reader, None)
            self._line(f"[{self.done}/{self.total}] {p.reader}: card {p.card_number} {p.what}", final=True)
            return
        width = 20
        filled = width * p.step // max(p.steps, 1)
        self.readers[p.reader] = f"{p.reader} {p.card_number} [{'#' * filled}{'.' * (width - filled)}] {p.what}"
        if self.tty:
            self._line(" | ".join(self.readers.values()), final=False)

    def _line(self, text: str, final: bool) -> None:
        columns = shutil.get_terminal_size((120, 20)).columns
        if self.tty:
            self.stream.write("\r\x1b[K" + text[: columns - 1] + ("\n" if final else ""))
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()


# ---------------------------------------------------------------- keys

def run_keys_init(args: argparse.Namespace) -> int:
    from cardsvc.issuance.plan import layout_key_roles
    from cardsvc.security import ceremony
    from cardsvc.security.kdf import KeyRole
    from cardsvc.security.keystore import EncryptedFileKeyStore

    layouts = [builtin_layout(i) for i in args.layout] if args.layout else builtin_layouts()
    authorities = list({a.code: (a.code, a.name) for layout in layouts for a in layout.authorities}.values())
    roles = sorted({str(r) for r in KeyRole} | {r for layout in layouts for r in layout_key_roles(layout)})
    result = ceremony.init_key_ceremony(EncryptedFileKeyStore(args.keystore), authorities, roles=roles)
    _emit(args, {"keystore": str(args.keystore), "root": result.root.subject.rfc4514_string(),
                 "signers": sorted(result.signers), "master_keys": list(result.master_keys)},
          f"key store {args.keystore}: root CA, {len(result.signers)} signer certificates, "
          f"{len(result.master_keys)} master keys")
    return 0


# ---------------------------------------------------------------- issue

def _requests(args: argparse.Namespace, factory: sessionmaker[Session], layout: Any, actor: Any) -> list[Any]:
    from dataclasses import replace

    from cardsvc.issuance.demo import register_permit
    from cardsvc.issuance.jobs import IssueRequest
    from cardsvc.issuance.prepare import job_card_number, stamp_first_issue
    from cardsvc.permit.record import load_permit
    from cardsvc.registry.lookup import local_date, permit_by_number
    from cardsvc.rules.fees import CardEvent
    from cardsvc.samples import generate_permit

    event = CardEvent(args.event)
    if args.sample:
        rng = random.Random(args.seed)
        today = dt.datetime.now(dt.UTC).date()
        out = []
        for _ in range(args.sample):
            permit = generate_permit(layout, rng, today=today, minor=False, max_endorsements=0)  # a first issue
            register_permit(factory, actor, permit, layout)
            out.append(IssueRequest(permit, layout, f"issue-{permit.card_number}", event))
        return out
    out = []
    for number in args.permit_number:
        with factory.begin() as s:  # the same preparation as the service's jobs (cardsvc.issuance.prepare)
            row = permit_by_number(s, number)
            permit = load_permit(row.data)
            first = event is CardEvent.FIRST_ISSUE
            if first and permit.card_number and not args.key:  # a station-registered permit names its card
                key, card_number, resumed = f"issue-{permit.card_number}", permit.card_number, False
            else:  # a new generation, or a permit registered at a counter: a free card number
                key = args.key or (f"issue-{number}" if first else f"issue-{number}-{random.getrandbits(48):012x}")
                card_number, resumed = job_card_number(s, layout, key)
            if first and not resumed and not permit.card_number:
                permit = stamp_first_issue(row, layout, local_date(dt.datetime.now(dt.UTC)))
        out.append(IssueRequest(replace(permit, card_number=card_number), layout, key, event))
    return out


def run_issue(args: argparse.Namespace, opener: CardFileOpener) -> int:
    from cardsvc.issuance.batch import run_batch
    from cardsvc.issuance.feeds import CardFileFeed, PcscFeed
    from cardsvc.issuance.jobs import IssuanceService

    layout = builtin_layout(args.layout)
    factory = _factory(args)
    actor = _actor(args, "print_station")
    requests = _requests(args, factory, layout, actor)
    if not requests:
        print("cardsvc issue: nothing to issue (give --permit-number or --sample N)", file=sys.stderr)
        return 2
    service = IssuanceService(factory, actor, _keys(args))
    feeds: Sequence[Any]
    if args.card:
        if len(args.card) < len(requests):
            print(f"cardsvc issue: {len(requests)} permits need {len(requests)} --card files", file=sys.stderr)
            return 2
        feeds = [CardFileFeed(path.name, [path], opener) for path in args.card[: len(requests)]]
    else:
        prompt = None if args.json else (lambda text: print(text, file=sys.stderr))
        feeds = [PcscFeed(name, prompt=prompt, wait=args.wait) for name in args.reader]
    progress = None if args.quiet else ProgressLine(len(requests))
    result = run_batch(service, requests, feeds, progress=progress)
    rows = []
    for index, request in enumerate(requests):
        outcome = result.outcomes.get(index)
        rows.append({
            "permit_number": request.permit.permit_number, "card_number": request.permit.card_number,
            "reader": result.readers.get(index), "job_id": outcome.job_id if outcome else None,
            "state": outcome.state.value if outcome else "error", "attempts": outcome.attempts if outcome else 0,
            "error": (outcome.error if outcome else result.errors.get(index)),
            "commands": (outcome.write.commands + outcome.verification.commands)
            if outcome and outcome.write and outcome.verification else None,
        })
    text = "\n".join(f"{r['card_number']}  {r['state']:<16} {r['reader'] or '-'}"
                     f"{'  ' + r['error'] if r['error'] else ''}" for r in rows)
    text += f"\n{result.issued}/{len(requests)} issued in {result.seconds:.1f} s"
    _emit(args, {"issued": result.issued, "seconds": round(result.seconds, 3), "cards": rows}, text)
    return 0 if result.issued == len(requests) else 1


# ---------------------------------------------------------------- endorse

def _connect_one(args: argparse.Namespace, opener: CardFileOpener) -> tuple[Connection, Callable[[], None]]:
    if args.card is not None:
        return opener(args.card)
    from cardsvc.transport.pcsc import connect

    return connect(args.reader, wait=args.wait), lambda: None


def run_endorse(args: argparse.Namespace, opener: CardFileOpener) -> int:
    from cardsvc.issuance.endorse import EndorsementService
    from cardsvc.permit.record import load_permit
    from cardsvc.registry.lookup import current_card, permit_by_number
    from cardsvc.session import CardSession

    layout = builtin_layout(args.layout)
    factory = _factory(args)
    with factory() as s:
        permit = permit_by_number(s, args.permit_number)
        card = current_card(s, permit)
        if card is None:
            print(f"cardsvc endorse: permit {args.permit_number} has no card in use", file=sys.stderr)
            return 2
        card_number = card.card_number
        address = args.address or load_permit(permit.data).residence_address
    service = EndorsementService(factory, _actor(args, "endorsement"), _keys(args))
    if not args.sync_only:
        if not address:
            print("cardsvc endorse: --address is needed (the registry holds none)", file=sys.stderr)
            return 2
        if args.new_county:
            moved_on = args.moved_on or dt.datetime.now(dt.UTC).date()
            row = service.change_address(args.permit_number, new_county=args.new_county, moved_on=moved_on,
                                         data={"residence_address": address})
            if row is None:
                _emit(args, {"suspended": True}, f"permit {args.permit_number}: moved across counties; use "
                      "suspended until the new registration (SMX Art.19)")
                return 0
        else:
            service.record(args.permit_number, {"residence_address": address})
    connection, save = _connect_one(args, opener)
    try:
        result = service.sync(card_number, layout, CardSession(connection))
    finally:
        connection.close()
        save()
    _emit(args, {"card_number": result.card_number, "records_before": result.on_card_before,
                 "written": list(result.written), "confirmed": list(result.confirmed)},
          f"card {result.card_number}: {result.on_card_before} records before, wrote {list(result.written) or 'none'}"
          f"{f', confirmed {list(result.confirmed)}' if result.confirmed else ''}")
    return 0


# ---------------------------------------------------------------- status

def _change_status(args: argparse.Namespace, factory: sessionmaker[Session]) -> None:
    """Loss report (ZZ Art.16), suspension (SMX Art.19), reinstatement, cancellation (ZZ Art.25)."""
    from cardsvc.registry import lifecycle
    from cardsvc.registry.lookup import card_by_number, current_card, permit_by_number
    from cardsvc.rules.status import SuspensionReason

    at, actor, note = dt.datetime.now(dt.UTC), _actor(args, "counter"), args.note or ""
    with factory.begin() as s:
        number = args.permit_number or card_by_number(s, args.card_number).permit.permit_number
        if args.report_lost:
            card = (card_by_number(s, args.card_number) if args.card_number
                    else current_card(s, permit_by_number(s, number)))
            if card is None:
                raise CardError(f"permit_number: {number} has no card in use to report lost")
            lifecycle.report_lost(s, actor, card.card_number, note, at=at)
        elif args.suspend:
            lifecycle.suspend(s, actor, number, SuspensionReason(args.suspend), note, at=at)
        elif args.reinstate:
            lifecycle.reinstate(s, actor, number, note, at=at)
        else:
            lifecycle.cancel(s, actor, number, note, at=at)


def run_status(args: argparse.Namespace) -> int:
    from cardsvc.registry.lookup import card_by_number, permit_by_number
    from cardsvc.registry.models import Card, Endorsement, IssuanceJob

    factory = _factory(args)
    if args.report_lost or args.suspend or args.reinstate or args.cancel:
        _change_status(args, factory)
    with factory() as s:
        permit = (permit_by_number(s, args.permit_number) if args.permit_number
                  else card_by_number(s, args.card_number).permit)
        cards = list(s.scalars(select(Card).where(Card.permit_id == permit.id).order_by(Card.generation)))
        jobs = list(s.scalars(select(IssuanceJob).where(IssuanceJob.permit_id == permit.id).order_by(IssuanceJob.id)))
        endorsements = list(s.scalars(select(Endorsement).where(Endorsement.permit_id == permit.id)
                                      .order_by(Endorsement.seq)))
        data: dict[str, Any] = {
            "permit_number": permit.permit_number, "city": permit.city, "status": permit.status,
            "suspension_reason": permit.suspension_reason, "anchor_on": permit.anchor_on, "years": permit.years,
            "cards": [{"card_number": c.card_number, "generation": c.generation, "status": c.status,
                       "issued_at": c.issued_at, "revoked_at": c.revoked_at} for c in cards],
            "jobs": [{"id": j.id, "event": j.event, "state": j.state, "attempts": j.attempts,
                      "last_error": j.last_error} for j in jobs],
            "endorsements": [{"seq": e.seq, "kind": e.kind, "endorsed_on": e.endorsed_on,
                              "valid_until": e.valid_until, "on_card": e.card_sync} for e in endorsements],
        }
    lines = [f"permit {data['permit_number']} ({data['city']}): {data['status']}"
             + (f" ({data['suspension_reason']})" if data["suspension_reason"] else "")]
    lines += [f"  card {c['card_number']} gen {c['generation']}: {c['status']}" for c in data["cards"]]
    lines += [f"  job {j['id']} {j['event']}: {j['state']} after {j['attempts']} attempt(s)"
              + (f" — {j['last_error']}" if j["last_error"] and j["state"] != "issued" else "") for j in data["jobs"]]
    lines += [f"  endorsement {e['seq']} ({e['kind']}) valid until {e['valid_until']}: {e['on_card']}"
              for e in data["endorsements"]]
    _emit(args, data, "\n".join(lines))
    return 0


# ---------------------------------------------------------------- parser

def build_parser(opener: CardFileOpener = open_card_file
                 ) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cardsvc", description="Residence-permit card middleware")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", required=True)
    layouts = [layout.id for layout in builtin_layouts()]

    keys = sub.add_parser("keys", help="key ceremony and key store")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    init = keys_sub.add_parser("init", help="root CA, signers per authority, CRL, master keys per role")
    init.add_argument("--keystore", type=Path, default=Path(os.environ.get(KEYSTORE_ENV, DEFAULT_KEYSTORE)))
    init.add_argument("--layout", action="append", choices=layouts, help="authorities and keys of (default: all)")
    init.add_argument("--json", action="store_true")
    init.set_defaults(func=run_keys_init)

    issue = sub.add_parser("issue", help="personalize and verify cards (a batch across readers)")
    issue.add_argument("--layout", required=True, choices=layouts)
    _add_station(issue)
    _add_cards(issue, many=True)
    what = issue.add_mutually_exclusive_group(required=True)
    what.add_argument("--permit-number", action="append", metavar="N", help="a pending permit in the registry")
    what.add_argument("--sample", type=int, metavar="N", help="register N synthetic approved permits and issue them")
    issue.add_argument("--seed", type=int, default=None, help="seed for --sample")
    issue.add_argument("--event", default="first_issue", choices=["first_issue", "replacement", "renewal",
                                                                   "correction"])
    issue.add_argument("--key", help="idempotency key (default: issue-<card number>); reuse it to resume")
    issue.add_argument("--wait", type=float, default=120.0, metavar="S", help="seconds to wait for each card")
    issue.add_argument("--quiet", action="store_true", help="no progress line")
    issue.set_defaults(func=lambda args: run_issue(args, opener))

    endorse = sub.add_parser("endorse", help="yearly endorsement on the card and in the registry")
    endorse.add_argument("--layout", required=True, choices=layouts)
    _add_station(endorse)
    _add_cards(endorse, many=False)
    endorse.add_argument("--permit-number", required=True, metavar="N")
    endorse.add_argument("--address", help="residence address (default: the one the registry holds)")
    endorse.add_argument("--new-county", metavar="CODE",
                         help="address change (SMX Art.17 / ZZ Art.14) to this county instead of a yearly endorsement")
    endorse.add_argument("--moved-on", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                         help="day of the move (default: today)")
    endorse.add_argument("--sync-only", action="store_true",
                         help="no new endorsement: write what the registry has and the card lacks")
    endorse.add_argument("--wait", type=float, default=5.0, metavar="S")
    endorse.set_defaults(func=lambda args: run_endorse(args, opener))

    status = sub.add_parser("status", help="a permit's status, cards, jobs and endorsements in the registry")
    which = status.add_mutually_exclusive_group(required=True)
    which.add_argument("--permit-number", metavar="N")
    which.add_argument("--card-number", metavar="C")
    from cardsvc.rules.status import SuspensionReason

    change = status.add_mutually_exclusive_group()
    change.add_argument("--report-lost", action="store_true", help="report the card lost (ZZ Art.16)")
    change.add_argument("--suspend", metavar="REASON", choices=[r.value for r in SuspensionReason],
                        help="suspend use (SMX Art.19)")
    change.add_argument("--reinstate", action="store_true", help="end a suspension")
    change.add_argument("--cancel", action="store_true", help="cancel the permit (ZZ Art.25)")
    status.add_argument("--note", help="why (audit log; no personal data)")
    status.add_argument("--station", default=os.environ.get("CARDSVC_STATION", socket.gethostname()[:64]))
    status.add_argument("--operator", default=os.environ.get("CARDSVC_OPERATOR", os.environ.get("USER") or "operator"))
    status.add_argument("--db", metavar="URL")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=run_status)

    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # a package not installed here (e.g. the service's extras)
            log.debug("CLI plug-in %s not loaded: %s", name, exc)
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * args.verbose, format="%(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.func(args)
    except CardError as exc:  # registry refusals, card and key store errors: one clear line, no trace
        print(f"cardsvc {args.command}: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
