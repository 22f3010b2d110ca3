"""Endorsement records (签注, SMX Art.16-17, ZZ Art.13-14), each signed by the endorsing authority.

Endorsements are appended after EF.SOD was made, so each record carries its own signature (DER):

    EndorsementRecord ::= SEQUENCE {
        tbs        SEQUENCE {
            version     INTEGER (0),
            cardNumber  UTF8String,      -- binds the record to one card (no copying between cards)
            recordNo    INTEGER (1..254),-- binds it to its position in EF.ENDORSE (no reordering)
            body        OCTET STRING,    -- the layout-encoded endorsement fields (address, validity, …)
            signerKeyId OCTET STRING },  -- subjectKeyIdentifier of the endorsement signer certificate
        signature  OCTET STRING }        -- over DER(tbs) in the signer's suite (SM2-with-SM3 or
                                         -- ECDSA-SHA-256), plain r || s (64 bytes)

The signer certificate is not on the card (space); verifiers find it by key identifier in their trust
store, then check it like a document signer but for the endorsement role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from asn1crypto import core
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from cardsvc.security.errors import EndorsementBindingError, EndorsementFormatError, EndorsementSignatureError
from cardsvc.security.kdf import check_card_number
from cardsvc.security.pki import SignerRole, TrustStore
from cardsvc.security.suite import der_signature, raw_signature

RECORD_VERSION = 0
MAX_RECORD_NO = 254  # ISO 7816-4 record numbers 01-FE
MAX_BODY = 1024


class _Tbs(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[str, type]]] = [
        ("version", core.Integer), ("card_number", core.UTF8String), ("record_no", core.Integer),
        ("body", core.OctetString), ("signer_key_id", core.OctetString)]


class _Record(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[str, type]]] = [("tbs", _Tbs), ("signature", core.OctetString)]


@dataclass(frozen=True, slots=True)
class Endorsement:
    card_number: str
    record_no: int
    body: bytes
    signer: x509.Certificate


def _key_id(cert: x509.Certificate) -> bytes:
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def sign_endorsement(card_number: str, record_no: int, body: bytes, signer_cert: x509.Certificate,
                     sign: Callable[[bytes], bytes]) -> bytes:
    """A signed record; `sign` returns a DER signature by the signer's key (its suite's algorithm)."""
    check_card_number(card_number)
    if not 1 <= record_no <= MAX_RECORD_NO:
        raise ValueError(f"record_no: {record_no} is outside 1..{MAX_RECORD_NO}")
    if not body or len(body) > MAX_BODY:
        raise ValueError(f"body: {len(body)} bytes, must be 1..{MAX_BODY}")
    tbs = _Tbs({"version": RECORD_VERSION, "card_number": card_number, "record_no": record_no,
                "body": body, "signer_key_id": _key_id(signer_cert)})
    record: bytes = _Record({"tbs": tbs, "signature": raw_signature(sign(tbs.dump()))}).dump()
    return record


def verify_endorsement(record: bytes, card_number: str, record_no: int, trust: TrustStore,
                       at: dt.datetime | None = None) -> Endorsement:
    """Check format, binding to this card and record position, signer trust, then the signature."""
    try:
        parsed = _Record.load(record, strict=True)
        tbs = parsed["tbs"]
        version = tbs["version"].native
        rec_card, rec_no = tbs["card_number"].native, tbs["record_no"].native
        body, key_id = tbs["body"].native, tbs["signer_key_id"].native
        signature = parsed["signature"].native
        tbs_der = tbs.dump()
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise EndorsementFormatError(f"record {record_no}: not a DER endorsement record ({exc})") from None
    if version != RECORD_VERSION:
        raise EndorsementFormatError(f"record {record_no}: version {version}, expected {RECORD_VERSION}")
    if len(signature) != 64:
        raise EndorsementFormatError(f"record {record_no}: signature of {len(signature)} bytes, expected 64")
    if rec_card != card_number:
        raise EndorsementBindingError(f"record {record_no}: signed for another card")
    if rec_no != record_no:
        raise EndorsementBindingError(f"record {record_no}: signed as record {rec_no} (moved or reordered)")
    signer = trust.find_signer(key_id)
    trust.check_signer(signer, SignerRole.ENDORSEMENT, at)
    key = trust.public_key(signer)  # SM2: the trust store's (layouts') signer ID
    try:
        key.verify(tbs_der, der_signature(signature))
    except InvalidSignature:
        raise EndorsementSignatureError(
            f"record {record_no}: endorsing authority's signature does not verify") from None
    return Endorsement(rec_card, rec_no, body, signer)
