"""A department at its reader (issue 16 item 1): read and write its own records on the card.

The token decides the department (`require_department`: another department's token is refused before
the card is touched); the card then decides again with its access conditions (the department ADF's
records need that department's per-card key under secure messaging). A write needs the registry to hold
the card as the holder's valid card; a read shows the card's standing beside the records
(cardsvc.departments.standing says why). Every read and write is audited with station, operator,
department, record name and write number, never the values (ZZ Art.29).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from cardsvc.api.auth import Principal
from cardsvc.api.context import AppContext
from cardsvc.api.errors import ApiError
from cardsvc.api.schemas import DepartmentCardOut, DepartmentRecordOut, SlotProblemOut
from cardsvc.api.services.cards import _detect_layout
from cardsvc.api.services.records import audit_read
from cardsvc.departments.card import CardKey, DepartmentCard
from cardsvc.departments.record import DepartmentRecordError, RecordRead, record_ef, record_efs
from cardsvc.departments.standing import check_writable, standing_of
from cardsvc.layout.entries import EfDecl
from cardsvc.security.ceremony import card_key
from cardsvc.session import CardSession


def _check_department(ctx: AppContext, principal: Principal, department: str) -> None:
    principal.require_department(department)
    if department not in ctx.departments:
        raise ApiError(404, "unknown-department", f"department: {department!r} is not declared by any layout",
                       field="department")


def _card_key(ctx: AppContext) -> CardKey:
    store = ctx.keystore

    def key(role: str, card_number: str) -> bytes:
        return card_key(store, role, card_number)

    return key


def _out(ef: EfDecl, read: RecordRead) -> DepartmentRecordOut:
    assert ef.serves is not None  # the layout requires it for department-record content
    return DepartmentRecordOut(record=ef.name, serves=ef.serves, fields=[f.field for f in ef.fields],
                               seq=read.seq, values=read.values, intact=read.intact,
                               problems=[SlotProblemOut(slot=p.slot, reason=p.reason) for p in read.problems])


def _invalid(exc: DepartmentRecordError) -> ApiError:
    if exc.field == "department":  # declared by a layout, but not by the card's (e.g. a ZZ-only department)
        return ApiError(404, "unknown-department", str(exc), field="department")
    field = exc.field if exc.field == "record" else f"values.{exc.field}"
    return ApiError(422, "invalid-field", f"{field}: {exc.reason}", field=field)


def read_records(ctx: AppContext, session: Session, principal: Principal, department: str, reader: str,
                 record: str | None = None) -> DepartmentCardOut:
    """The department's records on the card in `reader` (all, or the one named)."""
    _check_department(ctx, principal, department)
    with ctx.hub.session(reader, wait=2.0) as conn:
        card = CardSession(conn)
        layout = _detect_layout(ctx, conn)
        try:
            efs = [record_ef(layout, department, record)] if record else record_efs(layout, department)
            dept = DepartmentCard(card, layout, department, _card_key(ctx))
        except DepartmentRecordError as exc:
            raise _invalid(exc) from None
        out = [_out(ef, dept.read(ef.name)) for ef in efs]
    now = ctx.clock()
    standing = standing_of(session, dept.card_number, now)
    audit_read(session, principal, "department.record.read", now, card_number=dept.card_number,
               reason=f"department {department} records {[r.record for r in out]}"
                      f"{'; integrity problem' if any(not r.intact for r in out) else ''}"
                      f"{'' if standing.usable else f'; card {standing.label}'}")
    return DepartmentCardOut(card_number=dept.card_number, layout_id=layout.id, department=department,
                             card_status=standing.label, card_usable=standing.usable,
                             card_note=None if standing.usable else standing.why(), records=out)


def write_record(ctx: AppContext, session: Session, principal: Principal, department: str, record: str,
                 reader: str, values: Mapping[str, str]) -> DepartmentRecordOut:
    """Write (or update) one record on the card in `reader`; returns it as read back."""
    _check_department(ctx, principal, department)
    with ctx.hub.session(reader, wait=2.0) as conn:
        layout = _detect_layout(ctx, conn)
        try:
            dept = DepartmentCard(CardSession(conn), layout, department, _card_key(ctx))
            ef = record_ef(layout, department, record)
            check_writable(session, dept.card_number, department, ctx.clock())  # before any write APDU
            written = dept.write(record, values)
        except DepartmentRecordError as exc:
            raise _invalid(exc) from None
        back = dept.read(record)
    audit_read(session, principal, "department.record.write", ctx.clock(), card_number=dept.card_number,
               reason=f"department {department} record {record} write {written.seq} (slot {written.slot})")
    return _out(ef, back)
