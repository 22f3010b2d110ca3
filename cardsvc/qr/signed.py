"""Sign and open COSE_Sign1 documents with the issuer PKI (the QR code and the status list use this).

The COSE `kid` is the signer certificate's subject key identifier (RFC 5280 §4.2.1.2): the same key the
trust store (`cardsvc.security.pki.TrustStore.find_signer`) indexes signers by, so a verifier needs
nothing beyond the trust store it already holds for EF.SOD. Whether the signer is trusted, expired or
revoked is decided by `TrustStore.check_signer` alone; callers translate its errors into their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.qr.cose import CoseError, parse_sign1, sign1, verify_sign1
from cardsvc.security.errors import SignerProfileError
from cardsvc.security.pki import SignerRole, TrustStore, certificate_spki
from cardsvc.security.suite import PrivateKey, as_private_key


def signer_kid(cert: x509.Certificate) -> bytes:
    """The COSE kid for a signer certificate: its subject key identifier."""
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        raise SignerProfileError("signer certificate has no subject key identifier (needed as COSE kid)") from None


def sign_with_certificate(payload: bytes, key: PrivateKey | ec.EllipticCurvePrivateKey,
                          cert: x509.Certificate) -> bytes:
    """COSE_Sign1 over `payload` by `key`, identified by `cert`; refuses a key that is not the cert's."""
    try:  # the same key is the same SubjectPublicKeyInfo
        matches = as_private_key(key).public_key().spki() == certificate_spki(cert)
    except ValueError:
        matches = False
    if not matches:
        raise CoseError("signing key: does not belong to the given signer certificate")
    return sign1(payload, key, signer_kid(cert))


@dataclass(frozen=True, slots=True)
class Opened:
    payload: bytes
    signer: x509.Certificate


def open_signed(data: bytes, trust: TrustStore, role: SignerRole, at: dt.datetime) -> Opened:
    """Parse, find the signer by kid, verify the signature, then check the signer at `at`.

    Raises `CoseFormatError`, `UnknownSignerError` (kid not in the trust store), `CoseSignatureError`,
    or the trust store's `PkiError` subclasses (untrusted root, profile, expired, revoked, no current CRL).
    """
    message = parse_sign1(data)
    cert = trust.find_signer(message.kid)
    verify_sign1(message, trust.public_key(cert))  # SM2: the trust store's (layouts') signer ID
    trust.check_signer(cert, role, at)
    return Opened(message.payload, cert)
