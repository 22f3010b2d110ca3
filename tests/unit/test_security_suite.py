"""The crypto-suite interface (cardsvc/security/suite.py) with both implementations behind it."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from cryptography.exceptions import InvalidSignature

from cardsvc.qr.cose import ALG_ES256, ALG_SM2_SM3, CoseSignatureError, parse_sign1, sign1, verify_sign1
from cardsvc.security import sm2
from cardsvc.security.kdf import SymmetricCipher
from cardsvc.security.keystore import EncryptedFileKeyStore
from cardsvc.security.pkcs8 import decrypt_pkcs8, encrypt_pkcs8
from cardsvc.security.suite import (
    GM,
    INTL,
    Suite,
    SuiteName,
    common_suite,
    der_signature,
    raw_signature,
    suite,
)
from tests.security_support import passphrase

SUITES = [GM, INTL]


@pytest.mark.parametrize("s", SUITES, ids=lambda s: s.name.value)
def test_sign_verify_and_a_changed_byte(s: Suite) -> None:
    key = s.generate_key()
    signature = key.sign(b"permit 4101")
    key.public_key().verify(b"permit 4101", signature)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(b"permit 4102", signature)
    with pytest.raises(InvalidSignature):
        s.generate_key().public_key().verify(b"permit 4101", signature)


@pytest.mark.parametrize("s", SUITES, ids=lambda s: s.name.value)
def test_keys_round_trip_through_spki_and_pkcs8(s: Suite) -> None:
    key = s.generate_key()
    public = s.load_public_key(key.public_key().spki())
    assert public == key.public_key() and public.suite is s.name
    again = s.load_private_key(key.pkcs8())
    public.verify(b"m", again.sign(b"m"))


def test_suite_choices() -> None:
    assert (GM.cipher, INTL.cipher) == (SymmetricCipher.SM4, SymmetricCipher.AES)
    assert GM.hash(b"abc").hex().startswith("66c7f0f4") and len(INTL.hash(b"abc")) == 32
    assert suite("gm") is GM and suite("intl") is INTL
    with pytest.raises(ValueError, match="suite"):
        suite("rsa")
    gm = SimpleNamespace(layout=SimpleNamespace(suite="gm", sm2_distid=None))
    intl = SimpleNamespace(layout=SimpleNamespace(suite="intl", sm2_distid=None))
    assert common_suite([gm, gm]) is GM
    with pytest.raises(ValueError, match="differ"):
        common_suite([gm, intl])


def test_the_sm2_signer_id_enters_the_signature() -> None:
    key = sm2.Sm2PrivateKey.generate(b"ALICE123@YAHOO.COM")
    signature = key.sign(b"m")
    other_id = sm2.Sm2PublicKey.from_point(key.public_key().point(), sm2.DEFAULT_DISTID)  # the default ID
    with pytest.raises(InvalidSignature):
        other_id.verify(b"m", signature)
    sm2.Sm2PublicKey.from_point(key.public_key().point(), b"ALICE123@YAHOO.COM").verify(b"m", signature)


def test_signature_forms_convert_and_refuse_bad_input() -> None:
    raw = bytes(range(1, 65))
    assert raw_signature(der_signature(raw)) == raw
    with pytest.raises(ValueError, match="64"):
        der_signature(raw[:-1])
    with pytest.raises(InvalidSignature):
        GM.generate_key().public_key().verify(b"m", b"\x30\x00")


def test_bad_public_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="sm2p256v1"):
        sm2.Sm2PublicKey.from_point(b"\x04" + b"\x01" * 64, sm2.DEFAULT_DISTID)
    with pytest.raises(ValueError):
        GM.load_public_key(b"\x30\x03\x02\x01\x00")
    with pytest.raises(ValueError, match="scalar"):
        sm2.Sm2PrivateKey.from_scalar(bytes(32), sm2.DEFAULT_DISTID)


@pytest.mark.parametrize(("s", "alg"), [(GM, ALG_SM2_SM3), (INTL, ALG_ES256)], ids=["gm", "intl"])
def test_cose_sign1_in_each_suite_and_no_algorithm_swap(s: Suite, alg: int) -> None:
    key = s.generate_key()
    message = parse_sign1(sign1(b"payload", key, b"kid"))
    assert message.alg == alg and len(message.signature) == 64
    verify_sign1(message, key.public_key())
    other = (INTL if s is GM else GM).generate_key().public_key()
    with pytest.raises(CoseSignatureError, match="does not match"):
        verify_sign1(message, other)


def test_encrypted_pkcs8_of_an_sm2_key() -> None:
    key = GM.generate_key()
    pem = encrypt_pkcs8(key.pkcs8(), b"pass")
    kind, _, der = asn1_pem.unarmor(pem)
    assert kind == "ENCRYPTED PRIVATE KEY"
    assert asn1_keys.EncryptedPrivateKeyInfo.load(der)["encryption_algorithm"]["algorithm"].native == "pbes2"
    assert key.pkcs8() not in der  # RFC 5958 §3: only the encrypted form leaves
    assert GM.load_private_key(decrypt_pkcs8(pem, b"pass")).public_key() == key.public_key()
    with pytest.raises(ValueError):
        decrypt_pkcs8(pem, b"wrong")


def test_key_store_keeps_each_suites_keys_and_master_key_cipher(tmp_path: os.PathLike[str]) -> None:
    with passphrase("p"):
        store = EncryptedFileKeyStore(tmp_path, suite=GM)
    gm_public = store.generate_key("g", GM)
    intl_public = store.generate_key("i", INTL)
    assert (gm_public.suite, intl_public.suite) == (SuiteName.GM, SuiteName.INTL)
    gm_public.verify(b"x", store.sign("g", b"x"))
    intl_public.verify(b"x", store.sign("i", b"x"))
    store.generate_secret("m", 16, SymmetricCipher.SM4)
    assert store.derive("m", b"l", b"c", 16) == store.derive("m", b"l", b"c", 16, SymmetricCipher.SM4)
    assert store.derive("m", b"l", b"c", 16) != store.derive("m", b"l", b"c", 16, SymmetricCipher.AES)
