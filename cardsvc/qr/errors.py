"""Errors of the signed QR code's own layers (text, compression, payload fields, printed validity).

Signature and signer failures are the shared family of `cardsvc.security.errors` (`SignatureInvalidError`,
the `PkiError` signer classes, `IssuerMismatchError`), raised as they are: a verdict picks by type, and a
code signed by a revoked signer fails the same way an EF.SOD does.
"""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError
from cardsvc.security.errors import SignedFormatError


class QrError(CardError):
    """Root of the QR code's own errors."""


class QrFormatError(QrError, SignedFormatError):
    """The text is not one of our codes: prefix, base45, zlib, CBOR or a payload field is wrong."""
