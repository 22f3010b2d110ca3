"""Card-side primitives: block cipher choice, ISO/IEC 9797-1 method-2 padding, CMAC, the NIST SP 800-108r1
counter-mode KDF written as its own loop over CMAC (the host uses cryptography's KBKDFCMAC; the two are
cross-checked by tests/vectors/kdf_sp800_108_cmac.json), and the chip key's signature: SM2 (GB/T 32918.2
through gmalglib's whole-message signing, which computes Z itself: an independent check of the host's
own Z in cardsvc/security/sm2.py) or ECDSA P-256 (cryptography). The card side may not import host code
(design §3), hence this thin access of its own to the same libraries.

Derivations (same spec as the host, docs in cardsvc/security/kdf.py):
    K_role  = KDF(master[role], "cardsvc/div/<role>", card number)       (done by the host)
    K_aenc  = KDF(K_role, "cardsvc/auth-enc", ""),  K_amac = KDF(K_role, "cardsvc/auth-mac", "")
    K_enc   = KDF(K.IFD xor K.ICC, "cardsvc/sm-enc", RND.ICC || RND.IFD),  K_mac likewise "sm-mac"
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from gmalglib.core import SM2

BLOCK = 16
CIPHER_AES = 0x01
CIPHER_SM4 = 0x02
CIPHERS = {CIPHER_AES: "AES", CIPHER_SM4: "SM4"}
# Chip key algorithm references (GENERATE ASYMMETRIC KEY PAIR data 80 01 xx); 00 is a key made before
# the reference existed, a P-256 key.
SIGN_LEGACY_P256 = 0x00
SIGN_ECDSA_P256 = 0x01
SIGN_SM2 = 0x02
SIGNATURES = {SIGN_LEGACY_P256: "ECDSA P-256", SIGN_ECDSA_P256: "ECDSA P-256", SIGN_SM2: "SM2"}
SM2_DEFAULT_ID = b"1234567812345678"  # GB/T 35276 §5.4: a chip key made before hosts named the ID
SM2_MAX_ID = 1023  # the host layout's limit, 8191 bits (GB/T 32918.2 §5.5 ENTL: bits, in two bytes)


def block_cipher(cipher_id: int, key: bytes) -> BlockCipherAlgorithm:
    if cipher_id == CIPHER_AES and len(key) in (16, 24, 32):
        return algorithms.AES(key)
    if cipher_id == CIPHER_SM4 and len(key) == 16:
        return algorithms.SM4(key)
    raise ValueError(f"cipher {cipher_id:02X} with a {len(key)}-byte key is not supported")


def pad_m2(data: bytes) -> bytes:
    out = bytearray(data)
    out.append(0x80)
    while len(out) % BLOCK:
        out.append(0x00)
    return bytes(out)


def unpad_m2(data: bytes) -> bytes | None:
    """None when the padding is wrong (the caller answers 6988)."""
    if not data or len(data) % BLOCK:
        return None
    last_block = len(data) - BLOCK
    i = len(data) - 1
    while i >= last_block and data[i] == 0x00:
        i -= 1
    if i < last_block or data[i] != 0x80:
        return None
    return data[:i]


def cmac(cipher_id: int, key: bytes, data: bytes) -> bytes:
    c = CMAC(block_cipher(cipher_id, key))
    c.update(data)
    return c.finalize()


def ecb_block(cipher_id: int, key: bytes, block: bytes) -> bytes:
    enc = Cipher(block_cipher(cipher_id, key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def cbc(cipher_id: int, key: bytes, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    c = Cipher(block_cipher(cipher_id, key), modes.CBC(iv))
    ctx = c.encryptor() if encrypt else c.decryptor()
    return ctx.update(data) + ctx.finalize()


def kdf(cipher_id: int, key: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """SP 800-108 §4.1: K(i) = PRF(K_I, [i]_32 || Label || 0x00 || Context || [L]_32), i = 1, 2, …"""
    fixed = label + b"\x00" + context + (8 * length).to_bytes(4, "big")
    out = b""
    i = 1
    while len(out) < length:
        out += cmac(cipher_id, key, i.to_bytes(4, "big") + fixed)
        i += 1
    return out[:length]


def auth_keys(cipher_id: int, role_key: bytes) -> tuple[bytes, bytes]:
    n = len(role_key)
    return (kdf(cipher_id, role_key, b"cardsvc/auth-enc", b"", n),
            kdf(cipher_id, role_key, b"cardsvc/auth-mac", b"", n))


def sm_keys(cipher_id: int, k_ifd: bytes, k_icc: bytes, rnd_icc: bytes, rnd_ifd: bytes) -> tuple[bytes, bytes]:
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_icc, strict=True))
    ctx = rnd_icc + rnd_ifd
    return (kdf(cipher_id, seed, b"cardsvc/sm-enc", ctx, len(seed)),
            kdf(cipher_id, seed, b"cardsvc/sm-mac", ctx, len(seed)))


def generate_signing_key(algorithm: int) -> tuple[bytes, bytes]:
    """(private scalar, uncompressed public point 04 || X || Y) of a fresh key pair."""
    if algorithm == SIGN_SM2:
        scalar, point = SM2(rnd_fn=os.urandom).generate_keypair()  # its default RNG is C rand(): never
        return scalar, point
    private = ec.generate_private_key(ec.SECP256R1())
    point = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return private.private_numbers().private_value.to_bytes(32, "big"), point


def sign_raw(algorithm: int, scalar: bytes, message: bytes, signer_id: bytes) -> bytes:
    """r || s (64 bytes) over `message`: SM2-with-SM3 under `signer_id` (the ID the host gave the key) or
    ECDSA-SHA-256 (`signer_id` unused)."""
    if algorithm == SIGN_SM2:
        signature: bytes = SM2(sk=scalar, uid=signer_id, rnd_fn=os.urandom).sign(message)
        return signature
    private = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
