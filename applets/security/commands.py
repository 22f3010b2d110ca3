"""Security commands of the card OS.

GET CHALLENGE 84, MUTUAL AUTHENTICATE 82 (ISO 7816-4 §11.5), INTERNAL AUTHENTICATE 88 (chip key signs
the challenge), GENERATE ASYMMETRIC KEY PAIR 46 (ISO 7816-8 §5.1; public key out, private stays; an SM2
key keeps the signer ID the host sends in tag 81, GB/T 32918.2 §5.5 ID_A, the layout's), and the
proprietary PUT KEY (CLA 80, INS D8, GlobalPlatform-style) that loads a role key at personalization.

Loading keys is guarded like creating an EF in the key's DF (the DF's CREATE_EF rule, which binds once
the DF is activated): at personalization it is open, afterwards only under the DF's rule. A chip key
pair is generated only while its own DF is still in personalization (6985 once it is activated).
"""

from __future__ import annotations

import os

from applets.context import Context, Handler, Reply
from applets.errors import SwError, wrong_length, wrong_p1p2
from applets.security.keys import KeyKind, KeyObject, load_key, scope_for, set_tries, store_key, tries_left
from applets.security.mutual import CRYPTOGRAM, NONCE, card_mutual_authenticate
from applets.security.primitives import (
    SIGN_ECDSA_P256,
    SIGN_LEGACY_P256,
    SIGN_SM2,
    SIGNATURES,
    SM2_DEFAULT_ID,
    SM2_MAX_ID,
    generate_signing_key,
    sign_raw,
)
from cardsvc.iso7816.errors import TlvError
from cardsvc.iso7816.fcp import DfOp, LifeCycle
from cardsvc.iso7816.ins import INS
from cardsvc.iso7816.sw import SW
from cardsvc.iso7816.tlv import encode_tlv, tlv_map

CHIP_AUTH_CONTEXT = b"cardsvc chip authentication v1\x00"  # same constant as the host's chip.py
CHALLENGE_KEY = "challenge"
SCALAR = 32  # the chip key object's material: scalar (32 bytes), then an SM2 key's signer ID
_PERSONALISING = (LifeCycle.CREATION, LifeCycle.INITIALISATION)
SESSION_KEY = "sm"


def get_challenge(ctx: Context) -> Reply:
    apdu = ctx.apdu
    if apdu.p1 or apdu.p2:
        raise wrong_p1p2("GET CHALLENGE takes P1-P2 0000")
    if apdu.data:
        raise wrong_length("GET CHALLENGE takes no data")
    n = NONCE if ctx.ne_is_wildcard else ctx.ne
    if n not in (8, NONCE):
        raise wrong_length(f"challenge length {n}: 8 or 16")
    challenge = os.urandom(n)
    ctx.channel.security.extra[CHALLENGE_KEY] = challenge  # single use, volatile
    return Reply(challenge)


def mutual_authenticate(ctx: Context) -> Reply:
    apdu = ctx.apdu
    if apdu.p1 != 0x00:
        raise wrong_p1p2("MUTUAL AUTHENTICATE: P1 must be 00 (algorithm given by the key object)")
    scope, ref = scope_for(ctx, apdu.p2)
    security = ctx.channel.security
    challenge = security.extra.pop(CHALLENGE_KEY, None)
    if len(apdu.data) != CRYPTOGRAM:
        raise wrong_length(f"MUTUAL AUTHENTICATE data is {len(apdu.data)} bytes, expected {CRYPTOGRAM}")
    key = load_key(ctx, scope, ref, KeyKind.SYMMETRIC)
    left = tries_left(ctx, scope, ref)
    if left == 0:
        raise SwError(SW.AUTHENTICATION_METHOD_BLOCKED, f"key {ref} is blocked")
    if not isinstance(challenge, bytes) or len(challenge) != NONCE:
        raise SwError(SW.CONDITIONS_OF_USE_NOT_SATISFIED, "no 16-byte challenge issued by GET CHALLENGE")
    security.clear()  # a new authentication replaces whatever status there was
    set_tries(ctx, scope, ref, left - 1)  # counted before checking: tearing cannot buy a free try
    result = card_mutual_authenticate(key.cipher, key.material, challenge, apdu.data, os.urandom(16))
    if not result.ok or result.session is None:
        raise SwError(0x63C0 | (left - 1), f"key {ref}: {result.reason}")
    set_tries(ctx, scope, ref, key.max_tries)
    security.grant(ref)
    security.extra[SESSION_KEY] = result.session
    security.sm_active = True
    return Reply(result.response)


def internal_authenticate(ctx: Context) -> Reply:
    apdu = ctx.apdu
    if apdu.p1 != 0x00:
        raise wrong_p1p2("INTERNAL AUTHENTICATE: P1 must be 00")
    if not 8 <= len(apdu.data) <= 64:
        raise wrong_length(f"challenge of {len(apdu.data)} bytes: 8..64")
    scope, ref = scope_for(ctx, apdu.p2)
    key = load_key(ctx, scope, ref, KeyKind.CHIP_EC)
    if key.cipher not in SIGNATURES:
        raise SwError(SW.REFERENCE_DATA_NOT_USABLE, f"chip key {ref}: unknown algorithm {key.cipher:02X}")
    scalar, signer_id = key.material[:SCALAR], key.material[SCALAR:] or SM2_DEFAULT_ID  # older objects: no ID
    return Reply(sign_raw(key.cipher, scalar, CHIP_AUTH_CONTEXT + apdu.data, signer_id))


def _key_algorithm(data: bytes) -> tuple[int, bytes]:
    """GENERATE ASYMMETRIC KEY PAIR data: empty (P-256), the algorithm reference 80 01 xx, and for SM2 the
    signer ID 81 L ID (1..SM2_MAX_ID bytes; absent: the GB/T 35276 default, as hosts before the ID sent)."""
    if not data:
        return SIGN_ECDSA_P256, b""
    try:
        fields = tlv_map(data)
    except TlvError as exc:
        raise SwError(SW.INCORRECT_DATA, f"GENERATE ASYMMETRIC KEY PAIR data: {exc}") from None
    algorithm = fields.get(0x80, b"")
    if not {0x80} <= set(fields) <= {0x80, 0x81} or len(algorithm) != 1 or algorithm[0] == SIGN_LEGACY_P256 \
            or algorithm[0] not in SIGNATURES:
        raise SwError(SW.INCORRECT_DATA, "GENERATE ASYMMETRIC KEY PAIR data: expected 80 01 01 (P-256) or "
                                         "80 01 02 (SM2) [81 L signer ID]")
    if algorithm[0] != SIGN_SM2:
        if 0x81 in fields:
            raise SwError(SW.INCORRECT_DATA, "GENERATE ASYMMETRIC KEY PAIR data: a signer ID (81) is for SM2 only")
        return algorithm[0], b""
    signer_id = fields.get(0x81, SM2_DEFAULT_ID)
    if not 1 <= len(signer_id) <= SM2_MAX_ID:
        raise SwError(SW.INCORRECT_DATA, f"GENERATE ASYMMETRIC KEY PAIR data: signer ID (81) of {len(signer_id)} "
                                         f"bytes, must be 1..{SM2_MAX_ID}")
    return algorithm[0], signer_id


def generate_key_pair(ctx: Context) -> Reply:
    apdu = ctx.apdu
    if apdu.p1 != 0x80:
        raise wrong_p1p2("GENERATE ASYMMETRIC KEY PAIR: P1 80 (generate, return the public key)")
    scope, ref = scope_for(ctx, apdu.p2)
    if scope.lifecycle not in _PERSONALISING:
        # The chip key is the card's identity (chip authentication): made once, while its application
        # is personalized; a key pair made later, whatever the caller's keys, would let a terminal that
        # knows a role key replace the identity of an issued card.
        raise SwError(SW.CONDITIONS_OF_USE_NOT_SATISFIED,
                      f"GENERATE ASYMMETRIC KEY PAIR: DF {scope.fid:04X} is past personalization")
    ctx.require(scope, DfOp.CREATE_EF, "GENERATE ASYMMETRIC KEY PAIR in")
    algorithm, signer_id = _key_algorithm(apdu.data)
    scalar, point = generate_signing_key(algorithm)
    store_key(ctx, scope, ref, KeyObject(KeyKind.CHIP_EC, algorithm, 1, scalar + signer_id))
    return Reply(encode_tlv(0x7F49, encode_tlv(0x86, point)))


def put_key(ctx: Context) -> Reply:
    """Data: 81 cipher (01 AES, 02 SM4) · 82 retry limit (1..15) · 83 key value."""
    apdu = ctx.apdu
    if apdu.p1 != KeyKind.SYMMETRIC:
        raise wrong_p1p2("PUT KEY: P1 01 (symmetric role key); chip keys are generated on the card")
    scope, ref = scope_for(ctx, apdu.p2)
    ctx.require(scope, DfOp.CREATE_EF, "PUT KEY in")
    try:
        fields = tlv_map(apdu.data)
    except TlvError as exc:
        raise SwError(SW.INCORRECT_DATA, f"PUT KEY data: {exc}") from None
    for tag in (0x81, 0x82, 0x83):
        if tag not in fields or (tag != 0x83 and len(fields[tag]) != 1):
            raise SwError(SW.INCORRECT_DATA, f"PUT KEY data: tag {tag:02X} missing or not one byte")
    cipher, tries, value = fields[0x81][0], fields[0x82][0], fields[0x83]
    if len(value) not in ((16, 24, 32) if cipher == 0x01 else (16,)):
        raise SwError(SW.INCORRECT_DATA, f"PUT KEY: {len(value)}-byte key does not fit cipher {cipher:02X}")
    store_key(ctx, scope, ref, KeyObject(KeyKind.SYMMETRIC, cipher, tries, value))
    return Reply()


HANDLERS: dict[INS, Handler] = {INS.GET_CHALLENGE: get_challenge, INS.MUTUAL_AUTHENTICATE: mutual_authenticate,
                                INS.INTERNAL_AUTHENTICATE: internal_authenticate,
                                INS.GENERATE_ASYMMETRIC_KEY_PAIR: generate_key_pair}
PROPRIETARY_HANDLERS: dict[INS, Handler] = {INS.PUT_KEY: put_key}
