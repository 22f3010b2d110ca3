"""Loss reports (ZZ Art.16-17): how the loss was reported, and the moment it took effect.

ZZ Art.16 "应先到银行办理挂失手续，凭银行挂失证明到居住地公安派出所补办。无法及时办理正式挂失手续的，可以通过
银行客服电话等渠道办理口头挂失手续": a formal report carries the bank's loss certificate number, an oral report
the time it was made. ZZ Art.17 "居住证挂失生效之前所发生的个人损失…由持证人自行承担": the moment the loss took
effect decides who bears a loss, so it is recorded once and shown on the counter's verdict for that card.
The effective moment is the report's time at the bank (oral: when it was made; formal: the certificate's
time when given) and never later than the registry's record; a report made only at the counter takes
effect when recorded.

`report_loss_of` is the one door the API (`POST /api/permits/{n}/status`) and the CLI (`cardsvc status
--report-lost --bank-certificate … | --reported-at …`) both go through, so both take the same details with
the same checks (`check_loss_details`, `report_loss`).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.registry.audit import Actor
from cardsvc.registry.duty_models import LossReport
from cardsvc.registry.errors import RegistryError, StateConflictError
from cardsvc.registry.lifecycle import report_lost
from cardsvc.registry.lookup import card_by_number, current_card, permit_by_number


class Channel(StrEnum):
    BANK = "bank"  # 银行挂失证明 (formal report)
    ORAL = "oral"  # 口头挂失 by the bank's hotline
    COUNTER = "counter"  # neither: reported at the registry's counter


_CERTIFICATE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,31}$")


def report_loss(session: Session, actor: Actor, card_number: str, note: str, *, at: datetime,
                bank_certificate: str | None = None, reported_at: datetime | None = None) -> LossReport:
    """Block the card (lifecycle.report_lost, ZZ Art.16) and keep how and when the loss took effect.
    Nothing is written when a detail is refused."""
    if bank_certificate is not None and not _CERTIFICATE.fullmatch(bank_certificate):
        raise RegistryError("bank_certificate: 4-32 letters, digits or '-' (the bank's loss certificate number)",
                            field="bank_certificate")
    channel = Channel.BANK if bank_certificate else Channel.ORAL if reported_at is not None else Channel.COUNTER
    effective = reported_at or at
    if effective.tzinfo is None:
        raise RegistryError("reported_at: needs a time zone", field="reported_at")
    if effective > at:
        raise RegistryError(f"reported_at: {effective.isoformat()} is after the report is recorded "
                            f"({at.isoformat()})", field="reported_at")
    card = card_by_number(session, card_number)
    if card.issued_at is not None and effective < card.issued_at:
        raise RegistryError(f"reported_at: {effective.isoformat()} is before the card was issued",
                            field="reported_at")
    how = {Channel.BANK: "bank loss certificate", Channel.ORAL: "oral report by the bank's hotline",
           Channel.COUNTER: "report at the counter"}[channel]
    report_lost(session, actor, card_number, f"{note} ({how}; effective {effective.isoformat()})", at=at)
    row = LossReport(permit_id=card.permit_id, card_id=card.id, channel=channel.value,
                     bank_certificate=bank_certificate, effective_at=effective, recorded_at=at)
    session.add(row)
    session.flush()
    return row


def check_loss_details(action: str, bank_certificate: str | None, reported_at: datetime | None) -> None:
    """The bank certificate and the oral report's time belong to a loss report only (ZZ Art.16)."""
    if action != "report_lost" and (bank_certificate is not None or reported_at is not None):
        field = "bank_certificate" if bank_certificate is not None else "reported_at"
        raise RegistryError(f"{field}: only with a loss report (ZZ Art.16)", field=field)


def report_loss_of(session: Session, actor: Actor, note: str, *, at: datetime, permit_number: str | None = None,
                   card_number: str | None = None, bank_certificate: str | None = None,
                   reported_at: datetime | None = None) -> LossReport:
    """Report the holder's card in use lost: the current card of `permit_number`, or `card_number` itself
    (refused by lifecycle.report_lost unless it is the card in use)."""
    if (permit_number is None) == (card_number is None):
        raise RegistryError("permit_number: give the permit number or the card number", field="permit_number")
    if card_number is None:
        assert permit_number is not None
        held = current_card(session, permit_by_number(session, permit_number))
        if held is None:
            raise StateConflictError(f"permit_number: {permit_number} has no card in use to report lost",
                                     field="permit_number")
        card_number = held.card_number
    return report_loss(session, actor, card_number, note, at=at, bank_certificate=bank_certificate,
                       reported_at=reported_at)


def loss_of(session: Session, card_id: int) -> LossReport | None:
    return session.scalars(select(LossReport).where(LossReport.card_id == card_id)).one_or_none()
