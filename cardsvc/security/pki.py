"""Issuer PKI: one provincial root CA, per issuing authority a document signer and an endorsement
signer (X.509), a CRL for the signers, and the trust check verifiers run. Keys are the layout suite's
(cardsvc/security/suite.py): gm certificates and CRLs are SM2-with-SM3 (GM/T 0015; OID 1.2.156.10197.1.501,
no parameters, the layout's SM2 signer ID: GB/T 35276's 1234567812345678 unless the layout names another
with `sm2_distid`), intl ones ECDSA P-256 + SHA-256. cryptography builds and parses both (it parses any
algorithm); it cannot sign with SM2, so a gm certificate is built with a placeholder key and its key,
algorithm and signature are then replaced with asn1crypto (`_finish`) — the only hand-written part.
Signatures are checked through the suite's keys: a `TrustStore` holds the layouts' `Suite`, and every
certificate key it checks is loaded through it.

Permits are issued by county-level public security organs (SMX Art.14/15), so each authority (GB/T 2260
county code + name) gets its own signer certificates; endorsements are signed by the endorsing authority
(SMX Art.16, ZZ Art.13). Profile (RFC 5280 §4.2.1):
- root: BasicConstraints CA, pathLen 0 (critical); KeyUsage keyCertSign + cRLSign (critical).
- signers: BasicConstraints not CA (critical); KeyUsage digitalSignature + nonRepudiation (critical);
  ExtendedKeyUsage {our role OID, id-kp-emailProtection}. emailProtection is what RFC 8550 §4.4.4 asks
  of a CMS signer certificate that carries an EKU, and what `openssl cms -verify`'s default purpose
  (smimesign) checks, so standard tools verify EF.SOD without `-purpose any`. Our own check requires the
  role OID, so a document signer cannot sign endorsements and vice versa.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from asn1crypto import algos as asn1_algos
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cardsvc.security import oids
from cardsvc.security.errors import (
    CrlError,
    PkiError,
    SignerExpiredError,
    SignerProfileError,
    SignerRevokedError,
    UnknownSignerError,
    UntrustedSignerError,
)
from cardsvc.security.suite import (
    EcdsaPrivateKey,
    EcdsaPublicKey,
    PrivateKey,
    PublicKey,
    Suite,
    SuiteName,
    as_private_key,
    as_public_key,
    key_identifier,
    spki_suite,
)

ROOT_VALIDITY = dt.timedelta(days=20 * 365)
SIGNER_VALIDITY = dt.timedelta(days=10 * 365)  # covers cards issued while the key is in use
CRL_VALIDITY = dt.timedelta(days=7)
_CODE_RE = re.compile(r"^[1-8]\d{3}(?!00)\d{2}$")  # GB/T 2260 county-level code


class SignerRole(enum.Enum):
    DOCUMENT = "document signer"
    ENDORSEMENT = "endorsement signer"

    @property
    def eku(self) -> x509.ObjectIdentifier:
        return oids.KP_DOCUMENT_SIGNER if self is SignerRole.DOCUMENT else oids.KP_ENDORSEMENT_SIGNER


@dataclass(frozen=True, slots=True)
class Authority:
    """An issuing authority: county-level public security organ (SMX Art.14/15)."""

    code: str  # GB/T 2260, e.g. 411202 湖滨区
    name: str  # e.g. 三门峡市公安局湖滨分局

    def __post_init__(self) -> None:
        if not _CODE_RE.fullmatch(self.code):
            raise ValueError(f"authority code: {self.code!r} is not a 6-digit county-level GB/T 2260 code")
        if not self.name.strip() or len(self.name) > 64:
            raise ValueError("authority name: must be 1-64 characters")


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


AnyPrivateKey = PrivateKey | ec.EllipticCurvePrivateKey  # a bare P-256 key is taken as the intl suite's
AnyPublicKey = PublicKey | ec.EllipticCurvePublicKey


def _private(key: AnyPrivateKey, what: str) -> PrivateKey:
    try:
        return as_private_key(key)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _public(key: AnyPublicKey, what: str) -> PublicKey:
    try:
        return as_public_key(key)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _ski(public_key: PublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier(key_identifier(public_key))


_PLACEHOLDER = ec.generate_private_key(ec.SECP256R1())  # signs drafts whose key and signature are replaced


def _algorithm(issuer: PrivateKey) -> asn1_algos.SignedDigestAlgorithm:
    """AlgorithmIdentifier with absent parameters: RFC 5758 §3.2 (ECDSA), GM/T 0015 (SM2-with-SM3)."""
    return asn1_algos.SignedDigestAlgorithm({"algorithm": oids.signature_oid(issuer.suite)})


def _finish(builder: x509.CertificateBuilder, issuer: PrivateKey, subject: PublicKey) -> x509.Certificate:
    if isinstance(issuer, EcdsaPrivateKey) and isinstance(subject, EcdsaPublicKey):
        return builder.public_key(subject.key).sign(issuer.key, hashes.SHA256())
    draft = builder.public_key(_PLACEHOLDER.public_key()).sign(_PLACEHOLDER, hashes.SHA256())
    tbs = asn1_x509.Certificate.load(draft.public_bytes(serialization.Encoding.DER))["tbs_certificate"]
    tbs["subject_public_key_info"] = asn1_keys.PublicKeyInfo.load(subject.spki())
    tbs["signature"] = _algorithm(issuer)
    signed = asn1_x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": _algorithm(issuer),
                                    "signature_value": issuer.sign(tbs.dump(force=True))})
    return x509.load_der_x509_certificate(signed.dump())


def _finish_crl(builder: x509.CertificateRevocationListBuilder, issuer: PrivateKey) -> x509.CertificateRevocationList:
    if isinstance(issuer, EcdsaPrivateKey):
        return builder.sign(issuer.key, hashes.SHA256())
    draft = builder.sign(_PLACEHOLDER, hashes.SHA256())
    tbs = asn1_crl.CertificateList.load(draft.public_bytes(serialization.Encoding.DER))["tbs_cert_list"]
    tbs["signature"] = _algorithm(issuer)
    signed = asn1_crl.CertificateList({"tbs_cert_list": tbs, "signature_algorithm": _algorithm(issuer),
                                       "signature": issuer.sign(tbs.dump(force=True))})
    return x509.load_der_x509_crl(signed.dump())


def certificate_spki(cert: x509.Certificate) -> bytes:
    """The subject's DER SubjectPublicKeyInfo, as signed in the certificate."""
    spki: bytes = asn1_x509.TbsCertificate.load(cert.tbs_certificate_bytes)["subject_public_key_info"].dump()
    return spki


def certificate_public_key(cert: x509.Certificate, suite: Suite) -> PublicKey:
    """The subject's key through the layouts' suite, which gives an SM2 key its signer ID (cryptography's
    `public_key()` knows no SM2 curve)."""
    try:
        return suite.load_public_key(certificate_spki(cert))
    except ValueError as exc:
        raise SignerProfileError(f"certificate key: {exc}") from None


def certificate_suite(cert: x509.Certificate) -> SuiteName:
    """Which suite's curve the subject key is on (the algorithms it implies; no key is built)."""
    return spki_suite(certificate_spki(cert))


def _signed_by(tbs: bytes, algorithm: x509.ObjectIdentifier, signature: bytes, key: PublicKey) -> bool:
    if algorithm.dotted_string != oids.signature_oid(key.suite):
        return False
    try:
        key.verify(tbs, signature)
    except InvalidSignature:
        return False
    return True


def verify_issued_by(cert: x509.Certificate, issuer: x509.Certificate, suite: Suite) -> bool:
    """True when `issuer`'s key signed `cert` with its suite's algorithm (names are checked by callers)."""
    return _signed_by(cert.tbs_certificate_bytes, cert.signature_algorithm_oid, cert.signature,
                      certificate_public_key(issuer, suite))


def crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate, suite: Suite) -> bool:
    return _signed_by(crl.tbs_certlist_bytes, crl.signature_algorithm_oid, crl.signature,
                      certificate_public_key(issuer, suite))


def make_root_ca(root_key: AnyPrivateKey, common_name: str = "河南省居住证根证书",
                 not_before: dt.datetime | None = None,
                 validity: dt.timedelta = ROOT_VALIDITY) -> x509.Certificate:
    """Self-signed provincial root CA certificate."""
    root_key = _private(root_key, "root key")
    start = not_before or _now()
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "河南省"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "河南省公安厅"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    pub = root_key.public_key()
    return _finish(
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(_ski(pub), critical=False), root_key, pub)


def issue_signer(root_key: AnyPrivateKey, root_cert: x509.Certificate,
                 signer_public_key: AnyPublicKey, authority: Authority, role: SignerRole,
                 not_before: dt.datetime | None = None,
                 validity: dt.timedelta = SIGNER_VALIDITY) -> x509.Certificate:
    """A document or endorsement signer certificate for one authority, issued by the root."""
    root_key = _private(root_key, "root key")
    signer_public_key = _public(signer_public_key, "signer key")
    start = not_before or _now()
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "河南省"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.value),
        x509.NameAttribute(NameOID.COMMON_NAME, authority.name),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, authority.code),
    ])
    root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return _finish(
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(root_cert.subject)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([role.eku, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                       critical=False)
        .add_extension(_ski(signer_public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
                       critical=False), root_key, signer_public_key)


def build_crl(root_key: AnyPrivateKey, root_cert: x509.Certificate,
              revoked: Iterable[RevokedEntry], number: int, this_update: dt.datetime | None = None,
              validity: dt.timedelta = CRL_VALIDITY) -> x509.CertificateRevocationList:
    """The root's CRL over the signers (RFC 5280 §5), with CRL number and authority key identifier."""
    start = this_update or _now()
    root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_cert.subject).last_update(start).next_update(start + validity)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
                       critical=False)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at)
            .add_extension(x509.CRLReason(entry.reason), critical=False).build())
    return _finish_crl(builder, _private(root_key, "root key"))


def _ext(cert: x509.Certificate, cls: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def authority_code(cert: x509.Certificate) -> str:
    """The GB/T 2260 code in a signer certificate's subject serialNumber."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(attrs) != 1:
        raise SignerProfileError("signer certificate subject has no single serialNumber (authority code)")
    return str(attrs[0].value)


class TrustStore:
    """Roots, the roots' CRLs and (for endorsement lookups by key identifier) known signer certificates,
    with the `suite` of the layouts they serve: every certificate, CRL and signed-object key is loaded
    through it, so SM2 signatures are checked under the layouts' signer ID."""

    def __init__(self, roots: Sequence[x509.Certificate],
                 crls: Sequence[x509.CertificateRevocationList] = (),
                 signers: Sequence[x509.Certificate] = (), require_crl: bool = True, *, suite: Suite) -> None:
        if not roots:
            raise PkiError("a trust store needs at least one root certificate")
        for root in roots:
            bc = _ext(root, x509.BasicConstraints)
            if not isinstance(bc, x509.BasicConstraints) or not bc.ca:
                raise SignerProfileError(f"root {root.subject.rfc4514_string()}: not a CA certificate")
        self._roots = list(roots)
        self._crls = list(crls)
        self._signers = {self._key_id(c): c for c in signers}
        self._require_crl = require_crl
        self._suite = suite

    @property
    def suite(self) -> Suite:
        return self._suite

    def with_suite(self, suite: Suite) -> TrustStore:
        """The same anchors checked under `suite` (a verifier binds them to the layout it judges)."""
        if suite == self._suite:
            return self
        return TrustStore(self._roots, self._crls, list(self._signers.values()), self._require_crl, suite=suite)

    def public_key(self, cert: x509.Certificate) -> PublicKey:
        """A signer's key, with this store's SM2 signer ID (SignerProfileError if not P-256 or SM2)."""
        return certificate_public_key(cert, self._suite)

    @staticmethod
    def _key_id(cert: x509.Certificate) -> bytes:
        ski = _ext(cert, x509.SubjectKeyIdentifier)
        if not isinstance(ski, x509.SubjectKeyIdentifier):
            raise SignerProfileError("signer certificate has no subject key identifier")
        return ski.digest

    @property
    def roots(self) -> tuple[x509.Certificate, ...]:
        """The trusted roots (a verifier tells a damaged signer certificate from a foreign one)."""
        return tuple(self._roots)

    @property
    def signers(self) -> tuple[x509.Certificate, ...]:
        """Known signer certificates (endorsement records name their signer by authority code)."""
        return tuple(self._signers.values())

    def find_signer(self, key_id: bytes) -> x509.Certificate:
        try:
            return self._signers[key_id]
        except KeyError:
            raise UnknownSignerError(f"no known signer certificate has key identifier {key_id.hex()}") from None

    def _issuer_of(self, cert: x509.Certificate) -> x509.Certificate:
        for root in self._roots:
            if root.subject != cert.issuer:
                continue
            if verify_issued_by(cert, root, self._suite):
                return root
        raise UntrustedSignerError(f"signer {_describe(cert)} was not issued by a trusted root")

    def _current_crl(self, root: x509.Certificate, at: dt.datetime) -> x509.CertificateRevocationList | None:
        best: x509.CertificateRevocationList | None = None
        best_number = -1
        for crl in self._crls:
            if crl.issuer != root.subject or not crl_signed_by(crl, root, self._suite):
                continue
            number_ext = _ext_crl_number(crl)
            if number_ext > best_number:
                best, best_number = crl, number_ext
        if best is None:
            if self._require_crl:
                raise CrlError(f"no CRL signed by {root.subject.rfc4514_string()}: revocation unknown")
            return None
        next_update = best.next_update_utc
        if next_update is None or next_update < at or best.last_update_utc > at:
            raise CrlError(f"CRL number {best_number} is not current at {at.isoformat()}")
        return best

    def check_signer(self, cert: x509.Certificate, role: SignerRole, at: dt.datetime | None = None) -> None:
        """Raise the first failure: untrusted issuer, unfit profile, outside validity, revoked."""
        when = at or dt.datetime.now(dt.UTC)
        root = self._issuer_of(cert)
        bc = _ext(cert, x509.BasicConstraints)
        if not isinstance(bc, x509.BasicConstraints) or bc.ca:
            raise SignerProfileError("signer certificate must carry BasicConstraints CA=false")
        ku = _ext(cert, x509.KeyUsage)
        if not isinstance(ku, x509.KeyUsage) or not ku.digital_signature:
            raise SignerProfileError("signer certificate KeyUsage lacks digitalSignature")
        eku = _ext(cert, x509.ExtendedKeyUsage)
        if not isinstance(eku, x509.ExtendedKeyUsage) or role.eku not in eku:
            raise SignerProfileError(f"signer certificate is not a {role.value} (extended key usage)")
        self.public_key(cert)  # a P-256 or SM2 key, else SignerProfileError
        for c, what in ((root, "root"), (cert, role.value)):
            if not c.not_valid_before_utc <= when <= c.not_valid_after_utc:
                raise SignerExpiredError(
                    f"{what} certificate valid {c.not_valid_before_utc:%Y-%m-%d}..{c.not_valid_after_utc:%Y-%m-%d},"
                    f" not at {when:%Y-%m-%d %H:%M}")
        crl = self._current_crl(root, when)
        if crl is not None:
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None and entry.revocation_date_utc <= when:
                raise SignerRevokedError(
                    f"{role.value} serial {cert.serial_number:x} revoked on {entry.revocation_date_utc:%Y-%m-%d}")


def _describe(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except ValueError:
        return f"serial {cert.serial_number:x} (unparsable subject)"


def _ext_crl_number(crl: x509.CertificateRevocationList) -> int:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return 0
