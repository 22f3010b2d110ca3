"""Secure messaging and mutual authentication, host side against the card-side implementation."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from applets.errors import SwError
from applets.security import primitives as card
from applets.security.mutual import card_mutual_authenticate
from applets.security.sm import CardSmSession
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.errors import AuthMethodBlocked, MalformedResponseError, SecureMessagingError
from cardsvc.security.errors import (
    CardCryptogramError,
    KeyDerivationError,
    SmFormatError,
    SmMacError,
    SmNotProtectedError,
    SmReplayError,
    SmSessionClosed,
    TerminalKeyRejected,
)
from cardsvc.security.kdf import KeyPair, SymmetricCipher, diversify_key
from cardsvc.security.mutual_auth import MutualAuthentication, authenticate
from cardsvc.security.sm import SmSession, pad, unpad

CIPHERS = [(SymmetricCipher.AES, card.CIPHER_AES), (SymmetricCipher.SM4, card.CIPHER_SM4)]


class FakeCard:
    """Just the authentication and SM layer of a card, over the card-side modules."""

    def __init__(self, cipher_id: int, role_key: bytes) -> None:
        self.cipher_id = cipher_id
        self.role_key = role_key
        self.challenge = b""
        self.session: CardSmSession | None = None
        self.tries = 3

    def transmit(self, raw: bytes) -> tuple[bytes, int]:
        cmd = CommandApdu.parse(raw)
        if cmd.ins == 0x84:
            self.challenge = os.urandom(16)
            return self.challenge, 0x9000
        if cmd.ins == 0x82:
            if self.tries == 0:
                return b"", 0x6983
            result = card_mutual_authenticate(self.cipher_id, self.role_key, self.challenge, cmd.data,
                                              os.urandom(16))
            self.challenge = b""
            if not result.ok:
                self.tries -= 1
                return b"", 0x63C0 | self.tries
            self.tries = 3
            self.session = result.session
            return result.response, 0x9000
        assert self.session is not None
        try:
            plain = self.session.unwrap_command(cmd)
        except SwError as exc:
            self.session = None
            return b"", exc.sw
        data = plain.data[::-1] if plain.ins == 0xEE else b""  # echo command: reversed data back
        return self.session.wrap_response(data, 0x9000), 0x9000


@pytest.fixture(params=CIPHERS, ids=["AES", "SM4"])
def pair(request: pytest.FixtureRequest) -> tuple[SmSession, FakeCard]:
    cipher, cid = request.param
    key = diversify_key(os.urandom(16), "4112020000000001", "counter", cipher)
    fake = FakeCard(cid, key)
    return authenticate(fake.transmit, key, 3, cipher), fake


def test_round_trip_under_sm(pair: tuple[SmSession, FakeCard]) -> None:
    session, fake = pair
    for n in (0, 1, 15, 16, 17, 255, 300, 4000):
        data = os.urandom(n)
        resp = session.transmit(fake.transmit, CommandApdu(0x00, 0xEE, 0, 0, data, le=65536 if n > 200 else 256))
        assert resp.data == data[::-1] and resp.sw == 0x9000
    assert session.ssc == 16


def _exchange(session: SmSession, fake: FakeCard, data: bytes) -> bytes:
    protected = session.wrap(CommandApdu(0x00, 0xEE, 0, 0, data, le=256))
    rdata, sw = fake.transmit(protected.encode())
    return rdata + sw.to_bytes(2, "big")


def test_replayed_response_is_detected(pair: tuple[SmSession, FakeCard]) -> None:
    session, fake = pair
    first = _exchange(session, fake, b"one")
    assert session.unwrap(first).data == b"eno"
    _exchange(session, fake, b"two")  # the real answer is withheld by an attacker ...
    with pytest.raises(SmReplayError, match="replayed or reordered"):
        session.unwrap(first)  # ... who replays the earlier one
    with pytest.raises(SmSessionClosed):
        session.wrap(CommandApdu(0x00, 0xEE, 0, 0, b"x"))


def test_reordered_responses_are_detected(pair: tuple[SmSession, FakeCard]) -> None:
    session, fake = pair
    # A man in the middle holds back the answer to command 1 and delivers it after command 2.
    held = _exchange(session, fake, b"first")
    _exchange(session, fake, b"second")
    with pytest.raises(SmReplayError):
        session.unwrap(held)


def test_altered_response_is_a_mac_error(pair: tuple[SmSession, FakeCard]) -> None:
    session, fake = pair
    raw = bytearray(_exchange(session, fake, b"payload bytes"))
    raw[5] ^= 0x01
    with pytest.raises((SmMacError, SmFormatError)):
        session.unwrap(bytes(raw))


@pytest.mark.parametrize("position", range(35))
def test_every_altered_response_byte_is_rejected(position: int) -> None:
    cipher, cid = CIPHERS[0]
    key = os.urandom(16)
    fake = FakeCard(cid, key)
    session = authenticate(fake.transmit, key, 1, cipher)
    raw = bytearray(_exchange(session, fake, b"0123456789"))
    assert len(raw) == 19 + 4 + 10 + 2  # 87 11 01 +16 | 99 02 SW | 8E 08 MAC | SW: every byte is tested
    raw[position] ^= 0x40
    with pytest.raises((SmMacError, SmFormatError, SmNotProtectedError, MalformedResponseError)):
        session.unwrap(bytes(raw))


def test_card_rejects_replayed_command(pair: tuple[SmSession, FakeCard]) -> None:
    session, fake = pair
    protected = session.wrap(CommandApdu(0x00, 0xEE, 0, 0, b"pay once", le=256)).encode()
    data, sw = fake.transmit(protected)
    session.unwrap(data + sw.to_bytes(2, "big"))
    data, sw = fake.transmit(protected)  # same command again: the card's SSC moved on
    assert sw == 0x6988 and data == b""
    with pytest.raises(SecureMessagingError):
        session.unwrap(data + sw.to_bytes(2, "big"))


def test_unprotected_response_is_refused(pair: tuple[SmSession, FakeCard]) -> None:
    session, _ = pair
    session.wrap(CommandApdu(0x00, 0xB0, 0, 0, le=16))
    with pytest.raises(SmNotProtectedError):
        session.unwrap(b"\x90\x00")


def test_response_with_wrong_do_order_is_a_format_error(pair: tuple[SmSession, FakeCard]) -> None:
    session, _ = pair
    session.wrap(CommandApdu(0x00, 0xB0, 0, 0, le=16))
    with pytest.raises(SmFormatError, match="87\\] 99 8E"):
        session.unwrap(bytes.fromhex("8E080102030405060708990290009000"))


def test_wrong_terminal_key_is_rejected_and_blocks(pair: tuple[SmSession, FakeCard]) -> None:
    _, fake = pair
    cipher = SymmetricCipher.AES if fake.cipher_id == card.CIPHER_AES else SymmetricCipher.SM4
    wrong = os.urandom(16)
    for left in (2, 1, 0):
        with pytest.raises(TerminalKeyRejected) as info:
            authenticate(fake.transmit, wrong, 3, cipher)
        assert info.value.retries_left == left
    with pytest.raises(AuthMethodBlocked):
        authenticate(fake.transmit, fake.role_key, 3, cipher)


def test_card_without_the_key_fails_card_cryptogram() -> None:
    run = MutualAuthentication(os.urandom(16), 2)
    run.command(os.urandom(16))
    with pytest.raises(CardCryptogramError, match="lacks the key"):
        run.finish(os.urandom(56), 0x9000)
    with pytest.raises(CardCryptogramError, match="56"):
        run.finish(os.urandom(10), 0x9000)


def test_card_answer_with_swapped_nonces_is_rejected() -> None:
    key = os.urandom(16)
    rnd_icc = os.urandom(16)
    run = MutualAuthentication(key, 2)
    cmd = run.command(rnd_icc)
    # A recorded card answer to another run (different RND.IFD) verifies its MAC but not its nonces.
    other = MutualAuthentication(key, 2)
    other_cmd = other.command(rnd_icc)
    answer = card_mutual_authenticate(card.CIPHER_AES, key, rnd_icc, other_cmd.data, os.urandom(16))
    assert cmd.data != other_cmd.data
    with pytest.raises(CardCryptogramError, match="other nonces"):
        run.finish(answer.response, 0x9000)


def test_card_refuses_cryptogram_for_another_challenge() -> None:
    key = os.urandom(16)
    cmd = MutualAuthentication(key, 2).command(os.urandom(16))
    result = card_mutual_authenticate(card.CIPHER_AES, key, os.urandom(16), cmd.data, os.urandom(16))
    assert not result.ok and "another challenge" in result.reason


@given(st.binary(max_size=80))
@settings(max_examples=200)
def test_padding_round_trip_and_card_agrees(data: bytes) -> None:
    padded = pad(data)
    assert len(padded) % 16 == 0 and padded == card.pad_m2(data)
    assert unpad(padded) == data == card.unpad_m2(padded)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 16, b"\x80" + b"\x00" * 14, b"abc" + b"\x00" * 13,
                                 b"\x80" + b"\x00" * 31])
def test_bad_padding_is_refused_by_both_sides(bad: bytes) -> None:
    with pytest.raises(SmFormatError):
        unpad(bad)
    assert card.unpad_m2(bad) is None


def test_sm_wrap_refuses_proprietary_or_already_protected_cla() -> None:
    session = SmSession(KeyPair(os.urandom(16), os.urandom(16)), SymmetricCipher.AES)
    for cla in (0x8C, 0x0C, 0x80):
        with pytest.raises(SmFormatError, match=f"CLA {cla:02X}"):
            session.wrap(CommandApdu(cla, 0xB0, 0, 0))
    assert session.ssc == 0


def test_key_derivation_refuses_bad_input() -> None:
    with pytest.raises(KeyDerivationError, match="card_number"):
        diversify_key(bytes(16), "41-12", "issuer")
    with pytest.raises(KeyDerivationError, match="role"):
        diversify_key(bytes(16), "4112", "Issuer!")
    with pytest.raises(KeyDerivationError, match="SM4 needs"):
        diversify_key(bytes(32), "4112", "issuer", SymmetricCipher.SM4)
    assert diversify_key(bytes(16), "4112", "issuer") != diversify_key(bytes(16), "4113", "issuer")
    assert diversify_key(bytes(16), "4112", "issuer") != diversify_key(bytes(16), "4112", "counter")


def test_keys_are_not_printed() -> None:
    pair = KeyPair(b"\x11" * 16, b"\x22" * 16)
    assert "11" not in repr(pair) and "22" not in repr(pair)
