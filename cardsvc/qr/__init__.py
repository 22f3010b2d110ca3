"""Signed QR code for the printed card face: CBOR payload, COSE_Sign1 ES256, zlib, base45 text.

Signature and signer failures raise the shared family of `cardsvc.security.errors`.
"""

from cardsvc.qr.codec import PREFIX, VerifiedQr, encode_qr_text, verify_qr_text
from cardsvc.qr.errors import QrError, QrFormatError
from cardsvc.qr.payload import QrPayload

__all__ = [
    "PREFIX", "QrError", "QrFormatError", "QrPayload", "VerifiedQr", "encode_qr_text",
    "verify_qr_text",
]
