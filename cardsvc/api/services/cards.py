"""Card-facing services: card faces, the signed status list, verification, endorsements on the card."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.api.auth import Principal
from cardsvc.api.context import AppContext
from cardsvc.api.schemas import CardStatusOut, CheckOut, EndorsementIn, EndorsementOut, LossOut, VerdictOut
from cardsvc.api.services.records import audit_read, read_permit
from cardsvc.duties.losses import loss_of
from cardsvc.errors import FieldError
from cardsvc.face import FaceData, render_face, render_pdf
from cardsvc.iso7816.errors import CardError
from cardsvc.issuance.endorse import EndorsementService
from cardsvc.layout import Layout
from cardsvc.layout.vocabulary import PERMIT_DF
from cardsvc.permit.gb import ETHNICITIES
from cardsvc.permit.model import Permit
from cardsvc.qr import QrError, QrPayload, encode_qr_text, verify_qr_text
from cardsvc.qr.semantics import qr_verdict
from cardsvc.registry import changes as registry_changes
from cardsvc.registry import endorsements as registry_endorsements
from cardsvc.registry import lifecycle, publication
from cardsvc.registry.db import read_only_session
from cardsvc.registry.errors import CardNotAllocatedError, NotFoundError, RefusedError
from cardsvc.registry.lookup import card_by_number, current_card, local_date, permit_by_number
from cardsvc.registry.models import Card, ChangeRecord, Endorsement, StatusPublication
from cardsvc.registry.models import Permit as PermitRow
from cardsvc.security.ceremony import signer_name
from cardsvc.security.errors import KeyNotFound, SignedDataError
from cardsvc.security.pki import SignerRole
from cardsvc.session import CardSession
from cardsvc.status_list import ListStatus, StatusAnswer, sign_status_delta, sign_status_list
from cardsvc.status_list.cache import Binding, StatusSource
from cardsvc.status_list.scope import list_scope
from cardsvc.transport import Connection
from cardsvc.verification import Outcome, Result, Station, Verdict, registry_audit, verify_card
from cardsvc.verification import audit as verification_audit
from cardsvc.verification.verifier import image_verdict

log = logging.getLogger(__name__)


# --- card faces ----------------------------------------------------------------------------------------
def _face_permit(session: Session, permit: Permit, row: PermitRow) -> Permit:
    """The permit as its current (or being-made) card shows it: that card's number."""
    card = current_card(session, row) or session.scalars(
        select(Card).where(Card.permit_id == row.id).order_by(Card.generation.desc())).first()
    if card is None:
        raise CardNotAllocatedError(f"permit_number: {row.permit_number} has no card yet; create the issuance "
                                    "job first (the face prints the card number in its QR code)", field="permit_number")
    return replace(permit, card_number=card.card_number)


def qr_text(ctx: AppContext, permit: Permit) -> str:
    """ZZ Art.8: the signed QR code of the face, signed by the issuing authority's document signer."""
    store = ctx.keystore
    name = signer_name(SignerRole.DOCUMENT, permit.authority.code)
    return encode_qr_text(QrPayload.from_permit(permit), store.private_key(name), store.certificate(name))


def face(ctx: AppContext, session: Session, principal: Principal, number: str, kind: str) -> bytes:
    row = permit_by_number(session, number)
    permit = _face_permit(session, read_permit(ctx, session, principal, number, purpose=f"card face {kind}"), row)
    data = FaceData.from_permit(permit, qr_text(ctx, permit))
    layout = ctx.face_layout(row.layout_id)
    if kind == "pdf":
        return render_pdf(data, layout)
    images = render_face(data, layout)
    return images.front_png if kind == "front" else images.back_png


# --- status ----------------------------------------------------------------------------------------------
def _publication(ctx: AppContext, session: Session, layout_id: str) -> StatusPublication:
    """The city registry's list for one layout: every allocated card number of it that is not active (lost,
    suspended, revoked, cancelled, and also not yet issued or spoiled: design §7), issued under the city
    code and signed (COSE_Sign1) by the city's status-list signer (`status_list.scope`), as its counters
    pin them; published once and kept in the database (`registry.publication`)."""
    scope = list_scope(ctx.layout(layout_id))
    store = ctx.keystore
    name = signer_name(SignerRole.DOCUMENT, scope.signer_authority)
    if name not in store.names("certs"):
        raise KeyNotFound(f"key store: no status-list signer {name} for layout {layout_id}")
    return publication.publish(
        session, layout_id, scope.issuer, ctx.clock(), dt.timedelta(hours=ctx.settings.status_list_hours),
        lambda index: sign_status_list(index, store.private_key(name), store.certificate(name)))


def status_list_bytes(ctx: AppContext, session: Session, layout_id: str) -> bytes:
    return _publication(ctx, session, layout_id).signed


def status_delta_bytes(ctx: AppContext, session: Session, layout_id: str, since: int) -> bytes | None:
    """The signed changes from list `since` to the list in force; None when `since` is in force."""
    current = _publication(ctx, session, layout_id)
    store = ctx.keystore
    name = signer_name(SignerRole.DOCUMENT, list_scope(ctx.layout(layout_id)).signer_authority)
    return publication.delta_since(
        session, since, current, lambda delta: sign_status_delta(delta, store.private_key(name),
                                                                 store.certificate(name)))


def card_status(ctx: AppContext, card_number: str) -> CardStatusOut:
    """The online answer: one joined Core query on the process's status connection, no ORM session."""
    online = ctx.status_reader.lookup(card_number, ctx.clock())
    if online is None:
        raise NotFoundError(f"card_number: no card {card_number!r}")
    bound = online.binding or Binding(None, 0, 0)
    return CardStatusOut(card_number=card_number, status=online.status.name.lower(),
                         reason=None if online.reason is None else online.reason.value, source="registry",
                         chip_key_sha256=None if bound.chip_key_sha256 is None else bound.chip_key_sha256.hex(),
                         endorsements_written=bound.endorsements_written,
                         endorsements_recorded=bound.endorsements_recorded,
                         changes_written=bound.changes_written, changes_recorded=bound.changes_recorded)


class RegistryStatus:
    """The verifier's status source inside the service: the registry itself, always current."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lookup(self, card_number: str, now: dt.datetime) -> StatusAnswer:
        online = publication.online_status(self.session, card_number, now)
        if online is None:  # a number the registry never allocated: certainly not issued
            return StatusAnswer(ListStatus.NOT_ISSUED, None, now, dt.timedelta(0), True, StatusSource.ONLINE)
        return StatusAnswer(online.status, online.reason, now, dt.timedelta(0), True, StatusSource.ONLINE,
                            binding=online.binding)


# --- verification -----------------------------------------------------------------------------------------
def _verdict_out(session: Session, verdict: Verdict) -> VerdictOut:
    registry_status = None
    permit_number = None
    loss = None
    if verdict.card_number:
        try:
            card = card_by_number(session, verdict.card_number)
            registry_status, permit_number = card.status, card.permit.permit_number
            report = loss_of(session, card.id)  # ZZ Art.17: the clerk sees when the loss took effect
            if report is not None:
                loss = LossOut(channel=report.channel, bank_certificate=report.bank_certificate,
                               effective_at=report.effective_at, recorded_at=report.recorded_at)
        except NotFoundError:
            registry_status = None
    reasons = [f"{c.check.value}: {c.detail}" for c in verdict.checks if c.outcome is not Outcome.PASS]
    genuine_checks = {"read", "passive_auth", "chip_auth", "data"}
    genuine = all(c.outcome is Outcome.PASS for c in verdict.checks if c.check.value in genuine_checks) \
        and bool(verdict.checks)
    display: dict[str, Any] = dict(verdict.display)
    if display.get("ethnicity") in ETHNICITIES:  # GB/T 3304 code → name for the clerk
        display["ethnicity_name"] = ETHNICITIES[display["ethnicity"]]
    if verdict.endorsements:
        display["endorsements"] = [dict(e) for e in verdict.endorsements]
    if verdict.changes:  # ZZ Art.14 change registrations on the card
        display["changes"] = [dict(c) for c in verdict.changes]
    return VerdictOut(
        result=verdict.result.value, genuine=genuine, valid=verdict.result is Result.GENUINE_VALID, reasons=reasons,
        checks=[CheckOut(check=c.check.value, outcome=c.outcome.value, detail=c.detail) for c in verdict.checks],
        card_number=verdict.card_number, permit_number=permit_number, registry_status=registry_status,
        display=display, photo=base64.b64encode(verdict.photo).decode() if verdict.photo else None,
        stats=verdict.stats.to_dict() if verdict.stats else {}, loss=loss)


def verify_connection(ctx: AppContext, principal: Principal, conn: Connection, *, image: bool = False) -> VerdictOut:
    """Try each city layout (the card's permit ADF AID tells them apart); audited per ZZ Art.29. For an
    uploaded `image` the chip check is not run (only dev mode runs it, and says so): `image_verdict`.

    The card is read and judged in a read-only session (the status, then the registry's view for the
    clerk); only the audit entry is written, in a transaction of its own at the end. On SQLite every
    write transaction holds the one write lock from its first read: held through the verification, it
    queued all verifications behind one another (issue 15: 57 req/s, p99 2.7 s with 16 clients)."""
    keys = ctx.station_keys()
    store = ctx.keystore
    now = ctx.clock()
    station = Station(principal.station_id, principal.label)

    def terminal_keys(role: str, card_number: str) -> bytes:
        from cardsvc.security.ceremony import card_key

        return card_key(store, role, card_number)

    with read_only_session(ctx.engine) as reading, reading.begin():
        verdict = verify_card(conn, _detect_layout(ctx, conn), keys.trust(), RegistryStatus(reading),
                              keys=terminal_keys, now=now, station=station)
        if image:  # audited as the verdict given, the image's
            verdict = image_verdict(verdict, dev=ctx.settings.dev)
        out = _verdict_out(reading, verdict)
    with ctx.sessions.begin() as session:
        verification_audit.record(verdict, station, registry_audit(session, principal.role.value), now)
    return out


def _detect_layout(ctx: AppContext, conn: Connection) -> Layout:
    """The layout whose permit ADF the card holds (one SELECT by AID each; the AIDs differ per city).
    A card holding none gets the first layout, and the verifier reports it UNREADABLE."""
    layouts = list(ctx.layouts.values())
    session = CardSession(conn)
    for layout in layouts:
        try:
            session.select_aid(layout.df(PERMIT_DF).aid)
        except CardError:
            continue
        return layout
    return layouts[0]


def verify_reader(ctx: AppContext, principal: Principal, reader: str) -> VerdictOut:
    with ctx.hub.session(reader, wait=2.0) as conn:
        return verify_connection(ctx, principal, conn)  # a card: its chip answers for itself


def verify_image(ctx: AppContext, principal: Principal, raw: bytes, filename: str) -> VerdictOut:
    fmt = "json" if filename.lower().endswith(".json") or raw[:1] == b"{" else "cbor"
    with ctx.virtual_cards().image_connection(raw, fmt) as conn:
        return verify_connection(ctx, principal, conn, image=True)


def verify_qr(ctx: AppContext, session: Session, principal: Principal, text: str) -> dict[str, Any]:
    """Offline check of the printed code (signature, signer, validity) plus the registry's status."""
    now = ctx.clock()
    try:
        verified = verify_qr_text(text, ctx.station_keys().trust(), now)
    except (QrError, SignedDataError) as exc:  # malformed, altered, untrusted signer, or expired
        audit_read(session, principal, "qr.verify", now, reason=f"refused: {type(exc).__name__}")
        return {"result": "invalid", "valid": False, "reasons": [f"{type(exc).__name__}: {exc}"], "display": {}}
    p = verified.payload
    # Issue 12: the code proves identity and print-time data; validity and status come from the registry
    # (cardsvc.qr.semantics), so the QR never contradicts the chip.
    list_status, valid_until, status = None, None, "unknown"
    try:
        card = card_by_number(session, p.card_number)
    except NotFoundError:
        card = None
    if card is not None:
        status = card.status
        list_status = publication.listed_status(card.status, card.permit.suspension_reason)[0]
        valid_until = lifecycle.card_status(session, card.card_number).valid_until
    verdict = qr_verdict(list_status, valid_until, local_date(now), printed_valid_until=p.valid_until)
    audit_read(session, principal, "qr.verify", now, reason=f"signed by {verified.signer_authority}, status {status}",
               permit_number=p.permit_number, card_number=p.card_number)
    return {"result": verdict.result, "valid": verdict.valid, "reasons": list(verdict.reasons),
            "display": {"permit_number": p.permit_number, "card_number": p.card_number, "name": p.name,
                        "sex": p.sex.label, "issue_date": p.issue_date.isoformat(),
                        "valid_until": p.valid_until.isoformat(), "authority_code": p.authority_code,
                        "printed_validity_passed": verified.printed_expired,
                        "current_valid_until": None if valid_until is None else valid_until.isoformat()}}


# --- endorsements -----------------------------------------------------------------------------------------
def _endorsement_out(row: Endorsement | ChangeRecord | None, number: str, kind: str,
                     note: str | None = None) -> EndorsementOut:
    if row is None:
        return EndorsementOut(id=None, permit_number=number, seq=None, kind=kind, endorsed_on=None, valid_until=None,
                              card_sync=None, note=note)
    if isinstance(row, ChangeRecord):  # seq: the record number in the card's change-registration file
        return EndorsementOut(id=row.id, permit_number=number, seq=row.seq, kind="service_place_change",
                              endorsed_on=row.registered_on, valid_until=None, card_sync=row.card_sync, note=note,
                              late=row.late)
    return EndorsementOut(id=row.id, permit_number=number, seq=row.seq, kind=row.kind, endorsed_on=row.endorsed_on,
                          valid_until=row.valid_until, card_sync=row.card_sync, note=note, late=row.late)


def endorse(ctx: AppContext, principal: Principal, body: EndorsementIn) -> EndorsementOut:
    """Registry first (its own transaction), then the card when a reader is named (SMX Art.16-17, ZZ Art.13-14).

    If the card step fails the registry keeps the endorsement pending; `sync` (or this call again with the
    card) writes it — the registry's reconcile decides what the card lacks."""
    at = ctx.clock()
    service = EndorsementService(ctx.sessions, principal.actor, ctx.station_keys(), clock=ctx.clock)
    with ctx.sessions.begin() as s:
        row = permit_by_number(s, body.permit_number)
        permit_data = read_permit(ctx, s, principal, body.permit_number, purpose=f"endorsement {body.kind}")
        latest = s.scalars(select(Endorsement).where(Endorsement.permit_id == row.id)
                           .order_by(Endorsement.seq.desc())).first()
        # Unchanged address by default: the latest endorsement's, else the permit's (SMX Art.16).
        address = body.residence_address or str((latest.data if latest else {}).get("residence_address")
                                                or permit_data.residence_address)
        record: Endorsement | ChangeRecord | None
        if body.kind == "service_place_change":  # ZZ Art.14: a change record of its own on the card
            if body.service_place is None or body.changed_on is None:
                raise FieldError("service_place", "a service place change needs service_place and changed_on")
            change, record = registry_changes.record_service_place(
                s, principal.actor, body.permit_number, service_place=body.service_place, changed_on=body.changed_on,
                at=at, layout=ctx.layout(row.layout_id))
            note = f"change record due {change.deadline.isoformat()} ({change.article})"
        elif body.kind == "yearly":
            record = registry_endorsements.endorse(s, principal.actor, body.permit_number,
                                                   data={"residence_address": address}, at=at,
                                                   layout=ctx.layout(row.layout_id))
            note = None
        else:
            if body.new_county is None or body.moved_on is None or body.residence_address is None:
                raise FieldError("new_county", "an address change needs new_county, moved_on and residence_address")
            change, record = registry_endorsements.change_address(
                s, principal.actor, body.permit_number, new_county=body.new_county, moved_on=body.moved_on,
                data={"residence_address": body.residence_address}, at=at, layout=ctx.layout(row.layout_id))
            note = f"{change.kind.value} ({change.article})"
        out = _endorsement_out(record, body.permit_number, body.kind, note)
    if body.reader and record is not None:
        written = sync(ctx, principal, body.permit_number, body.reader, service=service)
        out = out.model_copy(update={"card_sync": written.card_sync, "note": written.note})
        if isinstance(record, ChangeRecord):
            with ctx.sessions() as s:
                done = s.get(ChangeRecord, record.id)
                out = out.model_copy(update={"card_sync": done.card_sync if done else None})
    return out


def sync(ctx: AppContext, principal: Principal, number: str, reader: str, *,
         service: EndorsementService | None = None) -> EndorsementOut:
    """Bring the card in `reader` up to date with the registry's endorsements (retry after a failure)."""
    service = service or EndorsementService(ctx.sessions, principal.actor, ctx.station_keys(), clock=ctx.clock)
    with ctx.sessions() as s:
        row = permit_by_number(s, number)
        card = current_card(s, row)
        if card is None:
            raise RefusedError(f"permit_number: {number} has no card in use", field="permit_number")
        layout_id, card_number = row.layout_id, card.card_number
    with ctx.hub.session(reader, wait=2.0) as conn:
        result = service.sync(card_number, ctx.layout(layout_id), CardSession(conn))
    with ctx.sessions() as s:
        stmt = select(Endorsement).join(Card, Card.id == Endorsement.card_id).where(Card.card_number == card_number)
        latest = s.scalars(stmt.order_by(Endorsement.seq.desc())).first()
        note = f"written {list(result.written)}, confirmed {list(result.confirmed)}" + (
            f", change records written {list(result.changes_written)}" if result.changes_written else "")
        return _endorsement_out(latest, number, latest.kind if latest else "sync", note)


def list_endorsements(session: Session, number: str) -> list[EndorsementOut]:
    row = permit_by_number(session, number)
    rows = session.scalars(select(Endorsement).where(Endorsement.permit_id == row.id).order_by(Endorsement.seq))
    return [_endorsement_out(r, number, r.kind) for r in rows]
