"""Endorsement records on the card: the layout's TLV fields plus DF42 = the endorsing authority's
signature, r || s (64 bytes), as cardsvc.security.endorsement makes it. Change-registration records (ZZ
Art.14) are signed the same way over their record type and bytes (`sign_change_for_card`).

The signature covers DER(tbs) of cardsvc.security.endorsement: card number, record number, the record's
bytes without DF42 and padding ("body", exactly as stored), and the signer's key identifier. The card
keeps only r || s (space); a verifier rebuilds the record from the card bytes, the card number, the record
number and the endorsement signer certificate of the authority code in the record (DF07), then runs
`verify_endorsement` (trust, validity, revocation, signature): `cardsvc.verification.endorsements`, the one
implementation the counter and the station's verify-after-write share.
"""

from __future__ import annotations

from dataclasses import replace

from cardsvc.issuance.keys import IssuerKeys
from cardsvc.layout.codec import CHANGE_SIGNED_PREFIX, encode_change, encode_endorsement
from cardsvc.layout.schema import Layout
from cardsvc.permit.model import Change, Endorsement, Permit
from cardsvc.security.errors import EndorsementFormatError

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


def sign_change_for_card(c: Change, layout: Layout, keys: IssuerKeys, card_number: str, record_no: int) -> Change:
    """`c` signed for record `record_no` of the changes EF of `card_number` (ZZ Art.14): the same signature
    as an endorsement record's, over the record type 'DF40 01 43' and the record's bytes, so neither kind of
    record verifies as the other."""
    body = CHANGE_SIGNED_PREFIX + encode_change(replace(c, signature=b""), layout, signed_part=True)
    der = keys.sign_endorsement(c.authority_code, card_number, record_no, body)
    return replace(c, signature=raw_signature(der))


def sign_permit_endorsements(permit: Permit, layout: Layout, keys: IssuerKeys) -> Permit:
    """Every endorsement the permit carries, signed for this card (a new card generation re-signs the
    history: each record is bound to one card number)."""
    signed = tuple(sign_for_card(e, layout, keys, permit.card_number, n)
                   for n, e in enumerate(permit.endorsements, start=1))
    return replace(permit, endorsements=signed)
