"""Golden vectors of the national algorithms, from the standards' own worked examples.

- SM3: GB/T 32905-2016 Annex A, examples 1 ("abc") and 2 ("abcd" × 16).
- SM4: GB/T 32907-2016 Annex A, example 1 (one block, key = plaintext).
- SM2: GB/T 32918.2-2016 Annex A.2, the signature example on the standard's 256-bit test curve
  (not sm2p256v1): our `z_value` must give its Z_A, and the example's (r, s) must satisfy the
  verification equation of §7.1 with e = SM3(Z_A || M). No SM2 library takes a custom curve, so the
  group arithmetic here is a few lines of textbook affine formulas, used by this test only.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from cardsvc.security import sm2
from cardsvc.security.suite import GM, raw_signature

SM3_VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]


@pytest.mark.parametrize(("message", "digest"), SM3_VECTORS)
def test_sm3_gbt32905_examples(message: bytes, digest: str) -> None:
    assert GM.hash(message).hex() == digest


def test_sm4_gbt32907_example_1() -> None:
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


# GB/T 32918.2-2016 Annex A.2 (also GM/T 0003.2-2012 Annex A.2): curve, key, message, ID, Z_A, e, (r, s).
ANNEX_A = sm2.Curve(
    p=0x8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3,
    a=0x787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498,
    b=0x63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A,
    gx=0x421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D,
    gy=0x0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2,
    n=0x8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7,
)
D_A = 0x128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263
X_A = 0x0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A
Y_A = 0x7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857
ID_A = b"ALICE123@YAHOO.COM"
MESSAGE = b"message digest"
Z_A = "f4a38489e32b45b6f876e3ac2168ca392362dc8f23459c1d1146fc3dbfb7bc9a"
E = "b524f552cd82b8b028476e005c377fb19a87e6fc682d48bb5d42e3d9b9effe76"
R = 0x40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1
S = 0x6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7

Point = tuple[int, int] | None


def _add(c: sm2.Curve, p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % c.p == 0:
        return None
    slope = (3 * x1 * x1 + c.a, 2 * y1) if p1 == p2 else (y2 - y1, x2 - x1)
    lam = slope[0] * pow(slope[1], -1, c.p) % c.p
    x3 = (lam * lam - x1 - x2) % c.p
    return x3, (lam * (x1 - x3) - y1) % c.p


def _mul(c: sm2.Curve, k: int, p: Point) -> Point:
    out: Point = None
    while k:
        if k & 1:
            out = _add(c, out, p)
        p = _add(c, p, p)
        k >>= 1
    return out


def test_sm2_annex_a_public_key_and_z() -> None:
    assert _mul(ANNEX_A, D_A, (ANNEX_A.gx, ANNEX_A.gy)) == (X_A, Y_A)
    point = b"\x04" + X_A.to_bytes(32, "big") + Y_A.to_bytes(32, "big")
    z = sm2.z_value(point, ID_A, ANNEX_A)
    assert z.hex() == Z_A
    assert GM.hash(z + MESSAGE).hex() == E


def test_sm2_annex_a_signature_verifies() -> None:
    """GB/T 32918.2 §7.1 B5-B7: t = r + s, (x1, y1) = s·G + t·P_A, R = e + x1 must equal r."""
    c = ANNEX_A
    e = int(E, 16)
    t = (R + S) % c.n
    x1_y1 = _add(c, _mul(c, S, (c.gx, c.gy)), _mul(c, t, (X_A, Y_A)))
    assert x1_y1 is not None
    assert (e + x1_y1[0]) % c.n == R
    assert (e + x1_y1[0] + 1) % c.n != R  # the check can fail: a different e gives another R


def test_z_value_matches_the_library_on_sm2p256v1() -> None:
    """Our e = SM3(Z || M) fed to the library's digest signing is what its whole-message signing does."""
    from gmalglib.core import SM2

    key = sm2.Sm2PrivateKey.generate(sm2.DEFAULT_DISTID)
    raw = raw_signature(key.sign(b"message digest"))
    assert SM2(pk=key.public_key().point(), uid=sm2.DEFAULT_DISTID).verify(b"message digest", raw)
    assert not SM2(pk=key.public_key().point(), uid=b"another id").verify(b"message digest", raw)
