"""`cardsvc dept read|write`: a department's records on the card, at its own counter's reader (issue 16).

The department's per-card key comes from the key store (its master key, diversified by card number); the
card accepts no other department's key. Each read and write is in the registry's audit log (station,
operator, department, record, write number; never the values, ZZ Art.29).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cardsvc.cli.common import (
    LAYOUT,
    actor,
    connect_one,
    emit,
    fail,
    layout,
    one_card_source,
    reader_options,
    registry,
    station_keys,
    station_options,
    station_settings,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from cardsvc.settings import Settings


@click.group("dept", help="一证通 department records on the card (read, write/update)")
def dept() -> None:
    pass


def _audit(s: Settings, factory: sessionmaker[Session], action: str, card_number: str, reason: str) -> None:
    from cardsvc.registry.audit import audit

    with factory.begin() as session:
        audit(session, actor(s, "department"), action, at=dt.datetime.now(dt.UTC), reason=reason,
              card_number=card_number)


def _values(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not FIELD=VALUE", param_hint="--set")
        out[name] = value
    return out


@dept.command("read", help="read the department's records (all, or --record NAME)")
@click.option("--layout", "layout_id", type=LAYOUT, required=True, help="city card layout")
@click.option("--department", required=True, help="the department (its key is used)")
@click.option("--record", help="one record (default: every record of the department)")
@station_options
@reader_options(many=False, wait=5.0)
def read(layout_id: str, department: str, record: str | None, db: str | None, keystore: Path | None,
         station: str | None, operator: str | None, reader: str | None, card: Path | None, wait: float) -> int:
    one_card_source(reader, card, required=True)
    from cardsvc.departments.card import DepartmentCard
    from cardsvc.departments.record import DepartmentRecordError, record_ef, record_efs
    from cardsvc.session import CardSession

    s = station_settings(db, keystore, station, operator)
    lay = layout(s, layout_id)
    connection, save = connect_one(reader, card, wait, create=False)
    try:
        dept_card = DepartmentCard(CardSession(connection), lay, department, station_keys(s).card_key)
        efs = [record_ef(lay, department, record)] if record else record_efs(lay, department)
        reads = {ef.name: dept_card.read(ef.name) for ef in efs}
    except DepartmentRecordError as exc:
        return fail("dept read", str(exc))
    finally:
        connection.close()
        save()
    from cardsvc.departments.standing import standing_of

    factory = registry(s)
    with factory() as session:
        standing = standing_of(session, dept_card.card_number, dt.datetime.now(dt.UTC))
    _audit(s, factory, "department.record.read", dept_card.card_number,
           f"department {department} records {sorted(reads)}"
           + ("" if standing.usable else f"; card {standing.label}"))
    data = {"card_number": dept_card.card_number, "department": department, "card_status": standing.label,
            "card_usable": standing.usable, "card_note": None if standing.usable else standing.why(),
            "records": [{"record": name, "seq": r.seq, "values": r.values, "intact": r.intact,
                         "problems": [{"slot": p.slot, "reason": p.reason} for p in r.problems]}
                        for name, r in reads.items()]}
    lines = [f"card {dept_card.card_number}, department {department}:"
             + ("" if standing.usable else f" NOT THE HOLDER'S VALID CARD: {standing.why()}")]
    for name, r in reads.items():
        shown = ", ".join(f"{k}={v}" for k, v in (r.values or {}).items()) or "(none)"
        warn = "" if r.intact else "  INTEGRITY: " + "; ".join(f"slot {p.slot}: {p.reason}" for p in r.problems)
        lines.append(f"  {name} #{r.seq}: {shown}{warn}")
    emit(data, "\n".join(lines))
    return 0 if all(r.intact for r in reads.values()) else 1


@dept.command("write", help="write or update one record: --set FIELD=VALUE (repeat)")
@click.option("--layout", "layout_id", type=LAYOUT, required=True, help="city card layout")
@click.option("--department", required=True, help="the department (its key is used)")
@click.option("--record", required=True, help="the record to write")
@click.option("--set", "pairs", multiple=True, required=True, metavar="FIELD=VALUE", help="a field's value")
@station_options
@reader_options(many=False, wait=5.0)
def write(layout_id: str, department: str, record: str, pairs: tuple[str, ...], db: str | None,
          keystore: Path | None, station: str | None, operator: str | None, reader: str | None,
          card: Path | None, wait: float) -> int:
    one_card_source(reader, card, required=True)
    from cardsvc.departments.card import DepartmentCard
    from cardsvc.departments.record import DepartmentRecordError, record_ef
    from cardsvc.departments.standing import check_writable
    from cardsvc.session import CardSession

    values = _values(pairs)
    s = station_settings(db, keystore, station, operator)
    lay = layout(s, layout_id)
    connection, save = connect_one(reader, card, wait, create=False)
    try:
        dept_card = DepartmentCard(CardSession(connection), lay, department, station_keys(s).card_key)
        record_ef(lay, department, record)
        factory = registry(s)
        with factory() as session:  # the holder's valid card only (cardsvc.departments.standing)
            check_writable(session, dept_card.card_number, department, dt.datetime.now(dt.UTC))
        result = dept_card.write(record, values)
    except DepartmentRecordError as exc:  # a registry refusal (CardNotInUseError) exits 1 like the others
        return fail("dept write", str(exc))
    finally:
        connection.close()
        save()
    _audit(s, factory, "department.record.write", result.card_number,
           f"department {department} record {record} write {result.seq} (slot {result.slot})")
    emit({"card_number": result.card_number, "record": result.record, "seq": result.seq, "slot": result.slot},
         f"card {result.card_number}: {department} record {result.record} written (#{result.seq})")
    return 0
