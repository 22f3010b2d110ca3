"""Model-based checks: random UPDATE/READ BINARY and APPEND/UPDATE/READ RECORD sequences against plain
Python models of an ISO 7816-4 transparent EF, linear fixed EF and cyclic EF."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.fcp import ALWAYS, EfOp, Fcp, FileStructure
from cardsvc.iso7816.fcp import SecurityAttributes as SA
from cardsvc.iso7816.sw import SW
from simulator import VirtualCard

OPEN = SA({op: ALWAYS for op in EfOp})
SIZE, REC_LEN, REC_MAX = 700, 5, 4


def tx(card: VirtualCard, cmd: CommandApdu) -> tuple[bytes, int]:
    resp = card.process(cmd.encode())
    return resp[:-2], int.from_bytes(resp[-2:], "big")


def make_card() -> VirtualCard:
    card = VirtualCard.blank()
    card.power_on()
    for fcp in (Fcp(0x0001, FileStructure.TRANSPARENT, size=SIZE, sfi=1, security=OPEN),
                Fcp(0x0002, FileStructure.LINEAR_FIXED, record_length=REC_LEN, record_count=REC_MAX, sfi=2,
                    security=OPEN),
                Fcp(0x0003, FileStructure.CYCLIC, record_length=REC_LEN, record_count=REC_MAX, sfi=3,
                    security=OPEN)):
        tx(card, CommandApdu(0, 0xA4, 0, 0x0C, b"\x3f\x00"))
        assert tx(card, CommandApdu(0, 0xE0, 0, 0, fcp.encode()))[1] == SW.OK
    return card


binary_op = st.tuples(st.just("bin"), st.integers(0, SIZE + 5), st.binary(min_size=1, max_size=300))
record_op = st.tuples(st.sampled_from(["append2", "append3"]), st.integers(0, 255),
                      st.binary(min_size=REC_LEN, max_size=REC_LEN))
update_op = st.tuples(st.sampled_from(["upd2", "upd3"]), st.integers(1, REC_MAX + 1),
                      st.binary(min_size=REC_LEN, max_size=REC_LEN))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(binary_op, record_op, update_op), max_size=25))
def test_card_matches_models(ops: list[tuple[str, int, bytes]]) -> None:
    card = make_card()
    transparent = bytearray(SIZE)
    linear: list[bytes] = []
    cyclic: list[bytes] = []  # newest first, as record numbers count on a cyclic EF
    for kind, number, data in ops:
        if kind == "bin":
            offset = number
            sw = tx(card, CommandApdu(0, 0xD7, 0, 1, b"\x54\x02" + offset.to_bytes(2, "big")
                                      + b"\x53" + (b"\x82" + len(data).to_bytes(2, "big") if len(data) > 127
                                                   else bytes((len(data),))) + data))[1]
            if offset > SIZE:
                assert sw == SW.WRONG_P1_P2
            elif offset + len(data) > SIZE:
                assert sw == SW.NOT_ENOUGH_MEMORY
            else:
                assert sw == SW.OK
                transparent[offset : offset + len(data)] = data
        elif kind.startswith("append"):
            sfi = int(kind[-1])
            sw = tx(card, CommandApdu(0, 0xE2, 0, sfi << 3, data))[1]
            if sfi == 2:
                assert sw == (SW.OK if len(linear) < REC_MAX else SW.NOT_ENOUGH_MEMORY)
                if sw == SW.OK:
                    linear.append(data)
            else:
                assert sw == SW.OK
                cyclic = [data, *cyclic][:REC_MAX]
        else:
            sfi = int(kind[-1])
            model = linear if sfi == 2 else cyclic
            sw = tx(card, CommandApdu(0, 0xDC, number, (sfi << 3) | 4, data))[1]
            if number <= len(model):
                assert sw == SW.OK
                model[number - 1] = data
            else:
                assert sw == SW.RECORD_NOT_FOUND
    assert tx(card, CommandApdu(0, 0xB0, 0x81, 0, le=65536)) == (bytes(transparent), SW.OK)
    for sfi, model in ((2, linear), (3, cyclic)):
        for n, expected in enumerate(model, start=1):
            assert tx(card, CommandApdu(0, 0xB2, n, (sfi << 3) | 4, le=REC_LEN)) == (expected, SW.OK)
        assert tx(card, CommandApdu(0, 0xB2, len(model) + 1, (sfi << 3) | 4, le=REC_LEN))[1] == SW.RECORD_NOT_FOUND
    # and the image keeps exactly this state
    again = VirtualCard.from_bytes(card.to_bytes("json"), "json")
    assert again.to_bytes() == card.to_bytes()
