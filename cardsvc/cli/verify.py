"""`cardsvc verify` and `cardsvc read`: counter verification from the command line.

The card is a named PC/SC reader (`--reader`, default: the first reader holding a card) or a virtual card
file (`--card FILE`). A key store is used only when one is named (`--keystore` or CARDSVC_KEYSTORE): it
holds the trust anchors and the counter's master key.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cardsvc.cli.common import LAYOUT, as_json, connect_one, fail, json_option, layout, one_card_source, settings

if TYPE_CHECKING:
    from cardsvc.layout import Layout
    from cardsvc.security.keystore import KeyStore
    from cardsvc.settings import Settings
    from cardsvc.verification.reader import TerminalKeys


def counter_options(f: click.decorators.FC) -> click.decorators.FC:
    for decorator in reversed([
        click.option("--reader", metavar="NAME", help="PC/SC reader (exact name or unique prefix)"),
        click.option("--card", type=click.Path(path_type=Path), metavar="FILE",
                     help="virtual card image (.json or .cbor)"),
        click.option("--wait", type=float, default=0.0, metavar="S", help="seconds to wait for a card"),
        click.option("--layout", "layout_id", type=LAYOUT, required=True, help="city card layout"),
        click.option("--keystore", type=click.Path(path_type=Path), metavar="DIR",
                     help="key store (trust anchors, counter master key; default $CARDSVC_KEYSTORE); "
                          "passphrase from CARDSVC_KEYSTORE_PASSPHRASE"),
        json_option,
    ]):
        f = decorator(f)
    return f


def _store(s: Settings, lay: Layout) -> KeyStore | None:
    from cardsvc.security.keystore import EncryptedFileKeyStore

    return EncryptedFileKeyStore.for_layouts(s.keystore_dir, [lay]) if s.named("keystore_dir") else None


def _terminal_keys(store: KeyStore | None) -> TerminalKeys | None:
    if store is None:
        return None
    from cardsvc.security import ceremony

    return lambda role, card_number: ceremony.card_key(store, role, card_number)


@click.command("verify", help="prove a presented permit genuine, valid and in good standing")
@counter_options
@click.option("--status-list", type=click.Path(path_type=Path), metavar="FILE", help="cached signed status list")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="date for validity (default: today in China)")
@click.option("--station", help="station id for the audit record (default $CARDSVC_STATION or the host name)")
@click.option("--operator", help="operator for the audit record (default $CARDSVC_OPERATOR or the user)")
@click.option("--show-data", is_flag=True, help="also print the card's fields (personal data)")
def verify(reader: str | None, card: Path | None, wait: float, layout_id: str, keystore: Path | None,
           status_list: Path | None, today: dt.datetime | None, station: str | None, operator: str | None,
           show_data: bool) -> int:
    """Exit 0 for GENUINE_VALID, 1 for any other verdict, 2 when it could not start."""
    one_card_source(reader, card, required=False)
    from cardsvc.iso7816.errors import CardError
    from cardsvc.security import ceremony
    from cardsvc.status_list.cache import StatusListCache
    from cardsvc.status_list.scope import list_scope
    from cardsvc.verification.audit import Station, log_audit
    from cardsvc.verification.verifier import verify_card

    s = settings(keystore_dir=keystore, station_id=station, operator=operator)
    lay = layout(s, layout_id)
    try:
        store = _store(s, lay)
        if store is None:
            return fail("verify", "--keystore is needed for the trust anchors")
        trust = ceremony.trust_store(store)
        scope = list_scope(lay)  # design §7: only the layout's city registry list, from its pinned signer
        status = (StatusListCache(status_list, trust, dt.timedelta(hours=lay.rules.status_list_max_age_hours),
                                  issuer=scope.issuer, signer_authority=scope.signer_authority)
                  if status_list is not None else None)
        connection, _ = connect_one(reader, card, wait, create=False)
    except (CardError, OSError, ValueError) as exc:
        return fail("verify", str(exc))
    with connection:
        verdict = verify_card(connection, lay, trust, status, today=today.date() if today else None,
                              keys=_terminal_keys(store), station=Station(s.station_id, s.operator),
                              audit_hook=log_audit)
    if as_json():
        click.echo(json.dumps(verdict.to_dict(include_display=show_data), ensure_ascii=False, indent=2))
    else:
        click.echo(f"{verdict.result.value.upper()}  card {verdict.card_number or '-'}")
        for c in verdict.checks:
            click.echo(f"  {c.check.value:<13} {c.outcome.value:<8} {c.detail}")
        if verdict.stats is not None:
            st = verdict.stats
            click.echo(f"  {st.apdus} APDUs, {st.file_bytes_read} file bytes read for {st.file_bytes_stored} stored "
                       f"({st.read_ratio:.3f}x), {st.seconds * 1000:.1f} ms")
        if show_data:
            for name, value in verdict.display.items():
                click.echo(f"  {name}: {value}")
    return 0 if verdict.genuine_valid else 1


def _decoded(layout: Layout, name: str, content: bytes) -> dict[str, str]:
    from cardsvc.iso7816.errors import CardError
    from cardsvc.layout.codec import fields_codec

    try:
        values = fields_codec(layout, name).decode(content).values
    except (CardError, KeyError):
        return {}
    return {k: (v.isoformat() if isinstance(v, dt.date) else f"{len(v)} bytes" if isinstance(v, bytes) else str(v))
            for k, v in values.items()}


@click.command("read", help="read a permit with the fewest APDUs and report what it cost")
@counter_options
def read(reader: str | None, card: Path | None, wait: float, layout_id: str, keystore: Path | None) -> int:
    """Read (no judgement): per-file sizes, decoded fields, problems and the cost. Exit 1 on problems."""
    one_card_source(reader, card, required=False)
    from cardsvc.iso7816.errors import CardError
    from cardsvc.verification.reader import read_card

    s = settings(keystore_dir=keystore)
    lay = layout(s, layout_id)
    try:
        store = _store(s, lay)
        connection, _ = connect_one(reader, card, wait, create=False)
    except (CardError, OSError, ValueError) as exc:
        return fail("read", str(exc))
    with connection:
        result = read_card(connection, lay, keys=_terminal_keys(store))
    fields = {ef.name: _decoded(lay, ef.name, result.files[ef.name]) for ef in lay.efs
              if ef.name in result.files and ef.fields}
    sizes = {name: len(content) for name, content in result.files.items()}
    counts = {name: len(records) for name, records in result.records.items()}
    problems = [{"step": p.step, "kind": p.kind.value, "reason": p.reason} for p in result.problems]
    out = {"files": sizes, "records": counts, "fields": fields, "problems": problems,
           "stats": result.stats.to_dict()}
    if as_json():
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for name, size in sizes.items():
            click.echo(f"  EF {name:<10} {size} bytes")
        for name, count in counts.items():
            click.echo(f"  EF {name:<10} {count} records")
        for p in result.problems:
            click.echo(f"  problem {p.step}: {p.kind.value}: {p.reason}")
        st = result.stats
        click.echo(f"  {st.apdus} APDUs, {st.file_bytes_read} file bytes read for {st.file_bytes_stored} stored "
                   f"({st.read_ratio:.3f}x)")
    return 1 if result.problems else 0
