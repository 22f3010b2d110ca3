"""The checks that judge authenticated data: decode and consistency, validity per the city's rules, and
card status from the status list. Pure functions; none raises for card data."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cardsvc.iso7816.errors import CardError
from cardsvc.layout.codec import fields_codec
from cardsvc.layout.fields import Value
from cardsvc.layout.schema import Content, Layout
from cardsvc.layout.vocabulary import CARD_EF, PERMIT_DF
from cardsvc.permit.model import Change, Endorsement
from cardsvc.security.sod import SecurityObject
from cardsvc.status_list.cache import StatusAnswer
from cardsvc.status_list.model import ListStatus
from cardsvc.verification.verdict import Check, CheckResult, Result


class StatusLookup(Protocol):
    """What the verifier asks about status (``cardsvc.status_list.StatusListCache`` is one)."""

    def lookup(self, card_number: str, now: dt.datetime) -> StatusAnswer: ...


@dataclass(frozen=True, slots=True)
class Data:
    result: CheckResult
    values: Mapping[str, Value]  # field name → value, merged over the permit EFs
    card_number: str | None


def decode_data(files: Mapping[str, bytes], layout: Layout, sod: SecurityObject | None) -> Data:
    """Decode the permit EFs per the layout; fields stored twice must agree; EF.CARD must name this
    layout and the authority whose document signer signed EF.SOD."""
    check = Check.DATA
    values: dict[str, Value] = {}
    for ef in layout.efs:
        if ef.parent != PERMIT_DF or ef.content is not Content.PERMIT or ef.name not in files:
            continue
        try:
            decoded = fields_codec(layout, ef.name).decode(files[ef.name])
        except CardError as exc:
            return Data(CheckResult.failed(check, Result.UNREADABLE, f"EF {ef.name}: {exc}"), values, None)
        for name, value in decoded.values.items():
            if name in values and values[name] != value:
                return Data(CheckResult.failed(check, Result.UNREADABLE,
                                               f"field {name} in EF {ef.name} differs from its other copy"),
                            values, None)
            values[name] = value
    number = values.get("card_number")
    card_number = number if isinstance(number, str) else None
    if card_number is None:
        return Data(CheckResult.failed(check, Result.UNREADABLE, f"EF {CARD_EF} holds no card number"),
                    values, None)
    if values.get("layout.id", layout.id) != layout.id:
        return Data(CheckResult.failed(check, Result.UNREADABLE,
                                       f"card is layout {values.get('layout.id')!r}, not {layout.id!r}"), values,
                    card_number)
    authority = values.get("authority.code")
    # Trust is scoped (design §7): the card's authority must be one of its layout's (a Zhengzhou card
    # cannot be issued by a Sanmenxia county), and EF.SOD signed by that authority's document signer.
    if not isinstance(authority, str) or layout.authority_name(authority) is None:
        return Data(CheckResult.failed(check, Result.UNTRUSTED_ISSUER,
                                       f"card names authority {authority!r}, not an issuing authority of layout "
                                       f"{layout.id}"), values, card_number)
    if sod is not None and authority != sod.authority_code:
        return Data(CheckResult.failed(check, Result.UNTRUSTED_ISSUER,
                                       f"card names authority {authority} but EF.SOD is signed by the document "
                                       f"signer of {sod.authority_code}"), values, card_number)
    if "valid_until" not in values:
        return Data(CheckResult.failed(check, Result.UNREADABLE, "no valid-until date on the card"), values,
                    card_number)
    return Data(CheckResult.passed(check, f"{len(values)} fields decoded"), values, card_number)


def display_values(values: Mapping[str, Value]) -> dict[str, str]:
    """Fields as text for the clerk (the photo is kept apart as bytes)."""
    out: dict[str, str] = {}
    for name, value in sorted(values.items()):
        if isinstance(value, bytes):
            continue
        out[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
    return out


def endorsement_display(e: Endorsement) -> dict[str, str]:
    return {"date": e.date.isoformat(), "residence_address": e.residence_address,
            "valid_until": e.valid_until.isoformat(), "authority.code": e.authority.code,
            "authority.name": e.authority.name}


def change_display(c: Change) -> dict[str, str]:
    return {"date": c.date.isoformat(), "changed_on": c.changed_on.isoformat(), "service_place": c.service_place,
            "authority.code": c.authority_code}


def current_values(values: Mapping[str, Value], endorsements: tuple[Endorsement, ...],
                   changes: tuple[Change, ...]) -> dict[str, str]:
    """The holder's current residence address and service place as the card records them (SMX Art.16-17,
    ZZ Art.13-14): the last verified endorsement record's address and the last verified change record's
    service place, else the permit's own."""
    out: dict[str, str] = {}
    address = endorsements[-1].residence_address if endorsements else values.get("residence_address")
    if isinstance(address, str):
        out["current_residence_address"] = address
    place = changes[-1].service_place if changes else values.get("service_place")
    if isinstance(place, str):
        out["current_service_place"] = place
    return out


def validity(layout: Layout, issued_until: dt.date, endorsements: tuple[Endorsement, ...],
             today: dt.date) -> CheckResult:
    """Valid-until of the latest endorsement (else of the permit) against today.

    Valid-until is the anniversary by which the next endorsement is due (cardsvc.rules.endorsement): from
    that day on the permit is overdue and its use suspended until endorsed (SMX Art.19(3)). Within the
    city's grace a late endorsement restores use (SMX Art.18: ≤ 6 months); past it the holder registers
    anew. ZZ states no limit (ZZ Art.13): every overdue card needs an endorsement."""
    check = Check.VALIDITY
    latest = max(enumerate(endorsements), key=lambda p: (p[1].date, p[0]), default=None)
    until = latest[1].valid_until if latest else issued_until
    source = f"endorsement {latest[0] + 1}" if latest else "issue"
    if today < until:
        return CheckResult.passed(check, f"valid until {until.isoformat()} ({source})")
    overdue = (today - until).days
    grace = layout.rules.late_endorsement_grace
    if grace is None:
        advice = "needs endorsement"
    else:
        late_until = grace.add_to(until)
        advice = (f"a late endorsement until {late_until.isoformat()} restores use (SMX Art.18)"
                  if today <= late_until else
                  f"overdue beyond the grace ending {late_until.isoformat()}: register anew (SMX Art.18)")
    return CheckResult.failed(check, Result.EXPIRED,
                              f"valid until {until.isoformat()} ({source}), {overdue} day(s) overdue: {advice}")


_STATUS_RESULT = {
    ListStatus.LOST: (Result.LOST, "reported lost (ZZ Art.16-17)"),
    ListStatus.SUSPENDED: (Result.SUSPENDED, "use suspended (SMX Art.19)"),
    ListStatus.REVOKED_REPLACED: (Result.REVOKED, "replaced by a new card (补领, SMX Art.20 / ZZ Art.15)"),
    ListStatus.REVOKED_RENEWED: (Result.REVOKED, "renewed, this card returned (换领, SMX Art.20 / ZZ Art.15)"),
    ListStatus.REVOKED_CORRECTED: (Result.REVOKED, "superseded by a corrected card (ZZ Art.27)"),
    ListStatus.CANCELLED: (Result.CANCELLED, "cancelled (注销, ZZ Art.25)"),
    ListStatus.NOT_ISSUED: (Result.NOT_ISSUED, "never recorded as issued: the registry holds this card number "
                            "as not yet verified (design §7)"),
    ListStatus.SPOILED: (Result.NOT_ISSUED, "spoiled in personalization: never issued (design §7)"),
}


def binding(answer: StatusAnswer, chip_key: bytes | None, endorsements: int | None) -> str | None:
    """Online only (design §7): the chip proved must be the one recorded for this card number, and the card
    must hold every endorsement written to it and none the registry lacks. The finding, or None."""
    bound = answer.binding
    if bound is None:
        return None
    if chip_key is None or bound.chip_key_sha256 is None:
        return "no chip key to compare with the registry's"
    if hashlib.sha256(chip_key).digest() != bound.chip_key_sha256:
        return "the chip proved is not the one the registry recorded for this card number"
    if endorsements is not None and not bound.endorsements_written <= endorsements <= bound.endorsements_recorded:
        return (f"card holds {endorsements} endorsement record(s), the registry {bound.endorsements_written} "
                f"written ({bound.endorsements_recorded} recorded)")
    return None


def status(lookup: StatusLookup | None, card_number: str, now: dt.datetime, *, chip_key: bytes | None = None,
           endorsements: int | None = None) -> CheckResult:
    """Lost, suspended (with its reason), revoked or cancelled; an unknown or stale ACTIVE fails closed.
    An online answer also binds the card to the registry (`binding`): `chip_key` is the EF.CHIPKEY the
    chip proved (None when chip authentication did not pass), `endorsements` the records on the card."""
    check = Check.STATUS
    if lookup is None:
        return CheckResult.not_run(check, Result.STATUS_UNKNOWN, "no status source configured")
    try:
        answer = lookup.lookup(card_number, now)
    except Exception as exc:  # any failure of the status source: the status is unknown, never "active"
        return CheckResult.not_run(check, Result.STATUS_UNKNOWN, f"{type(exc).__name__}: {exc}")
    basis = f"{answer.source.value}, issued {answer.list_issued_at.isoformat()}"
    if answer.status is ListStatus.ACTIVE and answer.stale:
        assert answer.next_update is not None
        return CheckResult.failed(check, Result.STATUS_UNKNOWN,
                                  f"status list past its next update {answer.next_update.isoformat()} (grace "
                                  f"{answer.grace}): a newer list exists that this counter lacks ({basis})")
    if answer.status is ListStatus.ACTIVE:
        if not answer.fresh:
            return CheckResult.failed(check, Result.STATUS_UNKNOWN,
                                      f"status basis is {answer.age} old, beyond the city's limit ({basis})")
        mismatch = binding(answer, chip_key, endorsements)
        if mismatch is not None:
            return CheckResult.failed(check, Result.NOT_ISSUED, f"{mismatch} ({basis})")
        if answer.past_next_update:  # stale beyond next_update, not beyond the grace: say so
            basis += f"; past its next update, within the grace {answer.grace}"
        return CheckResult.passed(check, f"active ({basis})")
    result, text = _STATUS_RESULT[answer.status]
    if answer.reason is not None:
        text += f": {answer.reason.value} ({answer.reason.article})"
    return CheckResult.failed(check, result, f"{text} ({basis})")
