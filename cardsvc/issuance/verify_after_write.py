"""Verify a freshly written card the way a counter reader does, plus a byte comparison with the image.

This is the station's compact verifier (helper J's `cardsvc.verification` can replace it once it takes
an expected image): select the permit ADF by AID and require it ACTIVATED (a card torn before its commit
point is refused here even if every byte is present), read each EF by SFI with exactly the expected
length, compare, read EF.CHIPKEY and EF.SOD, check the chip with a fresh INTERNAL AUTHENTICATE
challenge, authenticate with the counter key and read EF.MACHINE under secure messaging, run passive
authentication (`verify_sod`: signature, signer trust, every hash) and check every endorsement record.
Any failure raises `WriteVerificationFailed` naming the check; nothing is recorded as issued then.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.errors import ApduError, CardError
from cardsvc.iso7816.fcp import Fcp, LifeCycle
from cardsvc.iso7816.sw import SW
from cardsvc.issuance.endorse_records import endorsement_authority, signed_part, verify_card_endorsement
from cardsvc.issuance.keys import IssuerKeys, key_ref
from cardsvc.issuance.plan import CHIP_KEY_REF, CHIPKEY_EF, PERMIT_DF, SOD_EF, Plan, key_role
from cardsvc.layout.schema import Content, Layout
from cardsvc.protocol import build_pipeline
from cardsvc.security import chip
from cardsvc.security.auth import authenticate
from cardsvc.security.errors import SecurityError
from cardsvc.security.sm import SecureMessagingProcessor
from cardsvc.security.sod import verify_sod
from cardsvc.session import CardSession
from cardsvc.transport.errors import TransportError

log = logging.getLogger(__name__)


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


class _Counter:
    def __init__(self) -> None:
        self.commands = 0
        self.bytes_read = 0

    def add(self, data: bytes, commands: int = 1) -> bytes:
        self.commands += commands
        self.bytes_read += len(data)
        return data


def _tlv_total(header: bytes) -> int:
    """Length of a whole BER-TLV from its first bytes (one-byte tag, as SPKI and CMS start with 30)."""
    if len(header) < 2:
        raise WriteVerificationFailed("read", "file too short for a TLV header")
    first = header[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 3 or len(header) < 2 + n:
        raise WriteVerificationFailed("read", f"unsupported TLV length byte {first:02X}")
    return 2 + n + int.from_bytes(header[2 : 2 + n], "big")


def _read_tlv_file(session: CardSession, sfi: int, known: int | None, count: _Counter) -> bytes:
    if known is not None:
        return count.add(session.read_binary(sfi=sfi, length=known))
    head = count.add(session.read_binary(sfi=sfi, length=8))
    total = _tlv_total(head)
    if total <= len(head):
        return head[:total]
    return head + count.add(session.read_binary(offset=len(head), length=total - len(head)))


def _check(check: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except (CardError, ValueError) as exc:  # signature, trust, format: the check failed (no I/O in here)
        raise WriteVerificationFailed(check, str(exc)) from None


def verify_after_write(session: CardSession, plan: Plan, layout: Layout, keys: IssuerKeys, *,
                       written: dict[str, bytes] | None = None, at: dt.datetime | None = None) -> WriteVerification:
    """Read the card back and prove it genuine and equal to `plan.image`; `written` (EF.CHIPKEY and EF.SOD
    as just written) lets the reads be exact, else their lengths come from their TLV headers."""
    when = at or dt.datetime.now(dt.UTC)
    image = plan.image
    count = _Counter()
    permit = image.file(PERMIT_DF)
    assert permit.aid is not None
    try:
        fcp = Fcp.parse(count.add(session.select_aid(permit.aid, fci=True)))
    except ApduError as exc:
        raise WriteVerificationFailed("select", f"permit application not selectable: {exc}") from None
    if fcp.lifecycle is not LifeCycle.ACTIVATED:
        state = fcp.lifecycle.name if fcp.lifecycle is not None else "unknown"
        raise WriteVerificationFailed("lifecycle", f"permit ADF is {state}, not ACTIVATED: personalization unfinished")
    read: dict[str, bytes] = {}
    read_records: dict[str, list[bytes]] = {}
    endorse_ef = next((ef.name for ef in layout.efs if ef.content is Content.ENDORSEMENTS), None)
    digest = hashlib.sha256()  # over what was read, so the registry keeps proof of this very card
    written = written or {}
    try:
        for f in image:
            if f.parent_path != permit.path or f.sfi is None:
                continue
            if f.name in (CHIPKEY_EF, SOD_EF):
                known = written.get(f.name)
                data = _read_tlv_file(session, f.sfi, None if known is None else len(known), count)
                if known is not None and data != known:
                    raise WriteVerificationFailed("compare", f"EF {f.name} differs from what was written")
            elif f.records is not None:
                records = session.read_records(sfi=f.sfi)
                count.add(b"".join(records), commands=len(records) + 1)
                _compare_records(f.name, records, f.records, f.name == endorse_ef)
                read_records[f.name] = records
                read[f.name] = b"".join(records)
                continue
            elif layout.ef(f.name).access.get("read", "never") != "always":
                continue  # protected: read under secure messaging below
            else:
                expected = f.content or b""
                data = count.add(session.read_binary(sfi=f.sfi, length=len(expected))) if expected else b""
                if data != expected:
                    raise WriteVerificationFailed("compare", f"EF {f.name} differs from the image")
            read[f.name] = data
        chip_key = read.get(CHIPKEY_EF, b"")
        challenge = chip.new_challenge()
        response = session.send(chip.internal_authenticate_command(challenge, CHIP_KEY_REF),
                                context="INTERNAL AUTHENTICATE")
        count.add(response.data)
        _check("chip", lambda: chip.verify_chip_response(chip_key, challenge, response.data))
        _read_protected(session, plan, layout, keys, read, count)
    except TransportError:
        raise
    except ApduError as exc:
        raise WriteVerificationFailed("read", str(exc)) from None
    for f in image:  # digest of everything read back, in image order
        if f.name in read:
            digest.update(f.fid.to_bytes(2, "big") + len(read[f.name]).to_bytes(4, "big") + read[f.name])
    trust = keys.trust()
    contents = {image.file(n).fid: read.get(n, b"") for n in plan.signed_efs}

    def passive() -> None:
        verify_sod(read.get(SOD_EF, b""), contents, trust, when)

    _check("sod", passive)
    for name in plan.signed_efs:
        f = image.file(name)
        if name != CHIPKEY_EF and read.get(name) != (f.content or b""):
            raise WriteVerificationFailed("compare", f"EF {name} differs from the image")
    if endorse_ef is not None:
        _verify_endorsements(plan, layout, keys, read_records.get(endorse_ef, []), when)
    log.info("card %s verified after write: %d commands, %d bytes read", plan.card_number, count.commands,
             count.bytes_read)
    return WriteVerification(plan.card_number, chip_key, digest.digest(), count.commands, count.bytes_read)


def _read_protected(session: CardSession, plan: Plan, layout: Layout, keys: IssuerKeys, read: dict[str, bytes],
                    count: _Counter) -> None:
    """Authenticate with the counter key (the terminal a counter uses) and read each EF that needs it."""
    image = plan.image
    permit = image.file(PERMIT_DF)
    protected = [f for f in image if f.parent_path == permit.path and f.sfi is not None and f.records is None
                 and f.name not in (CHIPKEY_EF, SOD_EF)
                 and layout.ef(f.name).access.get("read", "never") != "always"]
    if not protected:
        return
    ref = key_ref(layout, "counter")
    role_key = keys.card_key(key_role("counter"), plan.card_number)
    try:
        sm_session = authenticate(session.connection.transmit, role_key, ref)
    except SecurityError as exc:
        raise WriteVerificationFailed("terminal", f"counter key authentication failed: {exc}") from None
    count.commands += 2
    sm = SecureMessagingProcessor(build_pipeline(session.connection, extended=session.extended, log_traffic=False),
                                  sm_session)
    for f in protected:
        expected = f.content or b""
        if not expected:
            read[f.name] = b""
            continue
        response = sm.send(CommandApdu(0x00, 0xB0, 0x80 | (f.sfi or 0), 0x00, le=len(expected)))
        if response.sw not in (SW.OK, SW.END_OF_FILE_REACHED):
            raise ApduError.from_sw(response.sw, response.data, f"READ BINARY {f.name} under SM")
        data = count.add(response.data)
        if data != expected:
            raise WriteVerificationFailed("compare", f"EF {f.name} differs from the image")
        read[f.name] = data


def _compare_records(name: str, got: list[bytes], expected: tuple[bytes, ...], signed: bool) -> None:
    """Records must equal the image; signed endorsement records are compared without their signature
    (ECDSA signatures differ each time they are made; each one is verified on its own instead)."""
    if signed:
        got_cmp: list[bytes] | tuple[bytes, ...] = [signed_part(r, n)[0] for n, r in enumerate(got, start=1)]
        expected = tuple(signed_part(r, n)[0] for n, r in enumerate(expected, start=1))
    else:
        got_cmp = got
    if tuple(got_cmp) != expected:
        raise WriteVerificationFailed("compare", f"EF {name}: records differ from the image")


def _verify_endorsements(plan: Plan, layout: Layout, keys: IssuerKeys, records: list[bytes],
                         when: dt.datetime) -> None:
    for number, record in enumerate(records, start=1):
        def one(record: bytes = record, number: int = number) -> None:
            signer = keys.endorsement_signer(endorsement_authority(record, layout, number))
            verify_card_endorsement(record, number, plan.card_number, layout, keys.trust(), signer, when)

        _check("endorsement", one)
