"""EF.SOD: the signed security object (passive authentication).

A CMS SignedData (RFC 5652 §5) whose encapsulated content (eContentType oids.CT_PERMIT_SECURITY_OBJECT)
lists the hash of every signed EF, like ICAO 9303-10 §4.6.2's LDSSecurityObject:

    PermitSecurityObject ::= SEQUENCE {
        version        INTEGER (0),
        hashAlgorithm  AlgorithmIdentifier,          -- the suite's: SM3 (gm) or SHA-256 (intl)
        efHashes       SEQUENCE OF EfHash }          -- sorted by file identifier
    EfHash ::= SEQUENCE { efId INTEGER (0..65535), hashValue OCTET STRING }

The SignedData carries the issuing authority's document signer certificate; one SignerInfo
(issuerAndSerialNumber) with signed attributes contentType, signingTime and messageDigest. The signer's
key decides the algorithms (cardsvc/security/suite.py): gm uses the GM/T 0010 algorithm identifiers,
digestAlgorithm sm3 (1.2.156.10197.1.401) and signatureAlgorithm SM2-with-SM3 (1.2.156.10197.1.501,
the layout's signer ID, by default 1234567812345678); intl sha256 + ecdsa-with-SHA256. The ContentInfo keeps RFC 5652's
id-signedData (not GM/T 0010's 1.2.156.10197.6.1.4.2.2) so standard CMS tools (`openssl cms -cmsout
-print`) parse it. cryptography cannot parse SignedData or sign non-id-data content, so asn1crypto
encodes/decodes the structure and the suite does every hash and signature. Verification hashes the EF
bytes exactly as read from the card.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization

from cardsvc.security import oids
from cardsvc.security.errors import (
    EfCoverageError,
    EfHashMismatch,
    SignerProfileError,
    SodFormatError,
    SodSignatureError,
)
from cardsvc.security.pki import SignerRole, TrustStore, authority_code, certificate_public_key, certificate_suite
from cardsvc.security.suite import Suite, SuiteName

SOD_VERSION = 0
MAX_EFS = 64


class HashAlgorithm(enum.Enum):
    """Hash over the EF contents. SHA-256 by default; SM3 (GB/T 32905) selectable."""

    SHA256 = oids.SHA256
    SM3 = oids.SM3

    @classmethod
    def of(cls, suite: SuiteName) -> HashAlgorithm:
        return cls.SM3 if suite is SuiteName.GM else cls.SHA256

    def new(self) -> hashes.HashAlgorithm:
        return hashes.SHA256() if self is HashAlgorithm.SHA256 else hashes.SM3()

    def digest(self, data: bytes) -> bytes:
        h = hashes.Hash(self.new())
        h.update(data)
        return h.finalize()


class _EfHash(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[str, type]]] = [("ef_id", core.Integer), ("hash_value", core.OctetString)]


class _EfHashes(core.SequenceOf):  # type: ignore[misc]
    _child_spec: ClassVar[type] = _EfHash


class _PermitSecurityObject(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[str, type]]] = [("version", core.Integer), ("hash_algorithm", algos.DigestAlgorithm),
               ("ef_hashes", _EfHashes)]


@dataclass(frozen=True, slots=True)
class SecurityObject:
    """EF.SOD parsed and its signature checked against the certificate it carries (not yet trusted)."""

    hash_algorithm: HashAlgorithm
    ef_hashes: tuple[tuple[int, bytes], ...]
    signer: x509.Certificate
    signing_time: dt.datetime | None

    @property
    def authority_code(self) -> str:
        return authority_code(self.signer)

    def hash_of(self, fid: int) -> bytes | None:
        return next((h for f, h in self.ef_hashes if f == fid), None)


def _check_fid(fid: int) -> None:
    if not 0 <= fid <= 0xFFFF:
        raise ValueError(f"EF id: {fid!r} is not a 2-byte file identifier")


@functools.lru_cache(maxsize=64)
def _asn1_certificate(cert_der: bytes) -> asn1_x509.Certificate:
    """The signer certificate as an asn1crypto object, parsed once per certificate (a station signs many
    cards with one document signer; re-parsing it per card was a large share of build_sod)."""
    return asn1_x509.Certificate.load(cert_der)


@dataclass(frozen=True, slots=True)
class _Profile:
    """The SignerInfo algorithms of one suite."""

    digest: HashAlgorithm  # messageDigest and SignerInfo digestAlgorithm
    signature_oid: str


_PROFILES = {SuiteName.GM: _Profile(HashAlgorithm.SM3, oids.SM2_WITH_SM3),
             SuiteName.INTL: _Profile(HashAlgorithm.SHA256, oids.ECDSA_WITH_SHA256)}


@functools.lru_cache(maxsize=64)
def _signer_suite(cert_der: bytes) -> SuiteName:
    return certificate_suite(x509.load_der_x509_certificate(cert_der))


def build_sod(ef_contents: Mapping[int, bytes], signer_cert: x509.Certificate,
              sign: Callable[[bytes], bytes], hash_algorithm: HashAlgorithm | None = None,
              signing_time: dt.datetime | None = None) -> bytes:
    """DER of EF.SOD over `ef_contents` (FID → bytes); `sign` makes a DER signature with the document
    signer's key (e.g. `functools.partial(store.sign, "ds-411202")`); EF hashes by `hash_algorithm`,
    by default the signer's suite's."""
    if not ef_contents:
        raise ValueError("ef_contents: at least one EF must be signed")
    if len(ef_contents) > MAX_EFS:
        raise ValueError(f"ef_contents: {len(ef_contents)} EFs, at most {MAX_EFS}")
    cert_der = signer_cert.public_bytes(serialization.Encoding.DER)
    profile = _PROFILES[_signer_suite(cert_der)]
    hash_algorithm = hash_algorithm or profile.digest
    for fid in ef_contents:
        _check_fid(fid)
    so = _PermitSecurityObject({
        "version": SOD_VERSION,
        "hash_algorithm": algos.DigestAlgorithm({"algorithm": hash_algorithm.value}),
        "ef_hashes": [{"ef_id": fid, "hash_value": hash_algorithm.digest(ef_contents[fid])}
                      for fid in sorted(ef_contents)],
    }).dump()
    cert = _asn1_certificate(cert_der)
    when = (signing_time or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": [oids.CT_PERMIT_SECURITY_OBJECT]}),
        cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": when})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [profile.digest.digest(so)]}),
    ])
    signature = sign(attrs.dump())  # DER SET OF, sorted by asn1crypto (RFC 5652 §5.4)
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": profile.digest.value}),
        "signed_attrs": attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": profile.signature_oid}),
        "signature": signature,
    })
    signed_data = cms.SignedData({
        "version": "v3",  # RFC 5652 §5.1: eContentType other than id-data
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": profile.digest.value})],
        "encap_content_info": {"content_type": oids.CT_PERMIT_SECURITY_OBJECT, "content": so},
        "certificates": [cert],
        "signer_infos": [signer_info],
    })
    der: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
    return der


def _attr(attrs: object, name: str) -> object:
    found = [a for a in attrs if a["type"].native == name]  # type: ignore[attr-defined]
    if len(found) != 1 or len(found[0]["values"]) != 1:
        raise SodFormatError(f"signed attribute {name}: expected exactly one value")
    return found[0]["values"][0]


def parse_sod(der: bytes, suite: Suite) -> SecurityObject:
    """Decode EF.SOD and verify its signature with the certificate it carries (trust comes later); an SM2
    signer's key with `suite`'s signer ID (the layout's, e.g. `TrustStore.suite`)."""
    try:
        return _parse(der, suite)
    except (SodFormatError, SodSignatureError):
        raise
    except Exception as exc:  # untrusted bytes: asn1crypto/cryptography raise many types; all mean "malformed"
        raise SodFormatError(f"EF.SOD is not a valid SignedData: {type(exc).__name__}: {exc}") from None


def _parse(der: bytes, suite: Suite) -> SecurityObject:
    info = cms.ContentInfo.load(der, strict=True)
    if info["content_type"].native != "signed_data":
        raise SodFormatError(f"contentType is {info['content_type'].dotted}, not signedData")
    sd = info["content"]
    # Fields outside the signature are pinned too, so nothing in EF.SOD can change unnoticed.
    if sd["version"].native != "v3":
        raise SodFormatError(f"SignedData version {sd['version'].native}, expected v3 (RFC 5652 §5.1)")
    if sd["crls"]:
        raise SodFormatError("EF.SOD carries CRLs; revocation comes from the verifier's trust store")
    encap = sd["encap_content_info"]
    if encap["content_type"].dotted != oids.CT_PERMIT_SECURITY_OBJECT:
        raise SodFormatError(f"eContentType {encap['content_type'].dotted} is not a permit security object")
    content = encap["content"]
    if content.native is None:
        raise SodFormatError("eContent is absent (detached signatures are not used)")
    so_der = bytes(content.native) if isinstance(content.native, bytes) else content.contents
    signer_infos = sd["signer_infos"]
    if len(signer_infos) != 1:
        raise SodFormatError(f"{len(signer_infos)} SignerInfos, expected exactly 1")
    si = signer_infos[0]
    if si["version"].native != "v1" or si["unsigned_attrs"]:
        raise SodFormatError("SignerInfo must be version 1 without unsigned attributes")
    if si["signature_algorithm"]["parameters"].native is not None:
        raise SodFormatError("the signature algorithm takes no parameters (RFC 5758 §3.2, GM/T 0010)")
    sid = si["sid"]
    if sid.name != "issuer_and_serial_number":
        raise SodFormatError("signer identifier must be issuerAndSerialNumber")
    certs = [c.chosen for c in (sd["certificates"] or []) if c.name == "certificate"]
    sid_issuer = sid.chosen["issuer"].dump()  # byte comparison: DER names are canonical
    match = [c for c in certs if c["tbs_certificate"]["issuer"].dump() == sid_issuer
             and c.serial_number == sid.chosen["serial_number"].native]
    if len(match) != 1:
        raise SodFormatError("the document signer certificate named by the SignerInfo is not in EF.SOD")
    signer = x509.load_der_x509_certificate(match[0].dump())
    # cryptography parses certificate fields lazily: touch them now so damage is a format error here.
    _ = (signer.version, signer.subject.rfc4514_string(), signer.issuer.rfc4514_string(),
         len(signer.extensions))
    try:
        key = certificate_public_key(signer, suite)
    except SignerProfileError as exc:
        raise SodFormatError(f"document signer {exc}") from None
    profile = _PROFILES[key.suite]  # the signer's key decides the algorithms; nothing else may differ
    if [a["algorithm"].dotted for a in sd["digest_algorithms"]] != [profile.digest.value]:
        raise SodFormatError(f"SignedData digestAlgorithms must be exactly {profile.digest.name} ({key.suite} key)")
    if si["digest_algorithm"]["algorithm"].dotted != profile.digest.value:
        raise SodFormatError(f"signer digest {si['digest_algorithm']['algorithm'].dotted} is not"
                             f" {profile.digest.name}")
    if si["signature_algorithm"]["algorithm"].dotted != profile.signature_oid:
        raise SodFormatError(f"signature algorithm {si['signature_algorithm']['algorithm'].dotted}"
                             f" is not {profile.signature_oid} ({key.suite} key)")
    attrs = si["signed_attrs"]
    if not attrs:
        raise SodFormatError("SignerInfo has no signed attributes")
    if _attr(attrs, "content_type").dotted != oids.CT_PERMIT_SECURITY_OBJECT:  # type: ignore[attr-defined]
        raise SodFormatError("signed contentType attribute differs from eContentType")
    digest = _attr(attrs, "message_digest").native  # type: ignore[attr-defined]
    if not hmac.compare_digest(digest, profile.digest.digest(so_der)):
        raise SodSignatureError("messageDigest does not match the security object: EF.SOD altered")
    signing_time = None
    if any(a["type"].native == "signing_time" for a in attrs):
        signing_time = _attr(attrs, "signing_time").native  # type: ignore[attr-defined]
    signed_bytes = b"\x31" + attrs.dump()[1:]  # RFC 5652 §5.4: signed as SET OF, stored as [0] IMPLICIT
    try:
        key.verify(signed_bytes, si["signature"].native)
    except InvalidSignature:
        raise SodSignatureError("EF.SOD signature does not verify with its document signer") from None
    so = _PermitSecurityObject.load(so_der, strict=True)
    if so["version"].native != SOD_VERSION:
        raise SodFormatError(f"security object version {so['version'].native}, expected {SOD_VERSION}")
    try:
        algorithm = HashAlgorithm(so["hash_algorithm"]["algorithm"].dotted)
    except ValueError:
        raise SodFormatError(f"hash algorithm {so['hash_algorithm']['algorithm'].dotted} not supported") from None
    size = algorithm.new().digest_size
    pairs: list[tuple[int, bytes]] = []
    for entry in so["ef_hashes"]:
        fid, value = entry["ef_id"].native, entry["hash_value"].native
        if not 0 <= fid <= 0xFFFF or len(value) != size:
            raise SodFormatError(f"EF hash entry {fid}: bad file identifier or {len(value)}-byte hash")
        if any(f == fid for f, _ in pairs):
            raise SodFormatError(f"EF {fid:04X} listed twice")
        pairs.append((fid, value))
    if not pairs:
        raise SodFormatError("security object lists no EF")
    # DER only (X.690 §10): every part re-encodes to the bytes read. The certificate's signed part is left
    # out (re-encoding it costs most of the verification time; its signature covers it), but not its two
    # unsigned fields: cryptography accepts a signatureValue BIT STRING with non-zero unused bits, so that
    # byte could change while the card still verified (this and the envelope check below were found by
    # `python -m bench robustness`).
    for part in ("version", "digest_algorithms", "encap_content_info", "signer_infos"):
        if sd[part].dump(force=True) != sd[part].dump():
            raise SodFormatError(f"EF.SOD is not in DER ({part}: non-minimal or re-ordered encoding)")
    if match[0]["signature_algorithm"].dump(force=True) != match[0]["signature_algorithm"].dump():
        raise SodFormatError("EF.SOD is not in DER (certificate signatureAlgorithm: non-minimal encoding)")
    if match[0]["signature_value"].contents[:1] != b"\x00":  # an ECDSA or SM2 signature is whole octets
        raise SodFormatError("EF.SOD is not in DER (certificate signatureValue: BIT STRING with unused bits)")
    # And the envelope: ContentInfo and SignedData hold exactly their parts. asn1crypto accepts zero bytes
    # after the last part, so a larger outer length could take in EF.SOD's zero padding unnoticed.
    body = b"".join(sd[n].dump() for n in ("version", "digest_algorithms", "encap_content_info", "certificates",
                                           "signer_infos"))
    if sd.contents != body or info.contents != info["content_type"].dump() + info["content"].dump():
        raise SodFormatError("EF.SOD is not in DER (bytes after the last part of ContentInfo or SignedData)")
    return SecurityObject(algorithm, tuple(pairs), signer, signing_time)


def verify_sod(der: bytes, ef_contents: Mapping[int, bytes], trust: TrustStore,
               at: dt.datetime | None = None) -> SecurityObject:
    """Passive authentication: signature, signer trust (root, validity, CRL), then every EF hash.

    `ef_contents` must hold exactly the EFs listed in EF.SOD, as read from the card."""
    sod = parse_sod(der, trust.suite)
    trust.check_signer(sod.signer, SignerRole.DOCUMENT, at)
    listed = {fid for fid, _ in sod.ef_hashes}
    for fid in sorted(listed - set(ef_contents)):
        raise EfCoverageError(fid, "listed in EF.SOD but not supplied")
    for fid in sorted(set(ef_contents) - listed):
        raise EfCoverageError(fid, "supplied but not covered by EF.SOD")
    for fid, expected in sod.ef_hashes:
        if not hmac.compare_digest(sod.hash_algorithm.digest(ef_contents[fid]), expected):
            raise EfHashMismatch(fid)
    return sod
