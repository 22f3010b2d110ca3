"""Errors of the signed QR code: one class per way a scanned code fails, so verdicts pick by type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cardsvc.iso7816.errors import CardError

if TYPE_CHECKING:
    from cardsvc.qr.payload import QrPayload


class QrError(CardError):
    """Root of the QR code's errors."""


class QrFormatError(QrError):
    """The text is not one of our codes: prefix, base45, zlib, CBOR, COSE or a payload field is wrong."""


class QrSignatureError(QrError):
    """The signature does not verify: the code was altered (or its kid swapped)."""


class QrUntrustedSignerError(QrError):
    """The signer is unknown to the trust store, not issued by a trusted root, or not a document signer."""


class QrSignerExpiredError(QrUntrustedSignerError):
    """The document signer (or its root) certificate is outside its validity at the check time."""


class QrSignerRevokedError(QrUntrustedSignerError):
    """The document signer certificate is on the root's CRL."""


class QrRevocationUnknownError(QrUntrustedSignerError):
    """No current CRL is available, so the signer's revocation cannot be decided."""


class QrIssuerMismatchError(QrUntrustedSignerError):
    """The code names an issuing authority other than the one its signer certificate belongs to."""


class QrExpiredError(QrError):
    """The permit validity printed in the code has passed; the decoded, authentic payload is attached.

    The yearly endorsement (SMX Art.16, ZZ Art.13) extends validity on the chip only, so a counter that
    can read the chip should trust the chip's endorsement over this printed date.
    """

    def __init__(self, message: str, payload: QrPayload) -> None:
        self.payload = payload
        super().__init__(message)
