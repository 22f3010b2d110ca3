"""Published vectors (tests/vectors/*.json and standards' own examples) checked against every implementation:
the host side (cardsvc.security), the card side (applets.security) and a third computation written here
from raw block-cipher ECB only (CMAC per RFC 4493 §2.3-2.4, KDF per SP 800-108 §4.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from applets.security import primitives as card
from applets.security.mutual import card_mutual_authenticate
from applets.security.sm import CardSmSession
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.security.kdf import SymmetricCipher, diversify_key, sp800_108_cmac
from cardsvc.security.mutual_auth import MutualAuthentication

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


# --- third, independent computation: CMAC from ECB (RFC 4493) and the KDF loop ----------------------
def _ecb(cipher: str, key: bytes, block: bytes) -> bytes:
    alg = algorithms.AES(key) if cipher == "AES" else algorithms.SM4(key)
    enc = Cipher(alg, modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def _dbl(block: bytes) -> bytes:
    n = int.from_bytes(block, "big") << 1
    if n >> 128:
        n = (n & ((1 << 128) - 1)) ^ 0x87  # R_128 (RFC 4493 §2.3)
    return n.to_bytes(16, "big")


def ref_cmac(cipher: str, key: bytes, msg: bytes) -> bytes:
    k1 = _dbl(_ecb(cipher, key, bytes(16)))
    k2 = _dbl(k1)
    blocks = [msg[i : i + 16] for i in range(0, len(msg), 16)] or [b""]
    last = blocks[-1]
    if len(last) == 16 and msg:
        last = bytes(a ^ b for a, b in zip(last, k1, strict=True))
    else:
        padded = last + b"\x80" + bytes(15 - len(last))
        last = bytes(a ^ b for a, b in zip(padded, k2, strict=True))
    x = bytes(16)
    for block in [*blocks[:-1], last]:
        x = _ecb(cipher, key, bytes(a ^ b for a, b in zip(x, block, strict=True)))
    return x


def ref_kdf(cipher: str, key: bytes, label: bytes, context: bytes, length: int) -> bytes:
    out = b""
    for i in range(1, -(-length // 16) + 1):
        out += ref_cmac(cipher, key, i.to_bytes(4, "big") + label + b"\x00" + context
                        + (8 * length).to_bytes(4, "big"))
    return out[:length]


# --- standards' published examples ------------------------------------------------------------------
RFC4493_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
RFC4493_MSG = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
RFC4493 = [  # RFC 4493 §4, examples 1-4
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
]


@pytest.mark.parametrize(("length", "expected"), RFC4493)
def test_aes_cmac_rfc4493(length: int, expected: str) -> None:
    msg = RFC4493_MSG[:length]
    lib = CMAC(algorithms.AES(RFC4493_KEY))
    lib.update(msg)
    assert lib.finalize().hex() == expected
    assert card.cmac(card.CIPHER_AES, RFC4493_KEY, msg).hex() == expected
    assert ref_cmac("AES", RFC4493_KEY, msg).hex() == expected


def test_sm4_block_gbt32907_example() -> None:
    # GB/T 32907-2016 appendix A example 1: key = plaintext = 0123456789abcdeffedcba9876543210
    kp = bytes.fromhex("0123456789abcdeffedcba9876543210")
    assert _ecb("SM4", kp, kp).hex() == "681edf34d206965e86b3e94f536e4246"
    assert card.ecb_block(card.CIPHER_SM4, kp, kp).hex() == "681edf34d206965e86b3e94f536e4246"


@pytest.mark.parametrize(("msg", "expected"), [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),  # GB/T 32905 A.1
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),  # A.2
])
def test_sm3_gbt32905_examples(msg: bytes, expected: str) -> None:
    h = hashes.Hash(hashes.SM3())
    h.update(msg)
    assert h.finalize().hex() == expected


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 33, 64])
def test_sm4_cmac_matches_reference(length: int) -> None:
    key = bytes(range(16))
    msg = bytes(range(length))
    lib = CMAC(algorithms.SM4(key))
    lib.update(msg)
    assert lib.finalize() == ref_cmac("SM4", key, msg) == card.cmac(card.CIPHER_SM4, key, msg)


# --- KDF vectors -------------------------------------------------------------------------------------
KDF = load("kdf_sp800_108_cmac.json")


@pytest.mark.parametrize("case", KDF["kdf"], ids=lambda c: f"{c['cipher']}-{len(c['key']) // 2}-{c['length']}")
def test_kdf_vectors_three_ways(case: dict[str, Any]) -> None:
    key, label, context = (bytes.fromhex(case[k]) for k in ("key", "label", "context"))
    cipher = SymmetricCipher(case["cipher"])
    cid = card.CIPHER_AES if cipher is SymmetricCipher.AES else card.CIPHER_SM4
    expected = case["output"]
    assert sp800_108_cmac(key, label, context, case["length"], cipher).hex() == expected
    assert card.kdf(cid, key, label, context, case["length"]).hex() == expected
    assert ref_kdf(cipher.value, key, label, context, case["length"]).hex() == expected


@pytest.mark.parametrize("case", KDF["diversification"], ids=lambda c: f"{c['cipher']}-{c['role']}")
def test_diversification_vectors(case: dict[str, Any]) -> None:
    master = bytes.fromhex(case["master"])
    cipher = SymmetricCipher(case["cipher"])
    got = diversify_key(master, case["card_number"], case["role"], cipher)
    assert got.hex() == case["key"]
    label = b"cardsvc/div/" + case["role"].encode()
    assert ref_kdf(cipher.value, master, label, case["card_number"].encode(), 16).hex() == case["key"]


# --- SM vectors: host wraps what the card unwraps, card wraps what the host unwraps ---------------
@pytest.mark.parametrize("name", ["sm_aes.json", "sm_sm4.json"])
def test_sm_vectors_cross_checked(name: str) -> None:
    v = load(name)
    cipher = SymmetricCipher(v["cipher"])
    cid = card.CIPHER_AES if cipher is SymmetricCipher.AES else card.CIPHER_SM4
    role_key = bytes.fromhex(v["role_key"])
    rnd_icc, rnd_ifd, k_ifd, k_icc = (bytes.fromhex(v[k]) for k in ("rnd_icc", "rnd_ifd", "k_ifd", "k_icc"))
    randoms = iter((rnd_ifd, k_ifd))
    host = MutualAuthentication(role_key, v["key_ref"], cipher, random=lambda n: next(randoms))
    command = host.command(rnd_icc)
    assert command.encode().hex() == v["mutual_authenticate"]
    answer = card_mutual_authenticate(cid, role_key, rnd_icc, command.data, k_icc)
    assert answer.ok and answer.response.hex() == v["card_cryptogram"]
    assert answer.session is not None
    card_session: CardSmSession = answer.session
    host_session = host.finish(answer.response, 0x9000)
    for step in v["steps"]:
        plain = CommandApdu.parse(bytes.fromhex(step["command"]))
        protected = host_session.wrap(plain)
        assert protected.encode().hex() == step["protected_command"]
        unwrapped = card_session.unwrap_command(CommandApdu.parse(bytes.fromhex(step["protected_command"])))
        assert (unwrapped.cla, unwrapped.ins, unwrapped.p1, unwrapped.p2) == (plain.cla, plain.ins, plain.p1, plain.p2)
        assert (unwrapped.data, unwrapped.le) == (plain.data, plain.le)
        sw = int(step["sw"], 16)
        card_resp = card_session.wrap_response(bytes.fromhex(step["response_data"]), sw)
        assert (card_resp + sw.to_bytes(2, "big")).hex() == step["protected_response"]
        plain_resp = host_session.unwrap(bytes.fromhex(step["protected_response"]))
        assert plain_resp.data.hex() == step["response_data"]
        assert plain_resp.sw == sw
    assert host_session.ssc == card_session.ssc == 2 * len(v["steps"])
