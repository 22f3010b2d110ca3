"""Terminal ↔ card mutual authentication with a per-card role key, establishing an SM session.

Scheme (ISO/IEC 7816-4 §11.5.4 MUTUAL AUTHENTICATE, with the cryptogram layout of ICAO 9303-11 §4.3
BAC, carried over to AES/SM4 + CMAC):

1. GET CHALLENGE (00 84 00 00 10) → RND.ICC, 16 bytes, valid for one authentication.
2. Terminal: RND.IFD, K.IFD random (16 bytes each); S = RND.IFD || RND.ICC || K.IFD;
   E_IFD = CBC(K_aenc, IV 0, S) (48 bytes, no padding: whole blocks); M_IFD = CMAC(K_amac, E_IFD)[:8];
   MUTUAL AUTHENTICATE 00 82 00 P2 with E_IFD || M_IFD, Le 28 (P2 = 80 | key reference: DF-specific key).
3. Card checks M_IFD, decrypts, checks RND.ICC, answers E_ICC || M_ICC over R = RND.ICC || RND.IFD || K.ICC.
   A wrong terminal key fails the MAC: the card answers 63Cx (x tries left) and counts down; 6983 once blocked.
4. Terminal checks M_ICC and both nonces; session keys = kdf.session_keys(K.IFD, K.ICC, RND.ICC, RND.IFD);
   SSC starts at 0 (keys are fresh per session, TR-03110 PACE does the same).

K_aenc / K_amac = kdf.authentication_keys(per-card role key). IV 0 is safe here: S starts with a fresh
random block.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.cmac import CMAC

from cardsvc.iso7816 import commands as cmd
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.errors import ApduError
from cardsvc.iso7816.sw import SW
from cardsvc.security.errors import CardCryptogramError, TerminalKeyRejected
from cardsvc.security.kdf import KeyPair, SymmetricCipher, authentication_keys, session_keys
from cardsvc.security.sm import MAC_LENGTH, SecureMessagingProcessor, SmSession
from cardsvc.session import CardSession

log = logging.getLogger(__name__)

NONCE_LENGTH = 16
KEY_SHARE_LENGTH = 16
CRYPTOGRAM_LENGTH = 2 * NONCE_LENGTH + KEY_SHARE_LENGTH + MAC_LENGTH  # 56


def get_challenge_command() -> CommandApdu:
    return cmd.get_challenge(NONCE_LENGTH)


def _check_key_ref(key_ref: int) -> None:
    if not 1 <= key_ref <= 14:
        raise ValueError(f"key_ref: {key_ref} is outside 1..14 (compact SC byte key numbers)")


def _cbc(keys: KeyPair, cipher: SymmetricCipher, data: bytes, encrypt: bool) -> bytes:
    c = Cipher(cipher.algorithm(keys.k_enc), modes.CBC(b"\x00" * 16))
    ctx = c.encryptor() if encrypt else c.decryptor()
    return ctx.update(data) + ctx.finalize()


def _cmac(keys: KeyPair, cipher: SymmetricCipher, data: bytes) -> bytes:
    mac = CMAC(cipher.algorithm(keys.k_mac))
    mac.update(data)
    return mac.finalize()[:MAC_LENGTH]


class MutualAuthentication:
    """The terminal's half of one authentication run (one object per run: nonces are single use)."""

    def __init__(self, role_key: bytes, key_ref: int, cipher: SymmetricCipher = SymmetricCipher.AES,
                 random: Callable[[int], bytes] = os.urandom) -> None:
        _check_key_ref(key_ref)
        self._keys = authentication_keys(role_key, cipher)
        self._cipher = cipher
        self._key_ref = key_ref
        self._random = random
        self._rnd_icc = b""
        self._rnd_ifd = b""
        self._k_ifd = b""

    def command(self, rnd_icc: bytes) -> CommandApdu:
        """MUTUAL AUTHENTICATE for the card's challenge."""
        if len(rnd_icc) != NONCE_LENGTH:
            raise CardCryptogramError(f"GET CHALLENGE: card nonce of {len(rnd_icc)} bytes, expected 16")
        self._rnd_icc = rnd_icc
        self._rnd_ifd = self._random(NONCE_LENGTH)
        self._k_ifd = self._random(KEY_SHARE_LENGTH)
        e_ifd = _cbc(self._keys, self._cipher, self._rnd_ifd + rnd_icc + self._k_ifd, encrypt=True)
        data = e_ifd + _cmac(self._keys, self._cipher, e_ifd)
        return cmd.mutual_authenticate(self._key_ref, data, le=CRYPTOGRAM_LENGTH)

    def finish(self, data: bytes, sw: int) -> SmSession:
        """Check the card's answer; returns the SM session keyed from both key shares."""
        if not self._rnd_ifd:
            raise CardCryptogramError("finish() called before command()")
        if sw & 0xFFF0 == 0x63C0 or sw == SW.WARNING_NVM_CHANGED:
            raise TerminalKeyRejected(
                f"card rejected the terminal cryptogram for key {self._key_ref}: wrong key"
                f" ({sw & 0x0F if sw != SW.WARNING_NVM_CHANGED else 'unknown'} tries left)",
                retries_left=sw & 0x0F if sw & 0xFFF0 == 0x63C0 else None)
        if sw != SW.OK:
            raise ApduError.from_sw(sw, data, context="MUTUAL AUTHENTICATE")
        if len(data) != CRYPTOGRAM_LENGTH:
            raise CardCryptogramError(f"card cryptogram of {len(data)} bytes, expected {CRYPTOGRAM_LENGTH}")
        e_icc, m_icc = data[:-MAC_LENGTH], data[-MAC_LENGTH:]
        if not hmac.compare_digest(_cmac(self._keys, self._cipher, e_icc), m_icc):
            raise CardCryptogramError("card cryptogram MAC does not verify: card lacks the key")
        plain = _cbc(self._keys, self._cipher, e_icc, encrypt=False)
        rnd_icc, rnd_ifd, k_icc = plain[:16], plain[16:32], plain[32:]
        if not (hmac.compare_digest(rnd_icc, self._rnd_icc) and hmac.compare_digest(rnd_ifd, self._rnd_ifd)):
            raise CardCryptogramError("card cryptogram carries other nonces: replayed answer")
        keys = session_keys(self._k_ifd, k_icc, self._rnd_icc, self._rnd_ifd, self._cipher)
        log.debug("mutual authentication with key %d succeeded", self._key_ref)
        return SmSession(keys, self._cipher)


def authenticate(send: Callable[[bytes], tuple[bytes, int]], role_key: bytes, key_ref: int,
                 cipher: SymmetricCipher = SymmetricCipher.AES) -> SmSession:
    """GET CHALLENGE + MUTUAL AUTHENTICATE over `send` (e.g. `Connection.transmit`)."""
    rnd_icc, sw = send(get_challenge_command().encode())
    if sw != SW.OK:
        raise ApduError.from_sw(sw, rnd_icc, context="GET CHALLENGE")
    run = MutualAuthentication(role_key, key_ref, cipher)
    data, sw = send(run.command(rnd_icc).encode())
    return run.finish(data, sw)


@contextmanager
def secure_session(session: CardSession, role_key: bytes, key_ref: int,
                   cipher: SymmetricCipher = SymmetricCipher.AES) -> Iterator[SmSession]:
    """GET CHALLENGE + MUTUAL AUTHENTICATE through `session`; inside the block every command sent through
    the session goes under secure messaging. The SM layer sits below the session's Le adaptation
    (`CardSession.add_layer`), so a read the card refuses with 6700 is wrapped again with a smaller Le.
    P2 = 80 | key_ref: a key of the current application (the MF's while the MF is current).

    Raises what the authentication raises (`TerminalKeyRejected`, `CardCryptogramError`, `ApduError`)
    before the block runs. The card ends the session on any plain command, on selecting another
    application, and on an SM error; leaving the block removes the layer."""
    challenge = session.get_challenge(NONCE_LENGTH)
    run = MutualAuthentication(role_key, key_ref, cipher)
    response = session.pipeline.send(run.command(challenge))
    sm = run.finish(response.data, response.sw)
    session.add_layer(lambda inner: SecureMessagingProcessor(inner, sm, extended=session.extended))
    try:
        yield sm
    finally:
        session.remove_layer()
