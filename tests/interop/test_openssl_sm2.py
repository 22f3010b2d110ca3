"""SM2 interop with an independent implementation: Debian's `openssl` (3.0) binary.

Each direction runs: our signatures, keys, certificates and CRLs checked by OpenSSL, and OpenSSL-made
keys, signatures and certificates checked by our code. OpenSSL 3.0 traps this documents (measured):
- `pkeyutl -rawin -digest sm3` and `verify` use an empty signer ID unless told: GB/T 35276's default ID
  needs `-pkeyopt distid:1234567812345678` (pkeyutl) and `-vfyopt distid:1234567812345678` (verify);
- its CRL signature check takes no ID option at all, so a CRL signed with the standard ID is shown
  valid by `pkeyutl` over the CRL's TBSCertList instead (and its structure by `openssl crl -text`).
The Makefile installs `openssl` (APT_PACKAGES); without the binary these tests fail, never skip, in CI.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from cardsvc.security import pki
from cardsvc.security.suite import GM

DISTID = "1234567812345678"
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
HUBIN = pki.Authority("411202", "三门峡市公安局湖滨分局")

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None and os.environ.get("CI") != "true",
                                reason="Debian's openssl binary is not installed (make installs it)")


def openssl(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=check, timeout=30)


def _pem(path: Path, obj: x509.Certificate | x509.CertificateRevocationList) -> Path:
    path.write_bytes(obj.public_bytes(serialization.Encoding.PEM))
    return path


def test_our_raw_signature_verifies_in_openssl_only_with_the_distid(tmp_path: Path) -> None:
    key = GM.generate_key()
    (tmp_path / "pub.der").write_bytes(key.public_key().spki())
    (tmp_path / "msg").write_bytes(b"residence permit 411202")
    (tmp_path / "sig").write_bytes(key.sign(b"residence permit 411202"))
    common = ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", tmp_path / "pub.der", "-rawin",
              "-digest", "sm3", "-in", tmp_path / "msg", "-sigfile", tmp_path / "sig"]
    ok = openssl(*common, "-pkeyopt", f"distid:{DISTID}", check=False)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout
    assert openssl(*common, check=False).returncode != 0  # the 3.0 trap: no distid, another Z


def test_our_pkcs8_key_signs_in_openssl_and_we_verify(tmp_path: Path) -> None:
    key = GM.generate_key()
    (tmp_path / "key.der").write_bytes(key.pkcs8())
    (tmp_path / "msg").write_bytes(b"challenge")
    openssl("pkeyutl", "-sign", "-keyform", "DER", "-inkey", tmp_path / "key.der", "-rawin", "-digest", "sm3",
            "-pkeyopt", f"distid:{DISTID}", "-in", tmp_path / "msg", "-out", tmp_path / "sig")
    key.public_key().verify(b"challenge", (tmp_path / "sig").read_bytes())


def test_openssl_key_and_signature_accepted_by_us(tmp_path: Path) -> None:
    openssl("genpkey", "-algorithm", "SM2", "-out", tmp_path / "k.pem")  # PEM PKCS#8
    openssl("pkcs8", "-topk8", "-nocrypt", "-in", tmp_path / "k.pem", "-outform", "DER", "-out", tmp_path / "k.der")
    openssl("pkey", "-in", tmp_path / "k.pem", "-pubout", "-outform", "DER", "-out", tmp_path / "pub.der")
    (tmp_path / "msg").write_bytes(b"made by openssl")
    openssl("pkeyutl", "-sign", "-inkey", tmp_path / "k.pem", "-rawin", "-digest", "sm3",
            "-pkeyopt", f"distid:{DISTID}", "-in", tmp_path / "msg", "-out", tmp_path / "sig")
    public = GM.load_public_key((tmp_path / "pub.der").read_bytes())
    signature = (tmp_path / "sig").read_bytes()
    public.verify(b"made by openssl", signature)
    with pytest.raises(InvalidSignature):
        public.verify(b"made by openssl!", signature)
    # OpenSSL's PKCS#8 loads as our key, with the same public point.
    ours = GM.load_private_key((tmp_path / "k.der").read_bytes())
    assert ours.public_key() == public


def _gm_pki() -> tuple[object, x509.Certificate, x509.Certificate]:
    root_key, signer_key = GM.generate_key(), GM.generate_key()
    root = pki.make_root_ca(root_key, not_before=T0)
    signer = pki.issue_signer(root_key, root, signer_key.public_key(), HUBIN, pki.SignerRole.DOCUMENT,
                              not_before=T0)
    return root_key, root, signer


def test_our_sm2_certificates_verify_in_openssl(tmp_path: Path) -> None:
    _, root, signer = _gm_pki()
    assert root.signature_algorithm_oid.dotted_string == "1.2.156.10197.1.501"
    text = openssl("x509", "-in", _pem(tmp_path / "ds.pem", signer), "-noout", "-text").stdout
    assert "SM2-with-SM3" in text and "ASN1 OID: SM2" in text
    _pem(tmp_path / "root.pem", root)
    ok = openssl("verify", "-vfyopt", f"distid:{DISTID}", "-CAfile", tmp_path / "root.pem", tmp_path / "ds.pem",
                 check=False)
    assert ok.returncode == 0 and ok.stdout.strip().endswith("OK"), ok.stderr
    # A certificate from another root does not verify: OpenSSL checks the signature, not only names.
    _, other_root, _ = _gm_pki()
    _pem(tmp_path / "other.pem", other_root)
    bad = openssl("verify", "-vfyopt", f"distid:{DISTID}", "-CAfile", tmp_path / "other.pem", tmp_path / "ds.pem",
                  check=False)
    assert bad.returncode != 0


def test_our_sm2_crl_parses_and_its_signature_verifies_in_openssl(tmp_path: Path) -> None:
    root_key, root, signer = _gm_pki()
    crl = pki.build_crl(root_key, root, [pki.RevokedEntry(signer.serial_number, T0)], number=2, this_update=T0)
    text = openssl("crl", "-in", _pem(tmp_path / "crl.pem", crl), "-noout", "-text").stdout
    assert "SM2-with-SM3" in text and f"{signer.serial_number:X}" in text.replace(":", "").upper()
    (tmp_path / "tbs").write_bytes(crl.tbs_certlist_bytes)
    (tmp_path / "sig").write_bytes(crl.signature)
    (tmp_path / "root.der").write_bytes(pki.certificate_public_key(root, GM).spki())
    ok = openssl("pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", tmp_path / "root.der", "-rawin",
                 "-digest", "sm3", "-pkeyopt", f"distid:{DISTID}", "-in", tmp_path / "tbs",
                 "-sigfile", tmp_path / "sig", check=False)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout


def test_openssl_made_sm2_certificate_accepted_by_our_chain_check(tmp_path: Path) -> None:
    """OpenSSL's `req -x509` root and `x509 -req` leaf (SM2-with-SM3, standard ID) pass our signature check."""
    cfg = tmp_path / "ext.cnf"
    cfg.write_text("[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                   "subjectKeyIdentifier=hash\n")
    openssl("genpkey", "-algorithm", "SM2", "-out", tmp_path / "ca.key")
    openssl("req", "-x509", "-new", "-key", tmp_path / "ca.key", "-sm3", "-sigopt", f"distid:{DISTID}",
            "-subj", "/C=CN/CN=openssl root", "-days", "30", "-config", os.devnull, "-extensions", "ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-out", tmp_path / "ca.pem", check=False)
    if not (tmp_path / "ca.pem").exists():  # older option sets: without -config, with the extension file
        openssl("req", "-x509", "-new", "-key", tmp_path / "ca.key", "-sm3", "-sigopt", f"distid:{DISTID}",
                "-subj", "/C=CN/CN=openssl root", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
                "-out", tmp_path / "ca.pem")
    openssl("genpkey", "-algorithm", "SM2", "-out", tmp_path / "leaf.key")
    openssl("req", "-new", "-key", tmp_path / "leaf.key", "-sm3", "-sigopt", f"distid:{DISTID}",
            "-subj", "/C=CN/CN=leaf", "-out", tmp_path / "leaf.csr")
    openssl("x509", "-req", "-in", tmp_path / "leaf.csr", "-CA", tmp_path / "ca.pem", "-CAkey", tmp_path / "ca.key",
            "-sm3", "-sigopt", f"distid:{DISTID}", "-vfyopt", f"distid:{DISTID}", "-days", "30",
            "-set_serial", "7", "-out", tmp_path / "leaf.pem")
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((tmp_path / "leaf.pem").read_bytes())
    assert pki.verify_issued_by(leaf, ca, GM)
    assert pki.verify_issued_by(ca, ca, GM)
    _, our_root, _ = _gm_pki()
    assert not pki.verify_issued_by(leaf, our_root, GM)


def test_gm_ef_sod_parses_in_openssl_and_its_signer_info_verifies_with_pkeyutl(tmp_path: Path) -> None:
    """EF.SOD of a GM signer: `openssl cms -cmsout -print` shows the GM/T 0010 algorithms; OpenSSL 3.0's
    `cms -verify` cannot check an SM2 SignerInfo (it fails even with -noverify), so the signature over the
    DER SET OF signed attributes is checked with `pkeyutl` and the messageDigest with `dgst -sm3`."""
    from asn1crypto import cms

    from cardsvc.security.sod import build_sod

    root_key, root, _ = _gm_pki()
    signer_key = GM.generate_key()
    signer = pki.issue_signer(root_key, root, signer_key.public_key(), HUBIN, pki.SignerRole.DOCUMENT,
                              not_before=T0)
    der = build_sod({0x0101: b"visible", 0x0102: b"machine"}, signer, signer_key.sign)
    (tmp_path / "sod.der").write_bytes(der)
    printed = openssl("cms", "-inform", "DER", "-in", tmp_path / "sod.der", "-cmsout", "-print").stdout
    assert "algorithm: sm3 (1.2.156.10197.1.401)" in printed
    assert "algorithm: SM2-with-SM3 (1.2.156.10197.1.501)" in printed
    assert "error" not in openssl("asn1parse", "-inform", "DER", "-in", tmp_path / "sod.der").stdout.lower()
    sd = cms.ContentInfo.load(der)["content"]
    si = sd["signer_infos"][0]
    (tmp_path / "attrs").write_bytes(b"\x31" + si["signed_attrs"].dump()[1:])  # RFC 5652 §5.4: as SET OF
    (tmp_path / "sig").write_bytes(si["signature"].native)
    (tmp_path / "ds.der").write_bytes(pki.certificate_public_key(signer, GM).spki())
    ok = openssl("pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", tmp_path / "ds.der", "-rawin",
                 "-digest", "sm3", "-pkeyopt", f"distid:{DISTID}", "-in", tmp_path / "attrs",
                 "-sigfile", tmp_path / "sig", check=False)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout
    (tmp_path / "econtent").write_bytes(sd["encap_content_info"]["content"].native)
    digest = next(a for a in si["signed_attrs"] if a["type"].native == "message_digest")["values"][0].native
    assert openssl("dgst", "-sm3", "-r", tmp_path / "econtent").stdout.split()[0] == digest.hex()


def test_openssl_reads_our_encrypted_sm2_key_file(tmp_path: Path) -> None:
    """The key store's SM2 key file is standard PBES2 PKCS#8: OpenSSL decrypts it with the passphrase."""
    from cardsvc.security.keystore import PASSPHRASE_ENV, EncryptedFileKeyStore
    from tests.security_support import passphrase

    env = {**os.environ, PASSPHRASE_ENV: "store passphrase"}
    with passphrase("store passphrase"):
        store = EncryptedFileKeyStore(tmp_path / "store", suite=GM)
    public = store.generate_key("ds-411202", GM)
    run = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "store" / "keys" / "ds-411202.p8.pem"),
                          "-passin", f"env:{PASSPHRASE_ENV}", "-pubout", "-outform", "DER"],
                         capture_output=True, env=env, timeout=30, check=False)
    assert run.returncode == 0 and run.stdout == public.spki()
    bad = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "store" / "keys" / "ds-411202.p8.pem"),
                          "-passin", "pass:wrong", "-noout"], capture_output=True, timeout=30, check=False)
    assert bad.returncode != 0
