"""`cardsvc endorse`: the yearly endorsement or an address change, in the registry and on the card."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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


@click.command("endorse", help="yearly endorsement, address change or (ZZ Art.14) service place change, "
                                "on the card and in the registry")
@click.option("--layout", "layout_id", type=LAYOUT, required=True, help="city card layout")
@station_options
@reader_options(many=False, wait=5.0)
@click.option("--permit-number", required=True, metavar="N")
@click.option("--address", help="residence address (default: the one the registry holds)")
@click.option("--new-county", metavar="CODE",
              help="address change (SMX Art.17 / ZZ Art.14) to this county instead of a yearly endorsement")
@click.option("--moved-on", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="day of the move (default: today)")
@click.option("--service-place", metavar="TEXT",
              help="change registration of the service place (ZZ Art.14) instead of an endorsement")
@click.option("--changed-on", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="day the service place changed (default: today)")
@click.option("--sync-only", is_flag=True, help="no new endorsement: write what the registry has and the card lacks")
def endorse(layout_id: str, db: str | None, keystore: Path | None, station: str | None, operator: str | None,
            reader: str | None, card: Path | None, wait: float, permit_number: str, address: str | None,
            new_county: str | None, moved_on: dt.datetime | None, service_place: str | None,
            changed_on: dt.datetime | None, sync_only: bool) -> int:
    one_card_source(reader, card, required=True)
    if service_place and (new_county or address or sync_only):
        raise click.UsageError("--service-place excludes --new-county, --address and --sync-only")
    from cardsvc.issuance.endorse import EndorsementService
    from cardsvc.permit.record import load_permit
    from cardsvc.registry.lookup import current_card, permit_by_number
    from cardsvc.session import CardSession

    s = station_settings(db, keystore, station, operator)
    lay = layout(s, layout_id)
    factory = registry(s)
    with factory() as session:
        permit = permit_by_number(session, permit_number)
        held = current_card(session, permit)
        if held is None:
            return fail("endorse", f"permit {permit_number} has no card in use")
        card_number = held.card_number
        address = address or load_permit(permit.data).residence_address
    service = EndorsementService(factory, actor(s, "endorsement"), station_keys(s))
    if service_place:  # ZZ Art.14: a change record of its own, appended by the same sync below
        day = changed_on.date() if changed_on else dt.datetime.now(dt.UTC).date()
        service.change_service_place(permit_number, service_place=service_place, changed_on=day, layout=lay)
    elif not sync_only:
        if not address:
            return fail("endorse", "--address is needed (the registry holds none)")
        if new_county:
            day = moved_on.date() if moved_on else dt.datetime.now(dt.UTC).date()
            row = service.change_address(permit_number, new_county=new_county, moved_on=day,
                                         data={"residence_address": address}, layout=lay)
            if row is None:
                emit({"suspended": True}, f"permit {permit_number}: moved across counties; use "
                     "suspended until the new registration (SMX Art.19)")
                return 0
        else:
            service.record(permit_number, {"residence_address": address}, lay)
    connection, save = connect_one(reader, card, wait, create=True)
    try:
        result = service.sync(card_number, lay, CardSession(connection))
    finally:
        connection.close()
        save()
    emit({"card_number": result.card_number, "records_before": result.on_card_before,
          "written": list(result.written), "confirmed": list(result.confirmed),
          "changes_written": list(result.changes_written)},
         f"card {result.card_number}: {result.on_card_before} records before, wrote {list(result.written) or 'none'}"
         f"{f', confirmed {list(result.confirmed)}' if result.confirmed else ''}"
         f"{f', change records {list(result.changes_written)}' if result.changes_written else ''}")
    return 0
