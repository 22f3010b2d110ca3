"""Endorsement records (签注, SMX Art.16-17, ZZ Art.13-14) and change-registration records (ZZ Art.14, the
service place) as a counter checks them.

Record format (the one cardsvc.issuance.endorse_records writes): the layout's TLV fields plus DF42 = the
endorsing authority's signature r || s (64 bytes) over DER(tbs) of cardsvc.security.endorsement — card
number, record number, the record's data objects without DF42 and padding, and the signer's key
identifier. The card keeps no certificate, so the signer is found among the trust store's endorsement
signers of the authority code the record names (DF07), then `verify_endorsement` checks binding, signer
trust (root, validity, CRL) and the signature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from cardsvc.iso7816.errors import CardError, TlvError
from cardsvc.iso7816.tlv import parse_tlvs
from cardsvc.layout.codec import CHANGE_SIGNED_PREFIX, decode_change, decode_endorsement
from cardsvc.layout.schema import Layout
from cardsvc.permit.model import Change, Endorsement
from cardsvc.security import oids
from cardsvc.security.endorsement import sign_endorsement, verify_endorsement
from cardsvc.security.errors import (
    EndorsementError,
    EndorsementFormatError,
    EndorsementSignatureError,
    PkiError,
    UnknownSignerError,
)
from cardsvc.security.pki import TrustStore, authority_code
from cardsvc.verification.checks import pki_result
from cardsvc.verification.verdict import Check, CheckResult, Result

TAG_SIGNATURE = 0xDF42
RAW_SIGNATURE = 64


@dataclass(frozen=True, slots=True)
class EndorsementCheck:
    result: CheckResult
    endorsements: tuple[Endorsement, ...]  # decoded, in record order (only when every record verified)
    changes: tuple[Change, ...] = ()  # change registrations (ZZ Art.14), in record order, likewise


def split_record(record: bytes, number: int) -> tuple[bytes, bytes]:
    """(the data objects without DF42 and padding, as stored; the 64-byte signature)."""
    try:
        objects = parse_tlvs(record, allow_padding=True)
    except TlvError as exc:
        raise EndorsementFormatError(f"record {number}: {exc}") from None
    body = b"".join(o.encode() for o in objects if o.tag != TAG_SIGNATURE)
    signatures = [o.value for o in objects if o.tag == TAG_SIGNATURE]
    if len(signatures) != 1 or len(signatures[0]) != RAW_SIGNATURE:
        raise EndorsementFormatError(f"record {number}: needs one DF42 signature of {RAW_SIGNATURE} bytes")
    return body, signatures[0]


def _is_endorsement_signer(cert: x509.Certificate, code: str) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        return authority_code(cert) == code and oids.KP_ENDORSEMENT_SIGNER in eku
    except (x509.ExtensionNotFound, ValueError, PkiError):
        return False


def verify_record(record: bytes, number: int, card_number: str, layout: Layout, trust: TrustStore,
                  at: dt.datetime) -> Endorsement:
    """One record: signed for this card and position by a trusted endorsement signer of its authority."""
    body, signature = split_record(record, number)
    decoded = decode_endorsement(record, layout, number)
    _verify_signed(body, signature, number, card_number, decoded.authority.code, layout, trust, at)
    return decoded


def verify_change_record(record: bytes, number: int, card_number: str, layout: Layout, trust: TrustStore,
                         at: dt.datetime) -> Change:
    """One change-registration record (ZZ Art.14): signed like an endorsement record, over its record type
    and bytes (cardsvc.layout.codec.CHANGE_SIGNED_PREFIX), for this card and position."""
    body, signature = split_record(record, number)
    decoded = decode_change(record, layout, number)
    _verify_signed(CHANGE_SIGNED_PREFIX + body, signature, number, card_number, decoded.authority_code, layout,
                   trust, at)
    return decoded


def _verify_signed(body: bytes, signature: bytes, number: int, card_number: str, code: str, layout: Layout,
                   trust: TrustStore, at: dt.datetime) -> None:
    if layout.authority_name(code) is None:  # a genuine record names one of the city's
        raise EndorsementFormatError(f"record {number}: authority {code} is not an authority of layout {layout.id}")
    candidates = [c for c in trust.signers if _is_endorsement_signer(c, code)]
    if not candidates:
        raise UnknownSignerError(f"record {number}: no endorsement signer known for authority {code}")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    failure: EndorsementError | PkiError | None = None
    for signer in candidates:  # several after a key rollover: the one that verifies is the signer
        der = sign_endorsement(card_number, number, body, signer, lambda _tbs: encode_dss_signature(r, s))
        try:
            verify_endorsement(der, card_number, number, trust, at)
        except EndorsementSignatureError as exc:
            failure = failure or exc
            continue
        except PkiError as exc:
            failure = exc
            continue
        return
    assert failure is not None
    raise failure


def check_endorsements(records: tuple[bytes, ...], card_number: str | None, layout: Layout, trust: TrustStore,
                       at: dt.datetime, changes: tuple[bytes, ...] = ()) -> EndorsementCheck:
    """Every endorsement record and every change-registration record (ZZ Art.14) the card holds."""
    check = Check.ENDORSEMENTS
    if not records and not changes:
        return EndorsementCheck(CheckResult.passed(check, "no endorsements on the card"), ())
    if card_number is None:
        return EndorsementCheck(CheckResult.not_run(check, Result.UNREADABLE, "card number unknown"), ())
    out: list[Endorsement] = []
    changed: list[Change] = []
    try:
        kind = ""
        for number, record in enumerate(records, start=1):
            out.append(verify_record(record, number, card_number, layout, trust, at))
        kind = "change "
        for number, record in enumerate(changes, start=1):
            changed.append(verify_change_record(record, number, card_number, layout, trust, at))
    except UnknownSignerError as exc:
        return EndorsementCheck(CheckResult.failed(check, Result.UNTRUSTED_ISSUER, f"{kind}{exc}"), ())
    except PkiError as exc:
        return EndorsementCheck(CheckResult.failed(check, pki_result(exc, None, trust),
                                                   f"{kind}record {number} signer: {exc}"), ())
    except (CardError, ValueError) as exc:  # format, binding, signature, layout decode
        return EndorsementCheck(CheckResult.failed(check, Result.TAMPERED, f"{kind}record {number}: {exc}"), ())
    detail = f"{len(out)} endorsement(s)" + (f" and {len(changed)} change record(s)" if changed else "")
    return EndorsementCheck(CheckResult.passed(check, f"{detail} verified"), tuple(out), tuple(changed))
