"""QR text: "JZ1:" + base45(zlib(COSE_Sign1(CBOR payload))), the EU digital COVID certificate's recipe.

Base45 (RFC 9285) uses exactly the 45 characters of the QR alphanumeric mode (ISO/IEC 18004 §7.4.4), so
the whole text, prefix included, is encoded at 5.5 bits per character, and it is plain text that a phone
or a keyboard-wedge scanner passes on unchanged. Signed by the issuing authority's document signer; a
verifier needs only the trust store it already has for EF.SOD (roots, signer certificates, CRL).
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from dataclasses import dataclass

import base45
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.qr.cose import strict_loads
from cardsvc.qr.errors import QrFormatError
from cardsvc.qr.payload import QrPayload
from cardsvc.qr.signed import open_signed, sign_with_certificate, signer_kid
from cardsvc.security.errors import IssuerMismatchError
from cardsvc.security.pki import SignerRole, TrustStore, authority_code
from cardsvc.security.suite import PrivateKey

log = logging.getLogger(__name__)

PREFIX = "JZ1:"  # 居住证, format version 1; upper case and ':' stay in the alphanumeric set
MAX_TEXT_CHARS = 1000  # far above any real code; bounds the work done on hostile input
_MAX_INFLATED = 2048  # a payload is ~200 bytes; refuse zlib bombs
_CHINA = dt.timezone(dt.timedelta(hours=8), "CST")  # permit dates are calendar dates in UTC+8


@dataclass(frozen=True, slots=True)
class VerifiedQr:
    """An authentic code: identity and print-time data (issue 12 QR semantics).

    `printed_expired` reports the validity as printed (the valid-until day is the first day without
    validity, as on the chip). It is not the permit's validity: yearly endorsements (SMX Art.16, ZZ Art.13)
    extend that on the chip and in the registry only, so validity and status come from the status list or
    the online registry (`cardsvc.qr.semantics`), never from the face alone."""

    payload: QrPayload
    signer_kid: bytes
    signer_authority: str  # GB/T 2260 code from the signer certificate
    printed_expired: bool = False


def encode_qr_text(payload: QrPayload, key: PrivateKey | ec.EllipticCurvePrivateKey,
                   signer_cert: x509.Certificate) -> str:
    """The text to put into the face's QR code (alphanumeric mode), signed by the document signer."""
    if authority_code(signer_cert) != payload.authority_code:
        raise IssuerMismatchError(
            f"signer certificate belongs to authority {authority_code(signer_cert)}, "
            f"the payload names {payload.authority_code}")
    signed = sign_with_certificate(payload.to_cbor(), key, signer_cert)
    encoded: bytes = base45.b45encode(zlib.compress(signed, 9))
    text = PREFIX + encoded.decode("ascii")
    log.debug("QR text for card %s: %d characters", payload.card_number, len(text))
    return text


def _unwrap(text: str) -> bytes:
    """Prefix, base45 and zlib layers off; returns the COSE_Sign1 bytes."""
    if not isinstance(text, str):
        raise QrFormatError(f"qr text: must be a str, got {type(text).__name__}")
    # Keyboard-wedge scanners end a scan with CR and/or LF.
    text = text.rstrip("\r\n")
    if len(text) > MAX_TEXT_CHARS:
        raise QrFormatError(f"qr text: {len(text)} characters exceeds {MAX_TEXT_CHARS}")
    if not text.startswith(PREFIX):
        raise QrFormatError(f"qr text: must start with {PREFIX!r}, got {text[:len(PREFIX)]!r}")
    try:
        compressed: bytes = base45.b45decode(text[len(PREFIX):])
    except ValueError as exc:
        raise QrFormatError("qr text: not valid base45 (RFC 9285) after the prefix") from exc
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, _MAX_INFLATED)
    except zlib.error as exc:
        raise QrFormatError(f"qr text: not valid zlib data ({exc})") from exc
    if inflater.unconsumed_tail:
        raise QrFormatError(f"qr text: inflates beyond {_MAX_INFLATED} bytes")
    if not inflater.eof or inflater.unused_data:
        raise QrFormatError("qr text: zlib stream truncated or followed by extra bytes")
    return raw


def verify_qr_text(text: str, trust: TrustStore, now: dt.datetime) -> VerifiedQr:
    """Check a scanned code offline: format, signature, signer trust at `now`, authority.

    Raises the signed-data family of `cardsvc.security.errors` as it comes: `SignedFormatError`
    (`QrFormatError` for the text layers and payload fields, `CoseFormatError` for COSE and CBOR),
    `SignatureInvalidError`, the `PkiError` signer classes (unknown, untrusted, unfit, expired, revoked,
    no current CRL), `IssuerMismatchError` for another authority's signer. A printed validity that has
    passed is reported (`printed_expired`), not raised: an endorsed permit is valid beyond it.
    """
    if now.tzinfo is None:
        raise QrFormatError("now: must be timezone-aware")
    raw = _unwrap(text)
    opened = open_signed(raw, trust, SignerRole.DOCUMENT, now)
    payload = QrPayload.from_cbor_value(strict_loads(opened.payload, "qr payload"))
    signer_code = authority_code(opened.signer)
    if signer_code != payload.authority_code:
        raise IssuerMismatchError(
            f"code names authority {payload.authority_code}, signed by authority {signer_code}'s signer")
    today = now.astimezone(_CHINA).date()
    return VerifiedQr(payload, signer_kid(opened.signer), signer_code, printed_expired=today >= payload.valid_until)

