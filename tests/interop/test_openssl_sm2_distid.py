"""SM2 with a layout's own signer ID, against Debian's `openssl` (3.0): the ID really enters Z.

The fixture city (tests/fixtures/cities/sm2id/zhengzhou_sm2id.toml) names `sm2_distid =
"ALICE123@YAHOO.COM"`. Our signatures, certificates, CRL and the virtual card's chip signature made under
it verify in OpenSSL with `distid:ALICE123@YAHOO.COM` and fail with the default `distid:1234567812345678`;
OpenSSL-made signatures and certificates under that ID pass our checks in the layout's suite and fail in
the default one. OpenSSL 3.0's `verify -vfyopt distid:…` takes any ID (measured here), so the
certificates are checked whole; its CRL check takes no ID, so the CRL's signature goes through `pkeyutl`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from cardsvc.issuance.jobs import make_plan
from cardsvc.issuance.personalize import personalize
from cardsvc.layout import Layout, load_layout
from cardsvc.security import ceremony, chip, pki
from cardsvc.security.pki import SignerRole
from cardsvc.security.suite import GM, Suite, der_signature, layout_suite
from cardsvc.session import CardSession
from cardsvc.verification import read_card
from simulator.transport import InProcessConnection
from tests.interop.test_openssl_sm2 import openssl, pytestmark  # noqa: F401  (same skip rule)
from tests.issuance_support import blank_card
from tests.verify_support import make_keys, permit_for

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cities" / "sm2id" / "zhengzhou_sm2id.toml"
CITY = "ALICE123@YAHOO.COM"
DEFAULT = "1234567812345678"


@pytest.fixture(scope="module")
def layout() -> Layout:
    return load_layout(FIXTURE)


@pytest.fixture(scope="module")
def suite(layout: Layout) -> Suite:
    s = layout_suite(layout)
    assert s.distid == CITY.encode()
    return s


def _pkeyutl_verify(tmp: Path, spki: bytes, message: bytes, signature: bytes, distid: str) -> bool:
    (tmp / "pub.der").write_bytes(spki)
    (tmp / "msg").write_bytes(message)
    (tmp / "sig").write_bytes(signature)
    run = openssl("pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", tmp / "pub.der", "-rawin",
                  "-digest", "sm3", "-pkeyopt", f"distid:{distid}", "-in", tmp / "msg", "-sigfile", tmp / "sig",
                  check=False)
    return run.returncode == 0 and "Signature Verified Successfully" in run.stdout


def test_our_signature_verifies_in_openssl_with_the_layout_id_only(suite: Suite, tmp_path: Path) -> None:
    key = suite.generate_key()
    message = b"residence permit 410182"
    signature = key.sign(message)
    assert _pkeyutl_verify(tmp_path, key.public_key().spki(), message, signature, CITY)
    assert not _pkeyutl_verify(tmp_path, key.public_key().spki(), message, signature, DEFAULT)


def test_the_ceremony_certificates_and_crl_verify_in_openssl_with_the_layout_id(
        layout: Layout, suite: Suite, tmp_path: Path) -> None:
    """The key ceremony of the layout's store: `openssl verify -vfyopt distid:<city ID>` accepts a signer
    certificate under the root and refuses it with the default ID; the CRL's signature likewise."""
    keys = make_keys(tmp_path / "keys", suite)
    root = keys.store.certificate(ceremony.ROOT)
    signer = keys.store.certificate(ceremony.signer_name(SignerRole.DOCUMENT, layout.authorities[0].code))
    (tmp_path / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ds.pem").write_bytes(signer.public_bytes(serialization.Encoding.PEM))

    def verify(distid: str) -> bool:
        run = openssl("verify", "-vfyopt", f"distid:{distid}", "-CAfile", tmp_path / "root.pem",
                      tmp_path / "ds.pem", check=False)
        return run.returncode == 0 and run.stdout.strip().endswith("OK")

    assert verify(CITY)
    assert not verify(DEFAULT)
    crl = keys.store.crl(ceremony.ROOT_CRL)
    root_spki = pki.certificate_public_key(root, suite).spki()
    assert _pkeyutl_verify(tmp_path, root_spki, crl.tbs_certlist_bytes, crl.signature, CITY)
    assert not _pkeyutl_verify(tmp_path, root_spki, crl.tbs_certlist_bytes, crl.signature, DEFAULT)


def test_the_virtual_cards_chip_signature_verifies_in_openssl_with_the_layout_id(
        layout: Layout, suite: Suite, tmp_path: Path) -> None:
    """The applet was given the ID at personalization: OpenSSL checks its INTERNAL AUTHENTICATE answer
    over EF.CHIPKEY's key with that ID, and refuses it with the default."""
    keys = make_keys(tmp_path / "keys", suite)
    permit = permit_for(layout, 41, photo_bytes=4_000, endorsements=0)
    card = blank_card()
    personalize(CardSession(InProcessConnection(card)), make_plan(permit, layout, keys), keys, permit.authority.code)
    card.power_on()
    read = read_card(InProcessConnection(card), layout, keys=keys.card_key)
    assert read.chip_challenge is not None and read.chip_signature is not None
    message, signature = chip.chip_auth_message(read.chip_challenge), der_signature(read.chip_signature)
    assert _pkeyutl_verify(tmp_path, read.files["chipkey"], message, signature, CITY)
    assert not _pkeyutl_verify(tmp_path, read.files["chipkey"], message, signature, DEFAULT)


def test_openssl_signature_and_certificates_under_the_layout_id_are_accepted(suite: Suite, tmp_path: Path) -> None:
    """OpenSSL signs a message and makes a root and a leaf with `distid:<city ID>`: our code accepts them
    in the layout's suite and refuses them in the default one."""
    openssl("genpkey", "-algorithm", "SM2", "-out", tmp_path / "k.pem")
    openssl("pkey", "-in", tmp_path / "k.pem", "-pubout", "-outform", "DER", "-out", tmp_path / "pub.der")
    (tmp_path / "msg").write_bytes(b"made by openssl")
    openssl("pkeyutl", "-sign", "-inkey", tmp_path / "k.pem", "-rawin", "-digest", "sm3",
            "-pkeyopt", f"distid:{CITY}", "-in", tmp_path / "msg", "-out", tmp_path / "sig")
    spki, signature = (tmp_path / "pub.der").read_bytes(), (tmp_path / "sig").read_bytes()
    suite.load_public_key(spki).verify(b"made by openssl", signature)
    with pytest.raises(InvalidSignature):
        GM.load_public_key(spki).verify(b"made by openssl", signature)

    cfg = tmp_path / "ca.cnf"
    cfg.write_text("[req]\ndistinguished_name=dn\n[dn]\n[ca]\nbasicConstraints=critical,CA:TRUE\n"
                   "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n")
    openssl("genpkey", "-algorithm", "SM2", "-out", tmp_path / "ca.key")
    openssl("req", "-x509", "-new", "-key", tmp_path / "ca.key", "-sm3", "-sigopt", f"distid:{CITY}",
            "-subj", "/C=CN/CN=openssl root", "-days", "30", "-config", cfg, "-extensions", "ca",
            "-out", tmp_path / "ca.pem")
    openssl("genpkey", "-algorithm", "SM2", "-out", tmp_path / "leaf.key")
    openssl("req", "-new", "-key", tmp_path / "leaf.key", "-sm3", "-sigopt", f"distid:{CITY}",
            "-subj", "/C=CN/CN=leaf", "-config", cfg, "-out", tmp_path / "leaf.csr")
    openssl("x509", "-req", "-in", tmp_path / "leaf.csr", "-CA", tmp_path / "ca.pem", "-CAkey", tmp_path / "ca.key",
            "-sm3", "-sigopt", f"distid:{CITY}", "-vfyopt", f"distid:{CITY}", "-days", "30",
            "-set_serial", "9", "-out", tmp_path / "leaf.pem")
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((tmp_path / "leaf.pem").read_bytes())
    assert pki.verify_issued_by(leaf, ca, suite) and pki.verify_issued_by(ca, ca, suite)
    assert not pki.verify_issued_by(leaf, ca, GM) and not pki.verify_issued_by(ca, ca, GM)
    # OpenSSL itself agrees: the leaf verifies under the city ID only.
    ok = openssl("verify", "-vfyopt", f"distid:{CITY}", "-CAfile", tmp_path / "ca.pem", tmp_path / "leaf.pem",
                 check=False)
    assert ok.returncode == 0, ok.stderr
    assert openssl("verify", "-vfyopt", f"distid:{DEFAULT}", "-CAfile", tmp_path / "ca.pem", tmp_path / "leaf.pem",
                   check=False).returncode != 0
