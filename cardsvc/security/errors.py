"""Exceptions of the security package: one class per way a card, signer or key can fail a check.

Every class derives from `CardError` (design §8), and each failure the issue lists (tampered EF, clone,
wrong/expired/revoked signer, bad endorsement, wrong terminal key, replayed SM response) has its own
class, so verdicts are chosen by type, never by parsing messages.

The signature/trust family is shared by every signed object: EF.SOD, endorsement records, COSE_Sign1
(the QR code and the status list). A failure has one class per meaning whatever the object
(`SignedFormatError`, `SignatureInvalidError`, the `PkiError` signer classes, `IssuerMismatchError`), so
no caller translates one into another; an object-specific class (e.g. `SodSignatureError`) derives from
the meaning it has. A new suite (e.g. SM2 signatures) raises these same classes.
"""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError


class SecurityError(CardError):
    """Root of the security package's errors."""


# --- signed data: the family shared by EF.SOD, endorsements, COSE (QR code, status list) -----------
class SignedDataError(SecurityError):
    """A signed object fails its check: malformed, signature invalid, or signer not trusted."""


class SignedFormatError(SignedDataError):
    """The signed object is not well formed (names the part and the reason)."""


class SignatureInvalidError(SignedDataError):
    """The signature does not verify: the data was altered, or signed by another key."""


# --- key store -----------------------------------------------------------------------------------
class KeyStoreError(SecurityError):
    """The key store cannot do what was asked."""


class KeyStorePassphraseMissing(KeyStoreError):
    """The passphrase environment variable is unset or empty."""


class KeyNotFound(KeyStoreError):
    """No key, certificate, CRL or secret under that name."""


class KeyExists(KeyStoreError):
    """An object of that name is already stored; ceremonies never overwrite silently."""


class KeyStoreDecryptError(KeyStoreError):
    """A stored object does not decrypt under the passphrase (wrong passphrase or damaged file)."""


# --- issuer PKI ----------------------------------------------------------------------------------
class PkiError(SignedDataError):
    """A certificate or CRL fails the trust check: the signer of a signed object is not trusted."""


class UntrustedSignerError(PkiError):
    """The signer certificate was not issued by a trusted root (or its signature does not verify)."""


class SignerExpiredError(PkiError):
    """The signer (or root) certificate is outside its validity period at the check time."""


class SignerRevokedError(PkiError):
    """The signer certificate is listed on the root's CRL."""


class SignerProfileError(PkiError):
    """The certificate is not fit for the role: key usage, extended key usage or basic constraints."""


class CrlError(PkiError):
    """No current CRL signed by the root is available, so revocation cannot be decided."""


class UnknownSignerError(PkiError):
    """A signature names a signer key identifier that no known certificate has."""


class IssuerMismatchError(PkiError):
    """The signer belongs to another authority than the signed data names (or lies outside its region)."""


# --- signed security object -----------------------------------------------------------------------
class SodError(SecurityError):
    """The security object (EF.SOD) fails verification."""


class SodFormatError(SodError, SignedFormatError):
    """EF.SOD is not a well-formed CMS SignedData carrying our security object."""


class SodSignatureError(SodError, SignatureInvalidError):
    """The SignedData signature or message digest does not verify."""


class EfHashMismatch(SodError):
    """An EF's bytes do not hash to the value signed in EF.SOD: the file was altered."""

    def __init__(self, fid: int) -> None:
        self.fid = fid
        super().__init__(f"EF {fid:04X}: hash does not match the security object (file altered)")


class EfCoverageError(SodError):
    """An EF listed in EF.SOD was not supplied, or a supplied EF is not covered by EF.SOD."""

    def __init__(self, fid: int, reason: str) -> None:
        self.fid = fid
        super().__init__(f"EF {fid:04X}: {reason}")


# --- chip authentication --------------------------------------------------------------------------
class ChipAuthError(SecurityError):
    """Chip authentication (anti-clone) fails."""


class ChipKeyFormatError(ChipAuthError):
    """EF.CHIPKEY or a generated public key is not a P-256 public key in the expected encoding."""


class ChipAuthenticationFailed(ChipAuthError):
    """The chip's signature over the challenge does not verify: the chip lacks the key (a clone)."""


# --- endorsements ---------------------------------------------------------------------------------
class EndorsementError(SecurityError):
    """An endorsement record fails verification."""


class EndorsementFormatError(EndorsementError, SignedFormatError):
    """An endorsement record is not well formed."""


class EndorsementSignatureError(EndorsementError, SignatureInvalidError):
    """The endorsing authority's signature over the record does not verify."""


class EndorsementBindingError(EndorsementError):
    """The record is signed for another card or another record position (copied or reordered)."""


# --- symmetric keys, authentication, secure messaging ----------------------------------------------
class KeyDerivationError(SecurityError):
    """Key diversification input is not acceptable (key length, card number, label)."""


class AuthenticationError(SecurityError):
    """Mutual authentication between terminal and card fails."""


class TerminalKeyRejected(AuthenticationError):
    """The card rejected the terminal's cryptogram: the terminal holds the wrong key for this card."""

    def __init__(self, message: str, retries_left: int | None = None) -> None:
        self.retries_left = retries_left
        super().__init__(message)


class CardCryptogramError(AuthenticationError):
    """The card's answer to mutual authentication does not verify: card lacks the key or answer altered."""


class SmError(SecurityError):
    """Secure messaging fails (ISO 7816-4 §10)."""


class SmFormatError(SmError):
    """An SM data object is missing, duplicated, out of order or malformed."""


class SmMacError(SmError):
    """The cryptographic checksum (DO 8E) does not verify: the message was altered."""


class SmReplayError(SmError):
    """The MAC verifies only under an earlier send sequence counter: a replayed or reordered message."""


class SmNotProtectedError(SmError):
    """A response arrived without SM protection while a session was active."""


class SmSessionClosed(SmError):
    """The SM session was ended by an earlier failure; a new authentication is needed."""
