"""Key derivation: NIST SP 800-108r1 KDF in counter mode with CMAC as the PRF.

One function (`sp800_108_cmac`) does the derivation through cryptography's `KBKDFCMAC`; everything
else fixes its label and context so every key on a card has one documented origin:

    per-card role key   K_role  = KDF(master[role], label "cardsvc/div/<role>", context card number)
    authentication keys K_aenc  = KDF(K_role, "cardsvc/auth-enc", b""),  K_amac likewise "auth-mac"
    session keys        K_enc   = KDF(K.IFD xor K.ICC, "cardsvc/sm-enc", RND.ICC || RND.IFD),
                        K_mac   = KDF(K.IFD xor K.ICC, "cardsvc/sm-mac", RND.ICC || RND.IFD)

The fixed input is the SP 800-108 §4 layout: [i]_32 || Label || 0x00 || Context || [L]_32, counter
first (CounterLocation.BeforeFixed). AES-CMAC (SP 800-38B) by default; SM4-CMAC when SM4 is selected
(GB/T 32907 block cipher in the same CMAC construction). Output length equals the input key length.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, algorithms
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFCMAC, CounterLocation, Mode

from cardsvc.security.errors import KeyDerivationError

BLOCK_SIZE = 16  # AES and SM4 both have 128-bit blocks


class SymmetricCipher(enum.Enum):
    """The block cipher behind CMAC, the KDF and secure messaging."""

    AES = "AES"
    SM4 = "SM4"

    @property
    def key_lengths(self) -> tuple[int, ...]:
        return (16, 24, 32) if self is SymmetricCipher.AES else (16,)

    def algorithm_class(self) -> type[BlockCipherAlgorithm]:
        return algorithms.AES if self is SymmetricCipher.AES else algorithms.SM4

    def algorithm(self, key: bytes) -> BlockCipherAlgorithm:
        self.check_key(key, "key")
        return algorithms.AES(key) if self is SymmetricCipher.AES else algorithms.SM4(key)

    def check_key(self, key: bytes, field: str) -> None:
        if len(key) not in self.key_lengths:
            raise KeyDerivationError(
                f"{field}: {len(key)}-byte key, {self.value} needs one of {self.key_lengths} bytes")


class KeyRole(enum.StrEnum):
    """Well-known key roles (one key set each, issue 4 §4); layouts may name further department keys."""

    ISSUER = "issuer"            # personalization at the printing station
    ENDORSEMENT = "endorsement"  # yearly endorsement / address change (SMX Art.16-17, ZZ Art.13-14)
    COUNTER = "counter"          # counter terminal: reads the machine-readable EF
    EDUCATION = "dept-education"  # ZZ Art.6/9/20/24: one ADF and key per department
    CIVIL_AFFAIRS = "dept-civil-affairs"
    FAMILY_PLANNING = "dept-family-planning"
    HEALTH = "dept-health"
    HOUSING = "dept-housing"
    POLICE = "dept-police"


_ROLE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
_ROLE_PART = re.compile(r"[^a-z0-9]+")


def key_store_role(layout_role: str) -> str:
    """The key role of a layout key's role: "issuer" / "endorsement" / "counter" stay;
    "department:civil_affairs" → "dept-civil-affairs" (the station and the counter derive with it)."""
    if layout_role.startswith("department:"):
        return "dept-" + _ROLE_PART.sub("-", layout_role.removeprefix("department:")).strip("-")
    return layout_role
_CARD_NUMBER_RE = re.compile(r"^[0-9A-Z]{1,32}$")


def sp800_108_cmac(key: bytes, label: bytes, context: bytes, length: int,
                   cipher: SymmetricCipher = SymmetricCipher.AES) -> bytes:
    """SP 800-108 counter-mode KDF with CMAC; r = 32-bit counter, L encoded in 32 bits."""
    cipher.check_key(key, "key derivation key")
    if not 1 <= length <= 1024:
        raise KeyDerivationError(f"length: {length} bytes is outside 1..1024")
    if b"\x00" in label:
        raise KeyDerivationError("label: must not contain 00 (it separates label from context)")
    kdf = KBKDFCMAC(
        algorithm=cipher.algorithm_class(),
        mode=Mode.CounterMode,
        length=length,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=label,
        context=context,
        fixed=None,
    )
    return kdf.derive(key)


def check_card_number(card_number: str) -> bytes:
    """Card numbers are 1-32 characters of 0-9/A-Z; returned as the ASCII bytes used as KDF context."""
    if not _CARD_NUMBER_RE.fullmatch(card_number):
        raise KeyDerivationError(
            f"card_number: {card_number!r} is not 1-32 characters of digits and upper-case letters")
    return card_number.encode("ascii")


def diversification_input(role: str, card_number: str) -> tuple[bytes, bytes]:
    """(label, context) of a per-card role key; shared with key stores that derive inside."""
    if not _ROLE_RE.fullmatch(role):
        raise KeyDerivationError(f"role: {role!r} is not 1-48 characters of a-z, 0-9 and '-'")
    return b"cardsvc/div/" + role.encode("ascii"), check_card_number(card_number)


def diversify_key(master_key: bytes, card_number: str, role: str,
                  cipher: SymmetricCipher = SymmetricCipher.AES) -> bytes:
    """The per-card key of one role, from that role's master key and the card number."""
    label, context = diversification_input(role, card_number)
    return sp800_108_cmac(master_key, label, context, len(master_key), cipher)


@dataclass(frozen=True, slots=True, repr=False)
class KeyPair:
    """An encryption key and a MAC key (for authentication cryptograms or an SM session)."""

    k_enc: bytes
    k_mac: bytes

    def __repr__(self) -> str:  # never print key material
        return f"KeyPair(<{len(self.k_enc)}-byte enc>, <{len(self.k_mac)}-byte mac>)"


def authentication_keys(role_key: bytes, cipher: SymmetricCipher = SymmetricCipher.AES) -> KeyPair:
    """Keys protecting the MUTUAL AUTHENTICATE cryptograms, derived from the per-card role key."""
    n = len(role_key)
    return KeyPair(sp800_108_cmac(role_key, b"cardsvc/auth-enc", b"", n, cipher),
                   sp800_108_cmac(role_key, b"cardsvc/auth-mac", b"", n, cipher))


def session_keys(k_ifd: bytes, k_icc: bytes, rnd_icc: bytes, rnd_ifd: bytes,
                 cipher: SymmetricCipher = SymmetricCipher.AES) -> KeyPair:
    """SM session keys from both sides' key shares and both nonces (fresh per session)."""
    if len(k_ifd) != len(k_icc):
        raise KeyDerivationError(f"key shares differ in length ({len(k_ifd)} vs {len(k_icc)})")
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_icc, strict=True))
    context = rnd_icc + rnd_ifd
    return KeyPair(sp800_108_cmac(seed, b"cardsvc/sm-enc", context, len(seed), cipher),
                   sp800_108_cmac(seed, b"cardsvc/sm-mac", context, len(seed), cipher))
