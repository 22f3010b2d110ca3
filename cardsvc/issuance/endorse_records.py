"""Endorsement records on the card: the layout's TLV fields plus DF42 = the endorsing authority's
signature, r || s (64 bytes), as cardsvc.security.endorsement makes it.

The signature covers DER(tbs) of cardsvc.security.endorsement: card number, record number, the record's
bytes without DF42 and padding ("body", exactly as stored), and the signer's key identifier. The card
keeps only r || s (space); a verifier rebuilds the record from the card bytes, the card number, the record
number and the endorsement signer certificate of the authority code in the record (DF07), then runs
`verify_endorsement` (trust, validity, revocation, signature).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from cardsvc.iso7816.errors import TlvError
from cardsvc.iso7816.tlv import parse_tlvs
from cardsvc.issuance.keys import IssuerKeys
from cardsvc.layout.codec import decode_endorsement, encode_endorsement
from cardsvc.layout.schema import Layout
from cardsvc.permit.model import Endorsement, Permit
from cardsvc.security.endorsement import sign_endorsement, verify_endorsement
from cardsvc.security.errors import EndorsementFormatError
from cardsvc.security.pki import TrustStore

TAG_SIGNATURE = 0xDF42
RAW_SIGNATURE = 64
_DER_SIGNATURE_HEADER = b"\x04\x40"  # OCTET STRING of 64 bytes: the last field of EndorsementRecord


def raw_signature(record_der: bytes) -> bytes:
    """r || s from a DER EndorsementRecord (its trailing OCTET STRING, always 64 bytes)."""
    if len(record_der) < 66 or record_der[-66:-64] != _DER_SIGNATURE_HEADER:
        raise EndorsementFormatError("endorsement record does not end with a 64-byte signature")
    return record_der[-64:]


def sign_for_card(e: Endorsement, layout: Layout, keys: IssuerKeys, card_number: str, record_no: int) -> Endorsement:
    """`e` with its signature made for record `record_no` of card `card_number`."""
    body = encode_endorsement(replace(e, signature=b""), layout, signed_part=True)
    der = keys.sign_endorsement(e.authority.code, card_number, record_no, body)
    return replace(e, signature=raw_signature(der))


def sign_permit_endorsements(permit: Permit, layout: Layout, keys: IssuerKeys) -> Permit:
    """Every endorsement the permit carries, signed for this card (a new card generation re-signs the
    history: each record is bound to one card number)."""
    signed = tuple(sign_for_card(e, layout, keys, permit.card_number, n)
                   for n, e in enumerate(permit.endorsements, start=1))
    return replace(permit, endorsements=signed)


def signed_part(record: bytes, number: int) -> tuple[bytes, bytes]:
    """(body without DF42 and padding, exactly as stored; the DF42 value) of one record read back."""
    try:
        objects = parse_tlvs(record, allow_padding=True)
    except TlvError as exc:
        raise EndorsementFormatError(f"record {number}: {exc}") from None
    body = b"".join(o.encode() for o in objects if o.tag != TAG_SIGNATURE)
    sigs = [o.value for o in objects if o.tag == TAG_SIGNATURE]
    if len(sigs) != 1 or len(sigs[0]) != RAW_SIGNATURE:
        raise EndorsementFormatError(f"record {number}: needs one DF42 signature of {RAW_SIGNATURE} bytes")
    return body, sigs[0]


def verify_card_endorsement(record: bytes, number: int, card_number: str, layout: Layout, trust: TrustStore,
                            signer: x509.Certificate, at: dt.datetime | None = None) -> Endorsement:
    """Check one EF.ENDORSE record (signature, binding to card and position, signer trust)."""
    body, sig = signed_part(record, number)
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    der = sign_endorsement(card_number, number, body, signer, lambda _tbs: encode_dss_signature(r, s))
    verify_endorsement(der, card_number, number, trust, at)
    return decode_endorsement(record, layout, number)


def endorsement_authority(record: bytes, layout: Layout, number: int) -> str:
    """The endorsing authority's code (DF07) of a record, to find its signer certificate."""
    return decode_endorsement(record, layout, number).authority.code
