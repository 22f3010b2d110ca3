"""Security commands of the card OS.

GET CHALLENGE 84, MUTUAL AUTHENTICATE 82 (ISO 7816-4 §11.5), INTERNAL AUTHENTICATE 88 (chip key signs
the challenge), GENERATE ASYMMETRIC KEY PAIR 46 (ISO 7816-8 §5.1; public key out, private stays), and the
proprietary PUT KEY (CLA 80, INS D8, GlobalPlatform-style) that loads a role key at personalization.

Loading keys is guarded like creating an EF in the key's DF (the DF's CREATE_EF rule, which binds once
the DF is activated): at personalization it is open, afterwards only under the DF's rule. A chip key
pair is generated only while its own DF is still in personalization (6985 once it is activated).
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from applets.context import Context, Handler, Reply
from applets.errors import SwError, wrong_length, wrong_p1p2
from applets.security.keys import KeyKind, KeyObject, load_key, scope_for, set_tries, store_key, tries_left
from applets.security.mutual import CRYPTOGRAM, NONCE, card_mutual_authenticate
from cardsvc.iso7816.errors import TlvError
from cardsvc.iso7816.fcp import DfOp, LifeCycle
from cardsvc.iso7816.ins import INS
from cardsvc.iso7816.sw import SW
from cardsvc.iso7816.tlv import encode_tlv, tlv_map

CHIP_AUTH_CONTEXT = b"cardsvc chip authentication v1\x00"  # same constant as the host's chip.py
CHALLENGE_KEY = "challenge"
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
    private = ec.derive_private_key(int.from_bytes(key.material, "big"), ec.SECP256R1())
    r, s = decode_dss_signature(private.sign(CHIP_AUTH_CONTEXT + apdu.data, ec.ECDSA(hashes.SHA256())))
    return Reply(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


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
    private = ec.generate_private_key(ec.SECP256R1())
    scalar = private.private_numbers().private_value.to_bytes(32, "big")
    store_key(ctx, scope, ref, KeyObject(KeyKind.CHIP_EC, 0, 1, scalar))
    point = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
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
