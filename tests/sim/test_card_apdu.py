"""APDU-level behaviour of the virtual card: malformed input, fuzzing, chaining, extended length,
GET RESPONSE, the extension table and the secure-messaging hook."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from applets import ChannelState, Context, Reply, SwError
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.atr import Atr
from cardsvc.iso7816.fcp import ALWAYS, AccessCondition, EfOp, Fcp, FileStructure
from cardsvc.iso7816.fcp import SecurityAttributes as SA
from cardsvc.iso7816.sw import SW
from simulator import VirtualCard
from tests.card_support import grant

BIG = 20_000


def tx(card: VirtualCard, raw: bytes | str) -> tuple[bytes, int]:
    resp = card.process(bytes.fromhex(raw) if isinstance(raw, str) else raw)
    assert len(resp) >= 2
    return resp[:-2], int.from_bytes(resp[-2:], "big")


def fresh_card(size: int = BIG, rule: SA | None = None) -> VirtualCard:
    card = VirtualCard.blank(None)  # a plain, ACTIVATED MF: the EF's rules bind at once
    card.power_on()
    fcp = Fcp(0x0E01, FileStructure.TRANSPARENT, size=size, sfi=1,
              security=rule or SA({EfOp.READ: ALWAYS, EfOp.UPDATE: ALWAYS}))
    assert tx(card, CommandApdu(0, 0xE0, 0, 0, fcp.encode()).encode())[1] == SW.OK
    return card


def read_all(card: VirtualCard, size: int) -> bytes:
    out = b""
    while len(out) < size:
        data, sw = tx(card, CommandApdu(0, 0xB1, 0, 1, b"\x54\x03" + len(out).to_bytes(3, "big"),
                                        le=65536).encode())
        assert sw == SW.OK
        assert data[0] == 0x53
        out += data[4:] if data[1] == 0x82 else data[3:]
    return out


def test_atr_advertises_extended_length_and_chaining() -> None:
    card = VirtualCard.blank()
    atr = Atr.parse(card.power_on())
    assert atr.protocols[0] == 1 and atr.extended_length and atr.command_chaining
    assert atr.capabilities is not None and atr.capabilities.logical_channels == 4
    data, sw = tx(card, "00B0810000")  # EF.ATR by SFI 1? no SFI: select it instead
    assert sw == SW.FILE_NOT_FOUND
    assert tx(card, "00A4020C022F01")[1] == SW.OK
    data, sw = tx(card, "00B0000000")
    assert sw == SW.OK and data[:2] == b"\x7f\x66"


def test_20000_bytes_with_extended_apdus() -> None:
    card = fresh_card()
    payload = os.urandom(BIG)
    assert tx(card, CommandApdu(0, 0xD6, 0x81, 0, payload).encode())[1] == SW.OK  # one APDU, SFI 1
    data, sw = tx(card, CommandApdu(0, 0xB0, 0, 0, le=65536).encode())
    assert (data, sw) == (payload, SW.OK)
    assert read_all(card, BIG) == payload  # odd INS, offset DO '54', answer in DO '53'
    again = os.urandom(BIG)
    for offset in range(0, BIG, 4096):  # extended chunks at 15-bit offsets
        chunk = again[offset : offset + 4096]
        cmd = CommandApdu(0, 0xD6, offset >> 8, offset & 0xFF, chunk)
        assert tx(card, cmd.encode(extended=True))[1] == SW.OK
    assert tx(card, CommandApdu(0, 0xB0, 0, 0, le=65536).encode()) == (again, SW.OK)


def test_20000_bytes_with_short_apdus_and_chaining() -> None:
    card = fresh_card()
    payload = os.urandom(BIG)
    chunks = [payload[i : i + 255] for i in range(0, BIG, 255)]
    for chunk in chunks[:-1]:
        assert tx(card, CommandApdu(0x10, 0xD6, 0, 0, chunk).encode())[1] == SW.OK
    assert tx(card, CommandApdu(0x00, 0xD6, 0, 0, chunks[-1]).encode())[1] == SW.OK
    # Read back with short APDUs: Le 00 per call, offsets in P1-P2.
    out = b""
    while len(out) < BIG:
        data, sw = tx(card, CommandApdu(0, 0xB0, len(out) >> 8, len(out) & 0xFF, le=256).encode())
        assert sw == SW.OK
        out += data
    assert out == payload


def test_broken_chain_is_refused() -> None:
    card = fresh_card(16)
    assert tx(card, "10D6000002AAAA")[1] == SW.OK
    assert tx(card, "00D6000102BBBB")[1] == SW.LAST_COMMAND_OF_CHAIN_EXPECTED  # other P2
    assert tx(card, "00B0000002") == (b"\x00\x00", SW.OK)  # nothing was written
    assert tx(card, "10D6000002AAAA")[1] == SW.OK
    assert tx(card, "10B0000002")[1] == SW.LAST_COMMAND_OF_CHAIN_EXPECTED


def test_get_response_delivers_long_answers_in_pieces() -> None:
    card = VirtualCard.blank()
    card.power_on()
    fcp = Fcp(0x0E02, FileStructure.LINEAR_VARIABLE, record_length=600, record_count=2,
              security=SA({EfOp.READ: ALWAYS, EfOp.WRITE: ALWAYS}))
    tx(card, CommandApdu(0, 0xE0, 0, 0, fcp.encode()).encode())
    record = os.urandom(600)
    assert tx(card, CommandApdu(0, 0xE2, 0, 0, record).encode())[1] == SW.OK
    data, sw = tx(card, "00B2010400")
    assert len(data) == 256 and sw == 0x6100  # 344 remain: more than 256
    got = data
    while sw >> 8 == 0x61:
        data, sw = tx(card, bytes((0, 0xC0, 0, 0, sw & 0xFF)))
        got += data
    assert sw == SW.OK and got == record
    assert tx(card, "00C0000000")[1] == SW.CONDITIONS_OF_USE_NOT_SATISFIED
    data, sw = tx(card, CommandApdu(0, 0xB2, 1, 4, le=65536).encode())
    assert (data, sw) == (record, SW.OK)


MALFORMED = [
    ("", SW.WRONG_LENGTH),
    ("00A4", SW.WRONG_LENGTH),
    ("00A400", SW.WRONG_LENGTH),
    ("00A4000002", SW.OK),  # header + Le 02: a valid case 2 SELECT (MF), data cut to... no: see below
    ("00A40000023F", SW.WRONG_LENGTH),  # Lc 2, one byte follows
    ("00A40000013F0000", SW.WRONG_LENGTH),  # Lc 1 but 3 bytes follow
    ("00D600000000", SW.WRONG_LENGTH),  # extended Lc 0
    ("00D60000000005AA", SW.WRONG_LENGTH),  # extended Lc 5, one byte
    ("FFA4000000", SW.CLA_NOT_SUPPORTED),
    ("20A40000", SW.CLA_NOT_SUPPORTED),
    ("80A40000", SW.CLA_NOT_SUPPORTED),  # no proprietary commands installed
    ("00600000", SW.INS_NOT_SUPPORTED),
    ("00FE0000", SW.INS_NOT_SUPPORTED),
    ("00A4FF0C00", SW.INCORRECT_P1_P2),
    ("00B2FF0400", SW.INCORRECT_P1_P2),
    ("00E0000005620182", SW.WRONG_LENGTH),  # Lc 5, 3 bytes follow
    ("00E00000036201FF", SW.INCORRECT_DATA),  # bad FCP
    ("00B0000000", SW.COMMAND_NOT_ALLOWED_NO_CURRENT_EF),
    ("00B00000", SW.WRONG_LENGTH),  # READ BINARY without Le
    ("0CB0000000", SW.SECURE_MESSAGING_NOT_SUPPORTED),
    ("03A4000C023F00", SW.LOGICAL_CHANNEL_NOT_SUPPORTED),
]


@pytest.mark.parametrize(("raw", "expected"), MALFORMED)
def test_malformed_apdus_get_iso_status_words(raw: str, expected: int) -> None:
    card = VirtualCard.blank(security=False)  # the bare card OS: no proprietary class, no SM
    card.power_on()
    data, sw = tx(card, raw)
    if raw == "00A4000002":  # Le 2 but the FCI is longer: first 2 bytes and 61xx for the rest
        assert sw >> 8 == 0x61 and len(data) == 2
    else:
        assert sw == expected, f"{raw}: {sw:04X}"


def test_oversize_apdu() -> None:
    card = fresh_card(16)
    raw = CommandApdu(0, 0xD6, 0, 0, bytes(65535)).encode()
    assert tx(card, raw)[1] == SW.NOT_ENOUGH_MEMORY  # file is 16 bytes
    assert tx(card, raw + b"\x00")[1] == SW.WRONG_LENGTH  # one byte too many for any encoding
    chained = CommandApdu(0x10, 0xD6, 0, 0, bytes(65535)).encode()
    assert tx(card, chained)[1] == SW.OK
    assert tx(card, CommandApdu(0x00, 0xD6, 0, 0, b"\x01").encode())[1] == SW.WRONG_LENGTH


def _structured(t: tuple[int, int, bytes, bytes, int | None]) -> bytes:
    cla, ins, p1p2, data, le = t
    return CommandApdu(cla, ins, p1p2[0], p1p2[1], data, le).encode()


RANDOM_APDU = st.one_of(
    st.binary(max_size=300),  # anything at all
    st.tuples(st.sampled_from([0x00, 0x01, 0x0C, 0x10, 0x40, 0x80]),  # well-formed, random fields
              st.sampled_from([0xA4, 0xB0, 0xB1, 0xB2, 0xD6, 0xD7, 0xDC, 0xE2, 0xE0, 0xE4, 0x44, 0x04, 0xE6,
                               0xE8, 0x70, 0xC0]),
              st.binary(min_size=2, max_size=2), st.binary(max_size=40),
              st.one_of(st.none(), st.integers(1, 65536))).map(_structured),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RANDOM_APDU, min_size=5, max_size=20))
def test_random_apdus_never_raise(apdus: list[bytes]) -> None:
    """About 3,000 random APDUs per run into one card session each: always an ISO SW, never 6F00."""
    card = fresh_card(64)
    for raw in apdus:
        resp = card.process(raw)
        assert len(resp) >= 2
        assert resp[-2] >> 4 in (6, 9), resp.hex()
        assert resp[-2:] != b"\x6f\x00", f"internal error on {raw.hex()}"


def test_extension_handlers_and_proprietary_class() -> None:
    card = VirtualCard.blank(security=False)  # extension points of the bare card OS
    card.power_on()

    def get_challenge(ctx: Context) -> Reply:
        if ctx.apdu.le is None:
            raise SwError(SW.WRONG_LENGTH, "GET CHALLENGE needs Le")
        ctx.channel.security.extra["challenge"] = b"\x01" * ctx.ne
        return Reply(b"\x01" * ctx.ne)

    card.os.table.register(0x84, get_challenge)
    with pytest.raises(ValueError, match="already"):
        card.os.table.register(0x84, get_challenge)
    assert tx(card, "0084000008") == (b"\x01" * 8, SW.OK)
    card.os.table.register(0x50, lambda ctx: Reply(b"\x42"), proprietary=True)
    assert tx(card, "8050000001") == (b"\x42", SW.OK)
    assert tx(card, "8084000008")[1] == SW.INS_NOT_SUPPORTED  # proprietary table has only 50


class XorSm:
    """Test double for the SM hook: a command with SM CLA carries plain data XOR 0x5A; the answer too."""

    def __init__(self) -> None:
        self.plain_seen = 0

    def unwrap(self, channel: ChannelState, apdu: CommandApdu) -> CommandApdu:
        if not channel.security.sm_active:
            raise SwError(SW.SM_DATA_OBJECTS_MISSING, "no SM session")
        return CommandApdu(apdu.cla & ~0x0C, apdu.ins, apdu.p1, apdu.p2, bytes(b ^ 0x5A for b in apdu.data),
                           apdu.le)

    def wrap(self, channel: ChannelState, apdu: CommandApdu, reply: Reply) -> Reply:
        return Reply(bytes(b ^ 0x5A for b in reply.data) + reply.sw.to_bytes(2, "big"), SW.OK)

    def plain_command(self, channel: ChannelState, apdu: CommandApdu) -> None:
        self.plain_seen += 1
        channel.security.sm_active = False


def test_secure_messaging_hook_and_sm_condition() -> None:
    card = fresh_card(8, SA({EfOp.READ: AccessCondition(sm=True, key_ref=2), EfOp.UPDATE: AccessCondition(sm=True)}))
    sm = XorSm()
    card.os.sm = sm
    assert tx(card, "0CB0000004")[1] == SW.SM_DATA_OBJECTS_MISSING  # no session yet
    grant(card, 2, sm=True)
    update = "0CD6000002" + bytes(b ^ 0x5A for b in b"hi").hex() + "00"
    assert tx(card, update) == (b"\x90\x00", SW.OK)
    data, sw = tx(card, "0CB0000000")
    assert sw == SW.OK and bytes(b ^ 0x5A for b in data[:-2]) == b"hi" + bytes(6) and data[-2:] == b"\x90\x00"
    assert tx(card, "0CB0000010")[0][-2:] == b"\x62\x82"  # errors/warnings travel inside the wrapping
    assert tx(card, "00B0000004")[1] == SW.SECURITY_STATUS_NOT_SATISFIED  # plain: refused ...
    basic = card.os.channels[0]
    assert basic is not None and sm.plain_seen == 1 and not basic.security.sm_active  # session ended


def test_fifty_thousand_seeded_random_apdus() -> None:
    """A cheap, wide campaign beside hypothesis: header from real INS values, random body bytes."""
    import random

    rng = random.Random(7816)
    card = fresh_card(64)
    ins_values = [0xA4, 0xB0, 0xB1, 0xB2, 0xD6, 0xD7, 0xDC, 0xE2, 0xE0, 0xE4, 0x44, 0x04, 0xE6, 0xE8, 0x70, 0xC0]
    for _ in range(50_000):
        raw = bytes((rng.choice((0, 0, 1, 0x10, 0x0C, 0x80)), rng.choice(ins_values))) + rng.randbytes(
            rng.randint(0, 12))
        resp = card.process(raw)
        assert len(resp) >= 2 and resp[-2] >> 4 in (6, 9) and resp[-2:] != b"\x6f\x00", raw.hex()
        if rng.random() < 0.001:
            card.reset()


def test_odd_ins_reaches_beyond_15_bit_offsets() -> None:
    card = fresh_card(40_000)
    tail = os.urandom(5000)
    write = CommandApdu(0, 0xD7, 0, 1, b"\x54\x02" + (35_000).to_bytes(2, "big") + b"\x53\x82"
                        + len(tail).to_bytes(2, "big") + tail)
    assert tx(card, write.encode())[1] == SW.OK
    data, sw = tx(card, CommandApdu(0, 0xB1, 0, 1, b"\x54\x02" + (35_000).to_bytes(2, "big"), le=65536).encode())
    assert sw == SW.OK and data == b"\x53\x82" + len(tail).to_bytes(2, "big") + tail
    assert tx(card, CommandApdu(0, 0xB0, 0x7F, 0xFF, le=1).encode()) == (b"\x00", SW.OK)  # 32767 max even
