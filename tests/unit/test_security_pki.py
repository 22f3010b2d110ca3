"""Issuer PKI, key ceremony and the encrypted file key store (keys generated at test time)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from cardsvc.security import ceremony, oids, pki
from cardsvc.security.errors import (
    CrlError,
    KeyExists,
    KeyNotFound,
    KeyStoreDecryptError,
    KeyStoreError,
    KeyStorePassphraseMissing,
    PkiError,
    SignerExpiredError,
    SignerProfileError,
    SignerRevokedError,
    UnknownSignerError,
    UntrustedSignerError,
)
from cardsvc.security.kdf import KeyRole, SymmetricCipher, diversify_key
from cardsvc.security.keystore import EncryptedFileKeyStore, KeyStore
from cardsvc.security.pkcs8 import decrypt_pkcs8
from cardsvc.security.pki import Authority, SignerRole, TrustStore, issue_signer, make_root_ca
from cardsvc.security.suite import GM
from tests.security_support import T0, Issuer, make_issuer, passphrase

AT = T0 + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    return make_issuer(tmp_path_factory.mktemp("ks"), roles=None)


def test_ceremony_creates_root_signers_crl_and_master_keys(issuer: Issuer) -> None:
    store = issuer.store
    assert isinstance(store, KeyStore)
    assert store.names("certs") == sorted(["root", "ds-411202", "es-411202", "ds-410105", "es-410105"])
    assert store.names("keys") == store.names("certs")
    assert store.names("secrets") == sorted(f"master-{r}" for r in KeyRole)
    assert store.names("crls") == ["crl-root"]
    root = issuer.result.root
    bc = root.extensions.get_extension_for_class(x509.BasicConstraints)
    ku = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and not ku.value.digital_signature


@pytest.mark.parametrize(("name", "role"), [("ds-411202", SignerRole.DOCUMENT),
                                            ("es-410105", SignerRole.ENDORSEMENT)])
def test_signer_profile(issuer: Issuer, name: str, role: SignerRole) -> None:
    cert = issuer.store.certificate(name)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert role.eku in eku and ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert {SignerRole.DOCUMENT.eku, SignerRole.ENDORSEMENT.eku} - {role.eku} & set(eku) == set()
    assert cert.issuer == issuer.result.root.subject
    assert cert.not_valid_before_utc == T0
    trust = ceremony.trust_store(issuer.store)
    trust.check_signer(cert, role, AT)


def test_signer_of_one_role_cannot_act_in_the_other(issuer: Issuer) -> None:
    trust = ceremony.trust_store(issuer.store)
    with pytest.raises(SignerProfileError, match="endorsement signer"):
        trust.check_signer(issuer.store.certificate("ds-411202"), SignerRole.ENDORSEMENT, AT)


def test_untrusted_root(issuer: Issuer) -> None:
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue_root = make_root_ca(rogue_key, "河南省居住证根证书", not_before=T0)  # same name, other key
    cert = issue_signer(rogue_key, rogue_root, ec.generate_private_key(ec.SECP256R1()).public_key(),
                        Authority("411202", "三门峡市公安局湖滨分局"), SignerRole.DOCUMENT, not_before=T0)
    trust = ceremony.trust_store(issuer.store)
    with pytest.raises(UntrustedSignerError):
        trust.check_signer(cert, SignerRole.DOCUMENT, AT)


def test_expired_and_not_yet_valid_signer(issuer: Issuer) -> None:
    root_key = issuer.store.private_key("root")
    short = issue_signer(root_key, issuer.result.root, ec.generate_private_key(ec.SECP256R1()).public_key(),
                         Authority("411203", "三门峡市公安局陕州分局"), SignerRole.DOCUMENT,
                         not_before=T0 - dt.timedelta(days=30), validity=dt.timedelta(days=10))
    trust = ceremony.trust_store(issuer.store)
    with pytest.raises(SignerExpiredError, match="not at"):
        trust.check_signer(short, SignerRole.DOCUMENT, AT)
    with pytest.raises(SignerExpiredError):
        trust.check_signer(issuer.store.certificate("ds-411202"), SignerRole.DOCUMENT, T0 - dt.timedelta(days=1))


def test_revoked_signer_and_crl_currency(tmp_path: Path) -> None:
    iss = make_issuer(tmp_path)
    with passphrase("correct horse battery staple"):
        crl = ceremony.revoke_signer(iss.store, "ds-410105", when=AT)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    trust = ceremony.trust_store(iss.store)
    later = AT + dt.timedelta(hours=1)
    with pytest.raises(SignerRevokedError, match="revoked"):
        trust.check_signer(iss.store.certificate("ds-410105"), SignerRole.DOCUMENT, later)
    trust.check_signer(iss.store.certificate("ds-411202"), SignerRole.DOCUMENT, later)
    with pytest.raises(CrlError, match="not current"):
        trust.check_signer(iss.store.certificate("ds-411202"), SignerRole.DOCUMENT, AT + dt.timedelta(days=30))
    # A re-issued CRL keeps the revocation and is current again.
    ceremony.refresh_crl(iss.store, when=AT + dt.timedelta(days=29))
    trust = ceremony.trust_store(iss.store)
    with pytest.raises(SignerRevokedError):
        trust.check_signer(iss.store.certificate("ds-410105"), SignerRole.DOCUMENT, AT + dt.timedelta(days=30))


def test_crl_from_another_root_does_not_count(issuer: Issuer, tmp_path: Path) -> None:
    other = make_issuer(tmp_path)
    trust = TrustStore([issuer.result.root], [other.store.crl("crl-root")], suite=GM)
    with pytest.raises(CrlError, match="no CRL"):
        trust.check_signer(issuer.store.certificate("ds-411202"), SignerRole.DOCUMENT, AT)
    lenient = TrustStore([issuer.result.root], [], require_crl=False, suite=GM)
    lenient.check_signer(issuer.store.certificate("ds-411202"), SignerRole.DOCUMENT, AT)


def test_trust_store_refuses_non_ca_root_and_finds_signers(issuer: Issuer) -> None:
    with pytest.raises(SignerProfileError, match="not a CA"):
        TrustStore([issuer.store.certificate("ds-411202")], suite=GM)
    with pytest.raises(PkiError):
        TrustStore([], suite=GM)
    trust = ceremony.trust_store(issuer.store)
    cert = issuer.store.certificate("es-411202")
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert trust.find_signer(ski) == cert
    with pytest.raises(UnknownSignerError):
        trust.find_signer(b"\x00" * 20)


@pytest.mark.parametrize(("code", "name"), [("41120", "x"), ("411200", "x"), ("411202", ""), ("abc123", "x")])
def test_authority_validation(code: str, name: str) -> None:
    with pytest.raises(ValueError, match="authority"):
        Authority(code, name)


def test_private_oids_are_under_the_uuid_arc() -> None:
    assert oids.KP_DOCUMENT_SIGNER.dotted_string.startswith("2.25.")
    assert oids.CT_PERMIT_SECURITY_OBJECT.startswith(oids.ARC)


# --- key store ----------------------------------------------------------------------------------------
def test_store_needs_passphrase(tmp_path: Path) -> None:
    with passphrase(None), pytest.raises(KeyStorePassphraseMissing, match="CARDSVC_KEYSTORE_PASSPHRASE"):
        EncryptedFileKeyStore(tmp_path, suite=GM)
    with passphrase(""), pytest.raises(KeyStorePassphraseMissing):
        EncryptedFileKeyStore(tmp_path, suite=GM)


def test_private_keys_are_encrypted_pkcs8_and_private(issuer: Issuer) -> None:
    pem = (issuer.path / "keys" / "ds-411202.p8.pem").read_bytes()
    # Encrypted PKCS#8 (an SM2 key of the GM ceremony): it will not decrypt with another passphrase, and
    # with make_issuer's it loads as the key of the document signer certificate.
    with pytest.raises(ValueError):
        decrypt_pkcs8(pem, b"not the passphrase")
    key = GM.load_private_key(decrypt_pkcs8(pem, b"correct horse battery staple"))
    assert key.public_key() == pki.certificate_public_key(issuer.store.certificate("ds-411202"), GM)
    assert stat.S_IMODE((issuer.path / "keys" / "ds-411202.p8.pem").stat().st_mode) == 0o600
    secret = (issuer.path / "secrets" / "master-issuer.wrapped.json").read_text()
    assert "scrypt" in secret and "aes-kwp" in secret


def test_wrong_passphrase_is_reported(issuer: Issuer) -> None:
    with passphrase("not the passphrase"):
        other = EncryptedFileKeyStore(issuer.path, suite=GM)
    with pytest.raises(KeyStoreDecryptError, match="ds-411202"):
        other.sign("ds-411202", b"x")
    with pytest.raises(KeyStoreDecryptError, match="master-issuer"):
        other.derive("master-issuer", b"l", b"c", 16)
    assert other.certificate("root") == issuer.result.root  # public objects need no passphrase


def test_store_signs_and_derives(issuer: Issuer) -> None:
    sig = issuer.store.sign("ds-411202", b"message")
    pki.certificate_public_key(issuer.store.certificate("ds-411202"), GM).verify(b"message", sig)
    a = ceremony.card_key(issuer.store, "issuer", "4112020000000001")  # the GM master key's SM4-CMAC
    b = ceremony.card_key(issuer.store, "issuer", "4112020000000002")
    c = ceremony.card_key(issuer.store, "issuer", "4112020000000001", SymmetricCipher.AES)
    assert a == ceremony.card_key(issuer.store, "issuer", "4112020000000001", SymmetricCipher.SM4)
    assert len(a) == 16 and len({a, b, c}) == 3
    assert a == ceremony.card_key(issuer.store, "issuer", "4112020000000001")


def test_store_matches_plain_diversification(tmp_path: Path) -> None:
    with passphrase("p"):
        store = EncryptedFileKeyStore(tmp_path, suite=GM)
    master = bytes(range(16))
    store.import_secret("master-counter", master)
    assert ceremony.card_key(store, "counter", "41010500A0000042") == diversify_key(master, "41010500A0000042",
                                                                                    "counter")


def test_store_names_overwrite_and_missing(tmp_path: Path) -> None:
    with passphrase("p"):
        store = EncryptedFileKeyStore(tmp_path, suite=GM)
    store.generate_ec_key("k1")
    with pytest.raises(KeyExists):
        store.generate_ec_key("k1")
    for bad in ("../etc", "a/b", "", ".hidden", "x" * 65):
        with pytest.raises(KeyStoreError, match="name"):
            store.public_key(bad)
    with pytest.raises(KeyNotFound):
        store.certificate("nothing")
    with pytest.raises(KeyStoreError, match="master key"):
        store.import_secret("s", b"short")
    with pytest.raises(KeyStoreError, match="kind"):
        store.names("passwords")
    (tmp_path / "secrets" / "broken.wrapped.json").write_text("{not json")
    with pytest.raises(KeyStoreError, match="damaged"):
        store.derive("broken", b"l", b"", 16)


def test_ceremony_refuses_to_overwrite_and_duplicate_codes(issuer: Issuer, tmp_path: Path) -> None:
    with pytest.raises(KeyExists):
        ceremony.init_key_ceremony(issuer.store, [("411221", "渑池县公安局")])
    with passphrase("p"):
        fresh = EncryptedFileKeyStore(tmp_path, suite=GM)
    with pytest.raises(ValueError, match="twice"):
        ceremony.init_key_ceremony(fresh, [("411221", "a"), ("411221", "b")])
    assert fresh.names("keys") == []


def test_unlocked_key_cache(issuer: Issuer) -> None:
    with passphrase("correct horse battery staple"):
        cached = EncryptedFileKeyStore(issuer.path, cache_private_keys=True, suite=GM)
    first = cached.private_key("ds-411202")
    assert cached.private_key("ds-411202") is first
    assert issuer.store.private_key("ds-411202") is not issuer.store.private_key("ds-411202")
    sig = cached.sign("ds-411202", b"m")
    pki.certificate_public_key(issuer.store.certificate("ds-411202"), GM).verify(b"m", sig)
