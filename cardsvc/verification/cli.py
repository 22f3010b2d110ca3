"""`cardsvc verify` and `cardsvc read`: counter verification from the command line.

`register(subparsers)` adds both subcommands to the main parser (cardsvc/cli.py calls it). The card is a
named PC/SC reader (`--reader`, default: the first reader holding a card) or a virtual card file
(`--card FILE`). The virtual card is host-foreign code (design §3: cardsvc never imports simulator), so
it is loaded through ``open_card_file``, a seam the CLI wiring passes in; the default imports the
simulator by name at run time only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cardsvc.iso7816.errors import CardError
from cardsvc.layout import builtin_layout, builtin_layouts
from cardsvc.layout.codec import fields_codec
from cardsvc.layout.schema import Layout
from cardsvc.security import ceremony
from cardsvc.security.keystore import EncryptedFileKeyStore, KeyStore
from cardsvc.status_list.cache import StatusListCache
from cardsvc.transport.base import Connection
from cardsvc.verification.audit import Station, log_audit
from cardsvc.verification.reader import TerminalKeys, read_card
from cardsvc.verification.verifier import verify_card

OpenCardFile = Callable[[Path], Connection]


def open_virtual_card(path: Path) -> Connection:
    """The default seam: a saved virtual card through the in-process transport (simulator plug-in)."""
    transport = importlib.import_module("simulator.transport")
    card_module = importlib.import_module("simulator.card")
    card = card_module.VirtualCard.load(path)
    connection: Connection = transport.InProcessConnection(card)
    return connection


def _connect(args: argparse.Namespace, open_card_file: OpenCardFile) -> Connection:
    if args.card is not None:
        return open_card_file(args.card)
    from cardsvc.transport.pcsc import connect  # pyscard only when a reader is used

    return connect(args.reader, wait=args.wait)


def _add_common(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--reader", metavar="NAME", help="PC/SC reader (exact name or unique prefix)")
    source.add_argument("--card", metavar="FILE", type=Path, help="virtual card image (.json or .cbor)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="S", help="seconds to wait for a card")
    parser.add_argument("--layout", required=True, choices=[layout.id for layout in builtin_layouts()],
                        help="city card layout")
    default_store = os.environ.get("CARDSVC_KEYSTORE")
    parser.add_argument("--keystore", type=Path, metavar="DIR", default=Path(default_store) if default_store else None,
                        help="key store (trust anchors, counter master key; default $CARDSVC_KEYSTORE); "
                             "passphrase from CARDSVC_KEYSTORE_PASSPHRASE")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def register(subparsers: Any, *, open_card_file: OpenCardFile = open_virtual_card) -> None:
    """Add `verify` and `read` to an argparse subparsers object."""
    verify = subparsers.add_parser("verify", help="prove a presented permit genuine, valid and in good standing")
    _add_common(verify)
    verify.add_argument("--status-list", type=Path, metavar="FILE", help="cached signed status list")
    verify.add_argument("--today", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                        help="date for validity (default: today in China)")
    verify.add_argument("--station", default=os.environ.get("CARDSVC_STATION", socket.gethostname()[:64]),
                        help="station id for the audit record")
    verify.add_argument("--operator", default=os.environ.get("CARDSVC_OPERATOR", os.environ.get("USER", "counter")),
                        help="operator for the audit record")
    verify.add_argument("--show-data", action="store_true", help="also print the card's fields (personal data)")
    verify.set_defaults(func=lambda args: run_verify(args, open_card_file))
    read = subparsers.add_parser("read", help="read a permit with the fewest APDUs and report what it cost")
    _add_common(read)
    read.set_defaults(func=lambda args: run_read(args, open_card_file))


def _store(args: argparse.Namespace) -> KeyStore | None:
    return EncryptedFileKeyStore(args.keystore) if args.keystore is not None else None


def _terminal_keys(store: KeyStore | None) -> TerminalKeys | None:
    if store is None:
        return None
    return lambda role, card_number: ceremony.card_key(store, role, card_number)


def run_verify(args: argparse.Namespace, open_card_file: OpenCardFile = open_virtual_card) -> int:
    """Exit 0 for GENUINE_VALID, 1 for any other verdict, 2 when it could not start."""
    layout = builtin_layout(args.layout)
    try:
        store = _store(args)
        if store is None:
            print("cardsvc verify: --keystore is needed for the trust anchors", file=sys.stderr)
            return 2
        trust = ceremony.trust_store(store)
        status = (StatusListCache(args.status_list, trust, dt.timedelta(hours=layout.rules.status_list_max_age_hours))
                  if args.status_list is not None else None)
        connection = _connect(args, open_card_file)
    except (CardError, OSError, ValueError) as exc:
        print(f"cardsvc verify: {exc}", file=sys.stderr)
        return 2
    with connection:
        verdict = verify_card(connection, layout, trust, status, today=args.today, keys=_terminal_keys(store),
                              station=Station(args.station, args.operator), audit_hook=log_audit)
    if args.json:
        print(json.dumps(verdict.to_dict(include_display=args.show_data), ensure_ascii=False, indent=2))
    else:
        print(f"{verdict.result.value.upper()}  card {verdict.card_number or '-'}")
        for c in verdict.checks:
            print(f"  {c.check.value:<13} {c.outcome.value:<8} {c.detail}")
        if verdict.stats is not None:
            s = verdict.stats
            print(f"  {s.apdus} APDUs, {s.file_bytes_read} file bytes read for {s.file_bytes_stored} stored "
                  f"({s.read_ratio:.3f}x), {s.seconds * 1000:.1f} ms")
        if args.show_data:
            for name, value in verdict.display.items():
                print(f"  {name}: {value}")
    return 0 if verdict.genuine_valid else 1


def _decoded(layout: Layout, name: str, content: bytes) -> dict[str, str]:
    try:
        values = fields_codec(layout, name).decode(content).values
    except (CardError, KeyError):
        return {}
    return {k: (v.isoformat() if isinstance(v, dt.date) else f"{len(v)} bytes" if isinstance(v, bytes) else str(v))
            for k, v in values.items()}


def run_read(args: argparse.Namespace, open_card_file: OpenCardFile = open_virtual_card) -> int:
    """Read (no judgement): per-file sizes, decoded fields, problems and the cost. Exit 1 on problems."""
    layout = builtin_layout(args.layout)
    try:
        store = _store(args)
        connection = _connect(args, open_card_file)
    except (CardError, OSError, ValueError) as exc:
        print(f"cardsvc read: {exc}", file=sys.stderr)
        return 2
    with connection:
        result = read_card(connection, layout, keys=_terminal_keys(store))
    fields = {ef.name: _decoded(layout, ef.name, result.files[ef.name]) for ef in layout.efs
              if ef.name in result.files and ef.fields}
    sizes = {name: len(content) for name, content in result.files.items()}
    counts = {name: len(records) for name, records in result.records.items()}
    problems = [{"step": p.step, "kind": p.kind.value, "reason": p.reason} for p in result.problems]
    out = {"files": sizes, "records": counts, "fields": fields, "problems": problems,
           "stats": result.stats.to_dict()}
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for name, size in sizes.items():
            print(f"  EF {name:<10} {size} bytes")
        for name, count in counts.items():
            print(f"  EF {name:<10} {count} records")
        for p in result.problems:
            print(f"  problem {p.step}: {p.kind.value}: {p.reason}")
        s = result.stats
        print(f"  {s.apdus} APDUs, {s.file_bytes_read} file bytes read for {s.file_bytes_stored} stored "
              f"({s.read_ratio:.3f}x)")
    return 1 if result.problems else 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (until the main CLI registers these subcommands)."""
    parser = argparse.ArgumentParser(prog="cardsvc")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code
