"""EF.SOD: CMS SignedData over the EF hashes; tampering, signer trust, standard-tool verification."""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.security import ceremony
from cardsvc.security.errors import (
    EfCoverageError,
    EfHashMismatch,
    PkiError,
    SignerExpiredError,
    SignerRevokedError,
    SodError,
    SodFormatError,
    SodSignatureError,
    UntrustedSignerError,
)
from cardsvc.security.pki import Authority, SignerRole, TrustStore, issue_signer
from cardsvc.security.sod import HashAlgorithm, build_sod, parse_sod, verify_sod
from cardsvc.security.suite import GM, INTL
from tests.security_support import T0, Issuer, make_issuer, passphrase

AT = T0 + dt.timedelta(days=1)
EFS = {  # FID → content, shaped like the permit ADF's signed EFs
    0x0101: b"4112020000000001|ZZ-1|411202",
    0x0102: "买买提·艾力 𠈌 男 汉".encode("gb18030") * 3,
    0x0103: os.urandom(300),
    0x0104: b"\xff\xd8\xff\xe0" + os.urandom(2000),  # photo-like
    0x0106: b"0Y0\x13" + os.urandom(87),  # EF.CHIPKEY-like
}


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return make_issuer(tmp_path_factory.mktemp("ks"))


@pytest.fixture(scope="module")
def trust(issuer: Issuer) -> TrustStore:
    return ceremony.trust_store(issuer.store)


@pytest.fixture(scope="module")
def sod(issuer: Issuer) -> bytes:
    return ceremony.sign_security_object(issuer.store, "411202", EFS)


def test_sod_verifies_and_names_the_authority(issuer: Issuer, sod: bytes) -> None:
    result = verify_sod(sod, EFS, ceremony.trust_store(issuer.store), AT)
    assert result.authority_code == "411202"
    assert [fid for fid, _ in result.ef_hashes] == sorted(EFS)
    assert result.hash_algorithm is HashAlgorithm.SM3  # the GM signer's suite
    assert result.hash_of(0x0104) == HashAlgorithm.SM3.digest(EFS[0x0104])
    assert result.signing_time is not None


@pytest.mark.parametrize("fid", sorted(EFS))
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_altered_byte_in_every_signed_ef(issuer: Issuer, sod: bytes, fid: int, where: str) -> None:
    content = bytearray(EFS[fid])
    pos = {"first": 0, "middle": len(content) // 2, "last": len(content) - 1}[where]
    content[pos] ^= 0x01
    with pytest.raises(EfHashMismatch) as info:
        verify_sod(sod, {**EFS, fid: bytes(content)}, ceremony.trust_store(issuer.store), AT)
    assert info.value.fid == fid


@pytest.mark.parametrize("fid", sorted(EFS))
def test_truncated_or_extended_ef_is_detected(issuer: Issuer, sod: bytes, fid: int) -> None:
    trust = ceremony.trust_store(issuer.store)
    for changed in (EFS[fid][:-1], EFS[fid] + b"\x00"):
        with pytest.raises(EfHashMismatch):
            verify_sod(sod, {**EFS, fid: changed}, trust, AT)


def test_coverage_errors(issuer: Issuer, sod: bytes) -> None:
    trust = ceremony.trust_store(issuer.store)
    missing = {k: v for k, v in EFS.items() if k != 0x0103}
    with pytest.raises(EfCoverageError, match="0103: listed"):
        verify_sod(sod, missing, trust, AT)
    with pytest.raises(EfCoverageError, match="0107: supplied but not covered"):
        verify_sod(sod, {**EFS, 0x0107: b"x"}, trust, AT)


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_any_altered_sod_byte_never_verifies(trust: TrustStore, sod: bytes, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, len(sod) - 1))
    flip = data.draw(st.integers(1, 255))
    bad = bytearray(sod)
    bad[pos] ^= flip
    # Bytes of the structure or signature give SodError; bytes of the carried certificate break its chain.
    with pytest.raises((SodError, PkiError)):
        verify_sod(bytes(bad), EFS, trust, AT)


def test_sod_signed_by_foreign_document_signer(issuer: Issuer, tmp_path: Path) -> None:
    other = make_issuer(tmp_path)
    foreign = ceremony.sign_security_object(other.store, "411202", EFS)
    with pytest.raises(UntrustedSignerError):
        verify_sod(foreign, EFS, ceremony.trust_store(issuer.store), AT)


def test_sod_with_substituted_certificate_fails_signature(issuer: Issuer) -> None:
    # Signed by 410105's key but carrying 411202's certificate.
    cert = issuer.store.certificate("ds-411202")
    forged = build_sod(EFS, cert, functools.partial(issuer.store.sign, "ds-410105"))
    with pytest.raises(SodSignatureError):
        parse_sod(forged, GM)


def test_sod_by_expired_and_revoked_signer(tmp_path: Path) -> None:
    iss = make_issuer(tmp_path)
    sod = ceremony.sign_security_object(iss.store, "410105", EFS)
    trust = ceremony.trust_store(iss.store)
    with pytest.raises(SignerExpiredError):
        verify_sod(sod, EFS, trust, T0 + dt.timedelta(days=11 * 365))
    with passphrase("correct horse battery staple"):
        ceremony.revoke_signer(iss.store, "ds-410105", when=AT)
    with pytest.raises(SignerRevokedError):
        verify_sod(sod, EFS, ceremony.trust_store(iss.store), AT + dt.timedelta(hours=1))


def test_endorsement_signer_cannot_sign_sod(issuer: Issuer) -> None:
    from cardsvc.security.errors import SignerProfileError

    sod = build_sod(EFS, issuer.store.certificate("es-411202"), functools.partial(issuer.store.sign, "es-411202"))
    with pytest.raises(SignerProfileError):
        verify_sod(sod, EFS, ceremony.trust_store(issuer.store), AT)


def test_sm3_hashes(issuer: Issuer) -> None:
    sod = ceremony.sign_security_object(issuer.store, "410105", EFS, HashAlgorithm.SM3)
    result = verify_sod(sod, EFS, ceremony.trust_store(issuer.store), AT)
    assert result.hash_algorithm is HashAlgorithm.SM3
    assert result.hash_of(0x0101) == HashAlgorithm.SM3.digest(EFS[0x0101]) != HashAlgorithm.SHA256.digest(EFS[0x0101])
    with pytest.raises(EfHashMismatch):
        verify_sod(sod, {**EFS, 0x0101: b"x"}, ceremony.trust_store(issuer.store), AT)


@pytest.mark.parametrize("blob", [b"", b"\x30\x00", b"\x30\x80\x00\x00", os.urandom(64), b"\x04\x03abc"])
def test_garbage_is_a_format_error(blob: bytes) -> None:
    with pytest.raises(SodFormatError):
        parse_sod(blob, GM)


def test_id_data_signed_data_is_not_a_security_object(issuer: Issuer, sod: bytes) -> None:
    info = cms.ContentInfo.load(sod)
    info["content"]["encap_content_info"]["content_type"] = "data"
    with pytest.raises(SodFormatError, match="eContentType"):
        parse_sod(info.dump(force=True), GM)


def test_build_refuses_bad_input(issuer: Issuer) -> None:
    cert = issuer.store.certificate("ds-411202")
    sign = functools.partial(issuer.store.sign, "ds-411202")
    with pytest.raises(ValueError, match="at least one"):
        build_sod({}, cert, sign)
    with pytest.raises(ValueError, match="file identifier"):
        build_sod({0x10000: b"x"}, cert, sign)


def test_sod_from_plain_key_objects() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    from cardsvc.security.pki import make_root_ca

    root = make_root_ca(key, not_before=T0)
    cert = issue_signer(key, root, key.public_key(), Authority("411202", "x"), SignerRole.DOCUMENT, not_before=T0)
    der = build_sod({1: b"a"}, cert, lambda data: key.sign(data, ec.ECDSA(hashes.SHA256())))
    assert parse_sod(der, GM).hash_of(1) == HashAlgorithm.SHA256.digest(b"a")


OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")
@pytest.mark.parametrize("algorithm", list(HashAlgorithm))
def test_openssl_cms_verify_accepts_sod(tmp_path: Path, algorithm: HashAlgorithm) -> None:
    """The intl suite's EF.SOD verifies in `openssl cms -verify` (GM: tests/interop/test_openssl_sm2.py)."""
    issuer = make_issuer(tmp_path / "intl", suite=INTL)
    sod = ceremony.sign_security_object(issuer.store, "411202", EFS, algorithm)
    (tmp_path / "sod.der").write_bytes(sod)
    (tmp_path / "root.pem").write_bytes(issuer.result.root.public_bytes(serialization.Encoding.PEM))
    # No -purpose any: the signer EKU carries emailProtection as RFC 8550 §4.4.4 wants.
    run = subprocess.run([OPENSSL, "cms", "-verify", "-CAfile", str(tmp_path / "root.pem"), "-inform", "DER",
                          "-in", str(tmp_path / "sod.der"), "-out", str(tmp_path / "content.der"),
                          "-attime", str(int(AT.timestamp()))],
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 0, run.stderr
    assert "Verification successful" in run.stderr
    content = (tmp_path / "content.der").read_bytes()  # the eContent, as openssl extracted it
    assert cms.ContentInfo.load(sod)["content"]["encap_content_info"]["content"].native == content
    assert algorithm.digest(EFS[0x0104]) in content


@pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")
def test_openssl_rejects_sod_against_another_root(issuer: Issuer, tmp_path: Path) -> None:
    other = make_issuer(tmp_path / "other", suite=INTL)
    sod = ceremony.sign_security_object(issuer.store, "411202", EFS)
    (tmp_path / "sod.der").write_bytes(sod)
    (tmp_path / "root.pem").write_bytes(other.result.root.public_bytes(serialization.Encoding.PEM))
    run = subprocess.run([OPENSSL, "cms", "-verify", "-CAfile", str(tmp_path / "root.pem"), "-inform", "DER",
                          "-in", str(tmp_path / "sod.der"), "-out", os.devnull],
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode != 0
