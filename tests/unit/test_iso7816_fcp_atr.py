import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardsvc.iso7816.atr import Atr, build_historical_bytes
from cardsvc.iso7816.errors import AtrError, FcpError
from cardsvc.iso7816.fcp import (
    ALWAYS,
    NEVER,
    AccessCondition,
    EfOp,
    Fcp,
    FileStructure,
    LifeCycle,
    SecurityAttributes,
)

RECORD_EF = Fcp(0xEF01, FileStructure.LINEAR_FIXED, record_length=128, record_count=10, sfi=5,
                lifecycle=LifeCycle.ACTIVATED,
                security=SecurityAttributes({EfOp.READ: ALWAYS, EfOp.UPDATE: NEVER,
                                             EfOp.WRITE: AccessCondition(key_ref=2, sm=True)}))


def test_golden_fcp_vector() -> None:
    # 8C 04 07 E2 FF 00: AM b3b2b1 set; SC for b3 (write) = E2 (all of: SM, key 2), b2 NEVER, b1 ALWAYS.
    golden = "62178205022100800a8302ef018801288a01058c0407e2ff00"
    assert RECORD_EF.encode().hex() == golden
    assert Fcp.parse(bytes.fromhex(golden)) == RECORD_EF


def test_unlisted_operation_is_never() -> None:
    assert RECORD_EF.security is not None
    assert RECORD_EF.security.condition(EfOp.DELETE) == NEVER


@pytest.mark.parametrize(
    ("hexbytes", "fragment"),
    [
        ("6203830101", "file descriptor (82) missing"),
        ("62038201FF", "file descriptor byte FF is not a supported structure"),
        ("620482020221", "record EF descriptor (82) needs max record size"),
        ("6206820101880107", "SFI (88) must be one byte with b3-b1 clear"),
        ("62078201018C020300", "announces 2 SC bytes, found 1"),
        ("6206820101" + "8A0107", "life-cycle status 07 is not supported"),
        ("6303820101", "expected tag 62"),
    ],
)
def test_bad_fcp_is_refused_with_reason(hexbytes: str, fragment: str) -> None:
    with pytest.raises(FcpError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Fcp.parse(bytes.fromhex(hexbytes))


@given(st.integers(0, 255))
def test_sc_byte_round_trip_or_refusal(sc: int) -> None:
    try:
        cond = AccessCondition.from_sc_byte(sc)
    except ValueError:
        return
    assert AccessCondition.from_sc_byte(cond.to_sc_byte()) == cond


def _atr(interface: bytes, t0_high: int, hist: bytes) -> bytes:
    raw = bytes((0x3B, t0_high << 4 | len(hist))) + interface + hist
    tck = 0
    for b in raw[1:]:
        tck ^= b
    return raw + bytes((tck,))


def test_atr_with_ta1_t1_and_capabilities() -> None:
    hist = build_historical_bytes()
    raw = _atr(bytes((0x96, 0x80, 0x01)), 0x9, hist)  # TA1=96 (Fi 512, Di 32), TD1 T=0 → TD2 T=1
    atr = Atr.parse(raw)
    assert (atr.fi, atr.di, atr.protocols) == (512, 32, (0, 1))
    assert atr.extended_length and atr.command_chaining
    assert round(atr.bit_rate()) == 223125


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"\x3b", "TS and T0 are required"),
        (b"\x3a\x00", "TS 3A"),
        (bytes.fromhex("3b8580018073b421c0a3"), "TCK mismatch"),
        (bytes.fromhex("3b8580"), "ATR ends where TD2 was announced"),
        (bytes.fromhex("3b02aa"), "2 historical bytes announced, 1 present"),
    ],
)
def test_bad_atr(raw: bytes, fragment: str) -> None:
    with pytest.raises(AtrError, match=fragment):
        Atr.parse(raw)
