"""Encrypted PKCS#8 (RFC 5958 EncryptedPrivateKeyInfo, PBES2 of RFC 8018) for keys `cryptography` cannot
serialise itself (SM2), and for every key of the key store: PBKDF2-HMAC-SHA256 and AES-256-CBC, the scheme
of cryptography's `BestAvailableEncryption` with a chosen iteration count, so `openssl pkey -in FILE
-passin env:CARDSVC_KEYSTORE_PASSPHRASE` reads both suites' key files.
asn1crypto encodes the structures; cryptography does PBKDF2 and AES.
"""

from __future__ import annotations

import os

from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

PBKDF2_ITERATIONS = 2048  # only where a caller names none; the key store passes its own (600,000, issue 13)
_PEM_LABEL = "ENCRYPTED PRIVATE KEY"


def _kek(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase)


def encrypt_pkcs8(pkcs8_der: bytes, passphrase: bytes, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """PEM "ENCRYPTED PRIVATE KEY" of an unencrypted DER PKCS#8."""
    salt, iv = os.urandom(16), os.urandom(16)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(pkcs8_der) + padder.finalize()
    enc = Cipher(algorithms.AES(_kek(passphrase, salt, iterations)), modes.CBC(iv)).encryptor()
    info = asn1_keys.EncryptedPrivateKeyInfo({
        "encryption_algorithm": {"algorithm": "pbes2", "parameters": {
            "key_derivation_func": {"algorithm": "pbkdf2", "parameters": {
                "salt": asn1_algos.Pbkdf2Salt("specified", salt), "iteration_count": iterations,
                "prf": {"algorithm": "sha256"}}},
            "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv}}},
        "encrypted_data": enc.update(plain) + enc.finalize()})
    pem: bytes = asn1_pem.armor(_PEM_LABEL, info.dump())
    return pem


def decrypt_pkcs8(pem: bytes, passphrase: bytes) -> bytes:
    """DER PKCS#8 from our PEM; ValueError when it is not PBES2/PBKDF2-SHA256/AES-256-CBC or does not decrypt."""
    label, _, der = asn1_pem.unarmor(pem)
    if label != _PEM_LABEL:
        raise ValueError(f"PEM label {label!r} is not {_PEM_LABEL!r}")
    alg = asn1_keys.EncryptedPrivateKeyInfo.load(der)["encryption_algorithm"]
    params = alg["parameters"]
    kdf, scheme = params["key_derivation_func"], params["encryption_scheme"]
    if (alg["algorithm"].native != "pbes2" or kdf["algorithm"].native != "pbkdf2"
            or kdf["parameters"]["prf"]["algorithm"].native != "sha256"
            or scheme["algorithm"].native != "aes256_cbc"):
        raise ValueError("encrypted PKCS#8: only PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC is read")
    key = _kek(passphrase, kdf["parameters"]["salt"].native, kdf["parameters"]["iteration_count"].native)
    dec = Cipher(algorithms.AES(key), modes.CBC(scheme["parameters"].native)).decryptor()
    padded = dec.update(asn1_keys.EncryptedPrivateKeyInfo.load(der)["encrypted_data"].native) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    plain: bytes = unpadder.update(padded) + unpadder.finalize()  # ValueError on a wrong passphrase (mostly)
    asn1_keys.PrivateKeyInfo.load(plain).native  # noqa: B018  a wrong key that pads right still fails here
    return plain
