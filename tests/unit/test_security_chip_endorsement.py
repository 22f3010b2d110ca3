"""Chip authentication (anti-clone) and signed endorsement records."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from applets.security import primitives
from cardsvc.iso7816.tlv import encode_tlv
from cardsvc.security import ceremony, chip
from cardsvc.security.endorsement import sign_endorsement, verify_endorsement
from cardsvc.security.errors import (
    ChipAuthenticationFailed,
    ChipKeyFormatError,
    EndorsementBindingError,
    EndorsementFormatError,
    EndorsementSignatureError,
    PkiError,
    SecurityError,
    SignerProfileError,
    SignerRevokedError,
    UnknownSignerError,
)
from cardsvc.security.pki import TrustStore
from cardsvc.security.suite import GM, INTL
from tests.security_support import T0, Issuer, make_issuer, passphrase

AT = T0 + dt.timedelta(days=1)


def chip_sign(key: ec.EllipticCurvePrivateKey, challenge: bytes) -> bytes:
    """What the chip does for INTERNAL AUTHENTICATE: ECDSA-SHA-256 over context || challenge, r || s."""
    r, s = decode_dss_signature(key.sign(chip.chip_auth_message(challenge), ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_genuine_chip_passes_and_clone_fails() -> None:
    chip_key = ec.generate_private_key(ec.SECP256R1())
    ef_chipkey = chip.encode_chip_public_key(chip_key.public_key())
    challenge = chip.new_challenge()
    chip.verify_chip_response(ef_chipkey, challenge, chip_sign(chip_key, challenge), INTL)
    clone_key = ec.generate_private_key(ec.SECP256R1())  # files copied, key not
    with pytest.raises(ChipAuthenticationFailed, match="cloned"):
        chip.verify_chip_response(ef_chipkey, challenge, chip_sign(clone_key, challenge), INTL)


def test_replayed_chip_answer_fails_for_a_fresh_challenge() -> None:
    chip_key = ec.generate_private_key(ec.SECP256R1())
    ef_chipkey = chip.encode_chip_public_key(chip_key.public_key())
    old = chip.new_challenge()
    recorded = chip_sign(chip_key, old)
    with pytest.raises(ChipAuthenticationFailed):
        chip.verify_chip_response(ef_chipkey, chip.new_challenge(), recorded, INTL)
    with pytest.raises(ChipAuthenticationFailed, match="64"):
        chip.verify_chip_response(ef_chipkey, old, recorded[:-1], INTL)


def test_chip_key_formats() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = chip.encode_chip_public_key(key)
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert chip.decode_chip_public_key(der, INTL).point() == point
    for bad in (der + b"\x00", der[:-1], b"\x30\x03\x02\x01\x00", b""):
        with pytest.raises(ChipKeyFormatError, match=r"EF\.CHIPKEY"):
            chip.decode_chip_public_key(bad, INTL)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ChipKeyFormatError, match="P-256"):
        chip.encode_chip_public_key(p384)
    with pytest.raises(ChipKeyFormatError, match="P-256"):
        chip.decode_chip_public_key(p384.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo), INTL)


def test_generated_public_key_template() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert chip.parse_generated_public_key(encode_tlv(0x7F49, encode_tlv(0x86, point))).point() == point
    with pytest.raises(ChipKeyFormatError, match="tag 86"):
        chip.parse_generated_public_key(encode_tlv(0x7F49, encode_tlv(0x86, point[:-1])))
    with pytest.raises(ChipKeyFormatError, match="no EC point"):
        chip.parse_generated_public_key(encode_tlv(0x7F49, encode_tlv(0x81, point)))
    with pytest.raises(ChipKeyFormatError, match="not on P-256"):
        chip.parse_generated_public_key(encode_tlv(0x7F49, encode_tlv(0x86, b"\x04" + b"\x01" * 64)))
    with pytest.raises(ChipKeyFormatError):
        chip.parse_generated_public_key(b"\x7f\x49\x05\x86")


@pytest.mark.parametrize("algorithm", [primitives.SIGN_SM2, primitives.SIGN_ECDSA_P256])
def test_card_chip_key_verifies_on_the_host_and_a_clone_does_not(algorithm: int) -> None:
    """The applet's key generation and signing (its own library access) against the host's check: for SM2
    the card's library computes Z itself, the host computes it in cardsvc/security/sm2.py."""
    suite = GM if algorithm == primitives.SIGN_SM2 else INTL
    scalar, point = primitives.generate_signing_key(algorithm)
    public = chip.parse_generated_public_key(encode_tlv(0x7F49, encode_tlv(0x86, point)), suite)
    assert public.suite is suite.name
    ef_chipkey = chip.encode_chip_public_key(public)
    assert chip.decode_chip_public_key(ef_chipkey, suite) == public
    challenge = chip.new_challenge()
    chip.verify_chip_response(ef_chipkey, challenge,
                              primitives.sign_raw(algorithm, scalar, chip.chip_auth_message(challenge), suite.distid),
                              suite)
    clone_scalar, _ = primitives.generate_signing_key(algorithm)
    with pytest.raises(ChipAuthenticationFailed, match="cloned"):
        chip.verify_chip_response(ef_chipkey, challenge, primitives.sign_raw(
            algorithm, clone_scalar, chip.chip_auth_message(challenge), suite.distid), suite)
    with pytest.raises(ChipKeyFormatError, match="sm2p256v1" if suite is GM else "P-256"):
        chip.parse_generated_public_key(encode_tlv(0x7F49, encode_tlv(0x86, b"\x04" + b"\x01" * 64)), suite)


def test_generate_command_names_the_suite_algorithm() -> None:
    # an SM2 key is always told its signer ID (81 L ID), here the GB/T 35276 default
    assert chip.generate_key_pair_command(2, suite=GM).data == bytes.fromhex("800102" "8110") + b"1234567812345678"
    assert chip.generate_key_pair_command(2, suite=INTL).data == bytes.fromhex("800101")


def test_chip_commands() -> None:
    challenge = chip.new_challenge()
    cmd = chip.internal_authenticate_command(challenge, 2)
    assert (cmd.ins, cmd.p2, cmd.data, cmd.le) == (0x88, 0x82, challenge, 64)
    assert chip.internal_authenticate_command(challenge, 2, df_specific=False).p2 == 0x02
    gen = chip.generate_key_pair_command(2)
    assert (gen.ins, gen.p1, gen.p2) == (0x46, 0x80, 0x82)
    with pytest.raises(ValueError, match="challenge"):
        chip.internal_authenticate_command(b"short", 2)
    with pytest.raises(ValueError, match="key_ref"):
        chip.generate_key_pair_command(15)


# --- endorsements ---------------------------------------------------------------------------------------
BODY = "河南省三门峡市湖滨区崤山路 1 号|2027-06-30|411202".encode("gb18030")
CARD = "4112020000000001"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return make_issuer(tmp_path_factory.mktemp("ks"))


@pytest.fixture(scope="module")
def trust(issuer: Issuer) -> TrustStore:
    return ceremony.trust_store(issuer.store)


@pytest.fixture(scope="module")
def signed(issuer: Issuer) -> bytes:
    return ceremony.sign_endorsement_record(issuer.store, "411202", CARD, 1, BODY)


def test_endorsement_round_trip(issuer: Issuer, trust: TrustStore) -> None:
    record = ceremony.sign_endorsement_record(issuer.store, "411202", CARD, 1, BODY)
    assert len(record) < 255  # fits one short-APDU record
    result = verify_endorsement(record, CARD, 1, trust, AT)
    assert result.body == BODY and result.record_no == 1
    assert result.signer == issuer.store.certificate("es-411202")


def test_endorsement_bound_to_card_and_position(issuer: Issuer, trust: TrustStore) -> None:
    record = ceremony.sign_endorsement_record(issuer.store, "411202", CARD, 2, BODY)
    with pytest.raises(EndorsementBindingError, match="another card"):
        verify_endorsement(record, "4112020000000009", 2, trust, AT)
    with pytest.raises(EndorsementBindingError, match="reordered"):
        verify_endorsement(record, CARD, 3, trust, AT)


def test_bad_endorsement_signature(issuer: Issuer, trust: TrustStore) -> None:
    record = bytearray(ceremony.sign_endorsement_record(issuer.store, "411202", CARD, 1, BODY))
    record[-1] ^= 0x01  # last byte of s
    with pytest.raises(EndorsementSignatureError):
        verify_endorsement(bytes(record), CARD, 1, trust, AT)
    body_at = bytes(record).index(BODY)
    record = bytearray(ceremony.sign_endorsement_record(issuer.store, "411202", CARD, 1, BODY))
    record[body_at + 3] ^= 0x20  # a byte of the address
    with pytest.raises(EndorsementSignatureError):
        verify_endorsement(bytes(record), CARD, 1, trust, AT)


def test_endorsement_by_wrong_signer_kind_or_unknown_or_revoked(issuer: Issuer, trust: TrustStore,
                                                                tmp_path: Path) -> None:
    from cardsvc.security.endorsement import sign_endorsement as raw_sign

    ds = issuer.store.certificate("ds-411202")
    record = raw_sign(CARD, 1, BODY, ds, lambda d: issuer.store.sign("ds-411202", d))
    with pytest.raises(SignerProfileError):
        verify_endorsement(record, CARD, 1, trust, AT)
    other = make_issuer(tmp_path / "other")
    foreign = ceremony.sign_endorsement_record(other.store, "411202", CARD, 1, BODY)
    with pytest.raises(UnknownSignerError):
        verify_endorsement(foreign, CARD, 1, trust, AT)
    fresh = make_issuer(tmp_path / "fresh")
    record = ceremony.sign_endorsement_record(fresh.store, "410105", CARD, 1, BODY)
    with passphrase("correct horse battery staple"):
        ceremony.revoke_signer(fresh.store, "es-410105", when=AT)
    with pytest.raises(SignerRevokedError):
        verify_endorsement(record, CARD, 1, ceremony.trust_store(fresh.store), AT + dt.timedelta(hours=1))


@pytest.mark.parametrize("blob", [b"", b"\x30\x00", os.urandom(80), b"\x30\x03\x02\x01\x00"])
def test_malformed_endorsement(blob: bytes, trust: TrustStore) -> None:
    with pytest.raises(EndorsementFormatError):
        verify_endorsement(blob, CARD, 1, trust, AT)


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_any_altered_endorsement_byte_never_verifies(signed: bytes, trust: TrustStore, data: st.DataObject) -> None:
    record = bytearray(signed)
    pos = data.draw(st.integers(0, len(record) - 1))
    record[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises((SecurityError, PkiError)):
        verify_endorsement(bytes(record), CARD, 1, trust, AT)


def test_endorsement_input_checks(issuer: Issuer) -> None:
    cert = issuer.store.certificate("es-411202")
    with pytest.raises(ValueError, match="record_no"):
        sign_endorsement(CARD, 0, BODY, cert, lambda d: b"")
    with pytest.raises(ValueError, match="body"):
        sign_endorsement(CARD, 1, b"", cert, lambda d: b"")
