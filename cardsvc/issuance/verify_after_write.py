"""Verify a freshly written card exactly as a counter reader would, plus what only the station can do:
compare the bytes read with the image it meant to write.

The read and the judgement are the counter's own (`cardsvc.verification`): `PermitReader` reads the permit
ADF with the per-card counter key (EF.MACHINE under secure messaging) and `verify_read` runs passive
authentication, chip authentication, data and endorsement checks. The station requires those
authenticity checks to pass — a card torn before its commit point (permit ADF not ACTIVATED) fails READ —
and then that every EF of the permit ADF holds exactly the image's bytes (EF.CHIPKEY and EF.SOD as just
written, when known). Validity and status are not the station's business here (the registry has not
recorded the card yet). Any failure raises `WriteVerificationFailed` naming the check; nothing is
recorded as issued then.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from cardsvc.iso7816.errors import CardError
from cardsvc.issuance.keys import IssuerKeys
from cardsvc.issuance.plan import Plan
from cardsvc.layout.schema import Content, Layout
from cardsvc.layout.vocabulary import CHIPKEY_EF, PERMIT_DF, SOD_EF
from cardsvc.security.errors import EndorsementFormatError
from cardsvc.session import CardSession
from cardsvc.transport.errors import TransportError
from cardsvc.verification.endorsements import split_record
from cardsvc.verification.reader import CardRead, PermitReader, ProblemKind
from cardsvc.verification.verdict import Check, Outcome, Verdict
from cardsvc.verification.verifier import verify_read

log = logging.getLogger(__name__)

# The counter's checks a freshly written card must pass, and the name each failure carries here.
REQUIRED = {Check.READ: "read", Check.PASSIVE_AUTH: "sod", Check.CHIP_AUTH: "chip", Check.DATA: "data",
            Check.ENDORSEMENTS: "endorsement"}


class WriteVerificationFailed(CardError):
    """Verify-after-write refused the card; `.check` names the check that failed."""

    def __init__(self, check: str, reason: str) -> None:
        self.check = check
        self.reason = reason
        super().__init__(f"verify-after-write {check}: {reason}")


@dataclass(frozen=True, slots=True)
class WriteVerification:
    card_number: str
    chip_public_key: bytes  # DER SubjectPublicKeyInfo as read back (and proven by the chip)
    image_digest: bytes  # SHA-256 over every EF read back, in plan order
    commands: int
    bytes_read: int


def verify_after_write(session: CardSession, plan: Plan, layout: Layout, keys: IssuerKeys, *,
                       written: Mapping[str, bytes] | None = None, at: dt.datetime | None = None) -> WriteVerification:
    """Read the card back as a counter does and prove it genuine and equal to `plan.image`; `written`
    (EF.CHIPKEY and EF.SOD as just written) is compared too; without it their bytes are proven by the
    chip and passive authentication alone (a card resumed past its commit point)."""
    when = at or dt.datetime.now(dt.UTC)
    reader = PermitReader(session, layout, keys=keys.card_key)
    read = reader.read()
    if isinstance(reader.link_error, TransportError):
        raise reader.link_error  # card pulled or reader gone: the caller retries, nothing was judged
    verdict = verify_read(read, layout, keys.trust(), None, now=when)
    _require_genuine(read, verdict)
    if verdict.card_number != plan.card_number:
        raise WriteVerificationFailed("compare", f"card holds card number {verdict.card_number}, "
                                                 f"not {plan.card_number}")
    _compare(plan, layout, read, written or {})
    chip_key = read.files[CHIPKEY_EF]
    log.info("card %s verified after write: %d commands, %d bytes read", plan.card_number, read.stats.apdus,
             read.stats.file_bytes_read)
    return WriteVerification(plan.card_number, chip_key, image_digest(plan, read), read.stats.apdus,
                             read.stats.file_bytes_read)


def _require_genuine(read: CardRead, verdict: Verdict) -> None:
    for check, name in REQUIRED.items():
        result = verdict.check(check)
        if result.outcome is Outcome.PASS:
            continue
        if check is Check.READ and any(p.kind is ProblemKind.NOT_ACTIVATED for p in read.problems):
            name = "lifecycle"  # torn before the commit point: never genuine, whatever bytes are there
        elif check is Check.READ and read.problem("terminal_auth") is not None:
            name = "terminal"
        raise WriteVerificationFailed(name, result.detail or (result.result.value if result.result else "failed"))


def _compare(plan: Plan, layout: Layout, read: CardRead, written: Mapping[str, bytes]) -> None:
    """Every EF of the permit ADF equals the image (the station's own check). Endorsement records are
    compared without their signatures: a retry re-signs them, and each is verified on its own."""
    permit = plan.image.file(PERMIT_DF)
    for f in plan.image:
        if f.parent_path != permit.path:
            continue
        if f.records is not None:
            got = read.records.get(f.name)
            if got is None:
                raise WriteVerificationFailed("compare", f"EF {f.name}: records not read")
            signed = layout.ef(f.name).content is Content.ENDORSEMENTS
            if _record_bodies(got, signed) != _record_bodies(f.records, signed):
                raise WriteVerificationFailed("compare", f"EF {f.name}: records differ from the image")
            continue
        if f.name in (CHIPKEY_EF, SOD_EF):
            expected = written.get(f.name)
            if expected is None:
                continue
        else:
            expected = f.content or b""
        if read.files.get(f.name) != expected:
            raise WriteVerificationFailed("compare", f"EF {f.name} differs from the image")


def _record_bodies(records: tuple[bytes, ...], signed: bool) -> tuple[bytes, ...]:
    if not signed:
        return records
    try:
        return tuple(split_record(r, n)[0] for n, r in enumerate(records, start=1))
    except EndorsementFormatError as exc:
        raise WriteVerificationFailed("compare", str(exc)) from None


def image_digest(plan: Plan, read: CardRead) -> bytes:
    """SHA-256 over everything read back, in image order (FID, length, bytes): the registry keeps it as
    proof of this very card."""
    digest = hashlib.sha256()
    for f in plan.image:
        data = read.files.get(f.name)
        if data is None and f.name in read.records:
            data = b"".join(read.records[f.name])
        if data is not None:
            digest.update(f.fid.to_bytes(2, "big") + len(data).to_bytes(4, "big") + data)
    return digest.digest()
