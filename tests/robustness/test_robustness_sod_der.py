"""EF.SOD as `build_sod` writes it is exactly the DER that asn1crypto's object model builds for the same
content (with the signer certificate parsed once and reused), and survives a full DER re-encoding."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import pytest
from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.security import oids
from cardsvc.security.pki import Authority, SignerRole, issue_signer, make_root_ca
from cardsvc.security.sod import HashAlgorithm, _PermitSecurityObject, build_sod, parse_sod
from cardsvc.security.suite import GM


def reference_sod(ef_contents: dict[int, bytes], cert: x509.Certificate, sign: Callable[[bytes], bytes],
                  algorithm: HashAlgorithm, when: dt.datetime) -> bytes:
    """The SignedData built with asn1crypto objects, field by field as the module docstring describes."""
    so = _PermitSecurityObject({
        "version": 0,
        "hash_algorithm": algos.DigestAlgorithm({"algorithm": algorithm.value}),
        "ef_hashes": [{"ef_id": fid, "hash_value": algorithm.digest(ef_contents[fid])} for fid in sorted(ef_contents)],
    }).dump()
    a_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": [oids.CT_PERMIT_SECURITY_OBJECT]}),
        cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": when})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [HashAlgorithm.SHA256.digest(so)]}),
    ])
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": a_cert.issuer, "serial_number": a_cert.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        "signature": sign(attrs.dump()),
    })
    signed_data = cms.SignedData({
        "version": "v3", "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": oids.CT_PERMIT_SECURITY_OBJECT, "content": so},
        "certificates": [a_cert], "signer_infos": [signer_info],
    })
    der: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
    return der


@pytest.fixture(scope="module")
def signers() -> list[tuple[x509.Certificate, ec.EllipticCurvePrivateKey]]:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = make_root_ca(root_key, "测试根")
    out = []
    for code in ("410102", "411202", "410185"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue_signer(root_key, root, key.public_key(), Authority(code, "某分局"), SignerRole.DOCUMENT)
        out.append((cert, key))
    return out


@pytest.mark.parametrize("algorithm", list(HashAlgorithm))
@pytest.mark.parametrize("seed", range(4))
def test_hand_written_der_equals_asn1crypto(signers: list[tuple[x509.Certificate, ec.EllipticCurvePrivateKey]],
                                            algorithm: HashAlgorithm, seed: int) -> None:
    rng = random.Random(seed)
    cert, _ = signers[seed % len(signers)]
    count = rng.choice((1, 2, 6, 64))
    contents = {rng.randrange(0x10000): rng.randbytes(rng.choice((0, 1, 127, 128, 255, 256, 70_000)))
                for _ in range(count)}
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(10**8))

    def deterministic(data: bytes) -> bytes:  # a fixed "signature" so the two builds can be compared
        return bytes(72) + data[:8]

    mine = build_sod(contents, cert, deterministic, algorithm, when)
    assert mine == reference_sod(contents, cert, deterministic, algorithm, when)
    assert cms.ContentInfo.load(mine).dump(force=True) == mine  # DER all the way down


def test_real_signature_parses_and_verifies(signers: list[tuple[x509.Certificate, ec.EllipticCurvePrivateKey]]) -> None:
    cert, key = signers[0]
    contents = {0x0001: b"card", 0x0004: bytes(15_000)}
    sod = build_sod(contents, cert, lambda d: key.sign(d, ec.ECDSA(hashes.SHA256())))
    parsed = parse_sod(sod, GM)
    assert parsed.signer == cert and dict(parsed.ef_hashes)[0x0004] == HashAlgorithm.SHA256.digest(bytes(15_000))
