"""Card side of MUTUAL AUTHENTICATE (scheme documented in cardsvc/security/mutual_auth.py).

In:  E_IFD || M_IFD,  E_IFD = CBC(K_aenc, 0, RND.IFD || RND.ICC || K.IFD), M_IFD = CMAC(K_amac, E_IFD)[:8]
Out: E_ICC || M_ICC over RND.ICC || RND.IFD || K.ICC; session keys from K.IFD xor K.ICC and both nonces.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from applets.security.primitives import auth_keys, cbc, cmac, sm_keys
from applets.security.sm import MAC_LEN, CardSmSession

NONCE = 16
SHARE = 16
CRYPTOGRAM = 2 * NONCE + SHARE + MAC_LEN


@dataclass(frozen=True, slots=True)
class AuthResult:
    ok: bool
    reason: str = ""
    response: bytes = b""
    session: CardSmSession | None = None


def card_mutual_authenticate(cipher_id: int, role_key: bytes, rnd_icc: bytes, data: bytes,
                             k_icc: bytes) -> AuthResult:
    """Check the terminal's cryptogram against our challenge; answer and key the session."""
    if len(data) != CRYPTOGRAM:
        return AuthResult(False, f"cryptogram of {len(data)} bytes, expected {CRYPTOGRAM}")
    k_aenc, k_amac = auth_keys(cipher_id, role_key)
    e_ifd, m_ifd = data[:-MAC_LEN], data[-MAC_LEN:]
    if not hmac.compare_digest(cmac(cipher_id, k_amac, e_ifd)[:MAC_LEN], m_ifd):
        return AuthResult(False, "terminal cryptogram MAC does not verify (wrong key)")
    plain = cbc(cipher_id, k_aenc, b"\x00" * 16, e_ifd, encrypt=False)
    rnd_ifd, echoed, k_ifd = plain[:NONCE], plain[NONCE : 2 * NONCE], plain[2 * NONCE :]
    if not hmac.compare_digest(echoed, rnd_icc):
        return AuthResult(False, "terminal cryptogram is for another challenge")
    e_icc = cbc(cipher_id, k_aenc, b"\x00" * 16, rnd_icc + rnd_ifd + k_icc, encrypt=True)
    response = e_icc + cmac(cipher_id, k_amac, e_icc)[:MAC_LEN]
    k_enc, k_mac = sm_keys(cipher_id, k_ifd, k_icc, rnd_icc, rnd_ifd)
    return AuthResult(True, "", response, CardSmSession(cipher_id, k_enc, k_mac))
