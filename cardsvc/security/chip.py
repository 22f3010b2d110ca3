"""Chip authentication (anti-clone), host side, in the manner of ICAO 9303-11 §6.1 active authentication.

At personalization the card makes its own key pair of the layout's suite, SM2 (gm) or P-256 (intl)
(ISO/IEC 7816-8 GENERATE ASYMMETRIC KEY PAIR, INS 46, algorithm reference in the data field: 80 01 02
SM2, 80 01 01 P-256; no data means P-256); the private key never leaves the chip. For SM2 the data also
carries the layout's signer ID (81 L ID; our tag: ISO/IEC 7816-8 has none for GB/T 32918.2's ID_A), which
the card keeps with the key and hashes into Z for every INTERNAL AUTHENTICATE. The host writes the
public key into EF.CHIPKEY as a SubjectPublicKeyInfo (RFC 5480; GM/T 0015 for SM2), covered by EF.SOD.
A verifier sends a fresh random challenge in INTERNAL AUTHENTICATE (INS 88); the chip signs
CONTEXT || challenge with its key (SM2-with-SM3 with the layout's signer ID, or ECDSA-SHA-256) and answers
the plain r || s form (BSI TR-03111 §5.2.1), 64 bytes. Copying the files onto another chip cannot copy
the private key, so a clone fails here. The context prefix keeps the chip from signing arbitrary
host-chosen messages in another protocol's format.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.iso7816 import commands as cmd
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.errors import TlvError
from cardsvc.iso7816.tlv import encode_tlv, parse_single, tlv_map
from cardsvc.security.errors import ChipAuthenticationFailed, ChipKeyFormatError
from cardsvc.security.suite import INTL, PublicKey, Suite, SuiteName, as_public_key, der_signature

CHIP_AUTH_CONTEXT = b"cardsvc chip authentication v1\x00"
# Key reference of the chip key pair in the permit application (P2 = 80 | ref of GENERATE ASYMMETRIC KEY
# PAIR and INTERNAL AUTHENTICATE). Layout keys use 1-8; 14, the last compact-SC key number, never clashes.
CHIP_KEY_REF = 14
CHALLENGE_LENGTH = 16
SIGNATURE_LENGTH = 64  # r || s, 32 bytes each for P-256 and sm2p256v1
P1_GENERATE = 0x80  # generate the pair and return the public key (7816-8 table 4 style)
TAG_PUBLIC_KEY_TEMPLATE = 0x7F49  # ISO/IEC 7816-8 §5.1 public key data object template
TAG_EC_POINT = 0x86  # public point, uncompressed (SEC 1 §2.3.3)
TAG_ALGORITHM = 0x80  # ISO/IEC 7816-8 algorithm reference (the card applet's values below)
TAG_SIGNER_ID = 0x81  # SM2 signer distinguishing ID (GB/T 32918.2 §5.5 ID_A), the layout's `sm2_distid`
ALGORITHM_REFERENCE = {SuiteName.INTL: 0x01, SuiteName.GM: 0x02}  # like PUT KEY's 01 AES, 02 SM4


def generate_key_pair_command(key_ref: int, df_specific: bool = True, suite: Suite = INTL) -> CommandApdu:
    """GENERATE ASYMMETRIC KEY PAIR (ISO/IEC 7816-8 §5.1) into `key_ref` for the suite's curve, answering the
    public key; an SM2 key is told its signer ID (always, so the card never assumes one)."""
    data = encode_tlv(TAG_ALGORITHM, bytes((ALGORITHM_REFERENCE[suite.name],)))
    if suite.name is SuiteName.GM:
        data += encode_tlv(TAG_SIGNER_ID, suite.distid)
    return cmd.generate_key_pair(key_ref, P1_GENERATE, le=256, df_specific=df_specific, data=data)


def parse_generated_public_key(data: bytes, suite: Suite = INTL) -> PublicKey:
    """The chip's answer to GENERATE ASYMMETRIC KEY PAIR: 7F49 { 86 04||X||Y }."""
    try:
        template = parse_single(data, TAG_PUBLIC_KEY_TEMPLATE)
        point = tlv_map(template.value).get(TAG_EC_POINT)
    except TlvError as exc:
        raise ChipKeyFormatError(f"generated public key: {exc}") from None
    if point is None:
        raise ChipKeyFormatError("generated public key: template 7F49 has no EC point (tag 86)")
    if len(point) != 65 or point[0] != 0x04:
        raise ChipKeyFormatError(f"generated public key: tag 86 holds {len(point)} bytes, expected an"
                                 " uncompressed point (65 bytes starting 04)")
    try:
        return suite.public_key_from_point(point)
    except ValueError:
        curve = "sm2p256v1" if suite.name is SuiteName.GM else "P-256"
        raise ChipKeyFormatError(f"generated public key: point is not on {curve}") from None


def encode_chip_public_key(key: PublicKey | ec.EllipticCurvePublicKey) -> bytes:
    """EF.CHIPKEY content: DER SubjectPublicKeyInfo (RFC 5480; GM/T 0015 for SM2)."""
    try:
        return as_public_key(key).spki()
    except ValueError as exc:
        raise ChipKeyFormatError(f"chip key: {exc}") from None


def decode_chip_public_key(der: bytes, suite: Suite) -> PublicKey:
    """EF.CHIPKEY's key; an SM2 key with the layout suite's signer ID (the one the card was given)."""
    try:
        key = suite.load_public_key(der)
    except ValueError:
        raise ChipKeyFormatError("EF.CHIPKEY does not hold a DER SubjectPublicKeyInfo of a P-256 or SM2 key") from None
    if encode_chip_public_key(key) != der:
        raise ChipKeyFormatError("EF.CHIPKEY is not in canonical DER (trailing or altered bytes)")
    return key


def new_challenge() -> bytes:
    return os.urandom(CHALLENGE_LENGTH)


def internal_authenticate_command(challenge: bytes, key_ref: int, df_specific: bool = True) -> CommandApdu:
    if len(challenge) != CHALLENGE_LENGTH:
        raise ValueError(f"challenge: {len(challenge)} bytes, expected {CHALLENGE_LENGTH}")
    return cmd.internal_authenticate(key_ref, challenge, le=SIGNATURE_LENGTH, df_specific=df_specific)


def chip_auth_message(challenge: bytes) -> bytes:
    return CHIP_AUTH_CONTEXT + challenge


def verify_chip_response(chip_key_der: bytes, challenge: bytes, signature: bytes, suite: Suite) -> None:
    """Raise ChipAuthenticationFailed unless the chip signed our challenge with the EF.CHIPKEY key (SM2:
    under the layout suite's signer ID)."""
    key = decode_chip_public_key(chip_key_der, suite)
    if len(signature) != SIGNATURE_LENGTH:
        raise ChipAuthenticationFailed(
            f"INTERNAL AUTHENTICATE answer of {len(signature)} bytes, expected {SIGNATURE_LENGTH} (r || s)")
    try:
        key.verify(chip_auth_message(challenge), der_signature(signature))
    except InvalidSignature:
        raise ChipAuthenticationFailed(
            "chip signature over the challenge does not verify with EF.CHIPKEY: cloned or substituted chip"
        ) from None
