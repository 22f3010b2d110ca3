"""Signed QR code for the printed card face: CBOR payload, COSE_Sign1 ES256, zlib, base45 text."""

from cardsvc.qr.codec import PREFIX, VerifiedQr, encode_qr_text, verify_qr_text
from cardsvc.qr.errors import (
    QrError,
    QrExpiredError,
    QrFormatError,
    QrIssuerMismatchError,
    QrRevocationUnknownError,
    QrSignatureError,
    QrSignerExpiredError,
    QrSignerRevokedError,
    QrUntrustedSignerError,
)
from cardsvc.qr.payload import QrPayload

__all__ = [
    "PREFIX", "QrError", "QrExpiredError", "QrFormatError", "QrIssuerMismatchError", "QrPayload",
    "QrRevocationUnknownError", "QrSignatureError", "QrSignerExpiredError", "QrSignerRevokedError",
    "QrUntrustedSignerError", "VerifiedQr", "encode_qr_text", "verify_qr_text",
]
