"""Card-level file-system tests: raw APDU bytes into a VirtualCard, status words and data out."""

from __future__ import annotations

import pytest

from cardsvc.iso7816.fcp import ALWAYS, NEVER, AccessCondition, DfOp, EfOp, Fcp, FileStructure, LifeCycle
from cardsvc.iso7816.fcp import SecurityAttributes as SA
from cardsvc.iso7816.tlv import tlv_map
from simulator import VirtualCard
from tests.card_support import grant

AID = bytes.fromhex("D1560000010001")
# No DELETE_CHILD rule (never): deleting an EF of this DF is decided by the EF's own DELETE rule alone
# (applets.access.check_delete: the parent's DELETE FILE (child) or the file's own DELETE FILE (self)).
OPEN_DF = SA({DfOp.CREATE_EF: ALWAYS, DfOp.CREATE_DF: ALWAYS, DfOp.DELETE: ALWAYS,
              DfOp.ACTIVATE: ALWAYS, DfOp.DEACTIVATE: ALWAYS, DfOp.TERMINATE: ALWAYS})
READ_ONLY = SA({EfOp.READ: ALWAYS, EfOp.DELETE: ALWAYS})
OPEN_EF = SA({op: ALWAYS for op in EfOp})
PROTECTED = SA({EfOp.READ: AccessCondition(key_ref=3), EfOp.UPDATE: AccessCondition(key_ref=3)})


def tx(card: VirtualCard, apdu: str | bytes) -> tuple[bytes, int]:
    raw = bytes.fromhex(apdu) if isinstance(apdu, str) else apdu
    resp = card.process(raw)
    assert len(resp) >= 2
    return resp[:-2], int.from_bytes(resp[-2:], "big")


def apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    out = bytes((cla, ins, p1, p2))
    if data:
        out += bytes((len(data),)) + data
    if le is not None:
        out += bytes((le & 0xFF,))
    return out


def create(card: VirtualCard, fcp: Fcp) -> int:
    return tx(card, apdu(0, 0xE0, 0, 0, fcp.encode()))[1]


@pytest.fixture
def card() -> VirtualCard:
    """MF → ADF (AID) → EFs: transparent 0101 (SFI 1, read-only, LCS initialisation so it can be
    personalised), 0102 (SFI 2, key 3 protected), 0103 open, records 0201 fixed / 0202 variable / 0203 cyclic."""
    c = VirtualCard.blank(None)  # a plain, ACTIVATED MF: the rules under it bind at once
    c.power_on()
    assert create(c, Fcp(0xA000, FileStructure.DF, df_name=AID, security=OPEN_DF)) == 0x9000
    files = [
        Fcp(0x0101, FileStructure.TRANSPARENT, size=40, sfi=1, lifecycle=LifeCycle.INITIALISATION,
            security=READ_ONLY),
        Fcp(0x0102, FileStructure.TRANSPARENT, size=16, sfi=2, security=PROTECTED),
        Fcp(0x0103, FileStructure.TRANSPARENT, size=300, sfi=3, security=OPEN_EF),
        Fcp(0x0201, FileStructure.LINEAR_FIXED, record_length=4, record_count=3, sfi=4, security=OPEN_EF),
        Fcp(0x0202, FileStructure.LINEAR_VARIABLE, record_length=10, record_count=3, sfi=5, security=OPEN_EF),
        Fcp(0x0203, FileStructure.CYCLIC, record_length=2, record_count=3, sfi=6, security=OPEN_EF),
    ]
    for fcp in files:
        tx(c, "00A40000" + "02A000")
        assert create(c, fcp) == 0x9000, fcp
    tx(c, "00A4000C02A000")
    return c


def test_select_returns_fcp_fci_or_nothing(card: VirtualCard) -> None:
    data, sw = tx(card, apdu(0, 0xA4, 4, 4, AID, 0))
    assert sw == 0x9000 and data[0] == 0x62
    fcp = Fcp.parse(data)
    assert fcp.fid == 0xA000 and fcp.df_name == AID and fcp.structure == FileStructure.DF
    data, sw = tx(card, apdu(0, 0xA4, 2, 0, b"\x01\x03", 0))
    assert sw == 0x9000 and data[0] == 0x6F and tlv_map(data[2:])[0x80] == b"\x01\x2c"
    data, sw = tx(card, apdu(0, 0xA4, 2, 0x0C, b"\x01\x03"))
    assert (data, sw) == (b"", 0x9000)
    # FCP asked for but no Le: ISO case 3, no response data.
    assert tx(card, apdu(0, 0xA4, 2, 4, b"\x01\x03")) == (b"", 0x9000)
    data, sw = tx(card, apdu(0, 0xA4, 2, 8, b"\x01\x03", 0))
    assert (data, sw) == (b"\x64\x00", 0x9000)


def test_select_methods(card: VirtualCard) -> None:
    assert tx(card, apdu(0, 0xA4, 8, 0x0C, bytes.fromhex("A0000201")))[1] == 0x9000  # path from MF
    assert tx(card, apdu(0, 0xA4, 3, 0x0C))[1] == 0x9000  # parent of EF's DF → MF
    assert tx(card, apdu(0, 0xA4, 3, 0x0C))[1] == 0x6A82  # MF has no parent
    assert tx(card, apdu(0, 0xA4, 1, 0x0C, b"\xa0\x00"))[1] == 0x9000  # child DF
    assert tx(card, apdu(0, 0xA4, 9, 0x0C, b"\x02\x03"))[1] == 0x9000  # path from current DF
    assert tx(card, apdu(0, 0xA4, 0, 0x0C, b"\x3f\x00"))[1] == 0x9000
    assert tx(card, apdu(0, 0xA4, 4, 0x0C, AID[:4]))[1] == 0x9000  # partial DF name
    assert tx(card, apdu(0, 0xA4, 4, 0x0E, AID[:4]))[1] == 0x6A82  # no next occurrence
    assert tx(card, apdu(0, 0xA4, 1, 0x0C, b"\x01\x01"))[1] == 0x6A82  # an EF is not a DF
    assert tx(card, apdu(0, 0xA4, 2, 0x0C, b"\x77\x77"))[1] == 0x6A82
    assert tx(card, apdu(0, 0xA4, 0x05, 0x0C, b"\x01\x01"))[1] == 0x6A86
    assert tx(card, apdu(0, 0xA4, 0, 0x1C, b"\x01\x01"))[1] == 0x6A86
    assert tx(card, apdu(0, 0xA4, 2, 0x0C, b"\x01"))[1] == 0x6700
    assert tx(card, apdu(0, 0xA4, 8, 0x0C, b"\xa0\x00\x02"))[1] == 0x6700
    assert tx(card, apdu(0, 0xA4, 4, 0x0C, bytes(17)))[1] == 0x6700


def test_binary_offsets_sfi_and_odd_ins(card: VirtualCard) -> None:
    payload = bytes(range(200)) + bytes(100)
    assert tx(card, apdu(0, 0xD6, 0x83, 0, payload[:200]))[1] == 0x9000  # SFI 3, offset 0
    assert tx(card, apdu(0, 0xB0, 0, 10, le=5)) == (payload[10:15], 0x9000)  # current EF is now 0103
    assert tx(card, apdu(0, 0xB0, 0x83, 250, le=0)) == (bytes(50), 0x9000)  # wildcard Le: no warning
    assert tx(card, apdu(0, 0xB0, 0x01, 0x28, le=8)) == (bytes(4), 0x6282)  # offset 296: 4 left
    assert tx(card, apdu(0, 0xB0, 0x01, 0x2C, le=1)) == (b"", 0x6282)  # offset == size
    assert tx(card, apdu(0, 0xB0, 0x01, 0x2D, le=1))[1] == 0x6B00
    assert tx(card, apdu(0, 0xB0, 0xA3, 0, le=1))[1] == 0x6A86  # b7-b6 must be 0
    assert tx(card, apdu(0, 0xB0, 0x9E, 0, le=1))[1] == 0x6A82  # SFI 30 absent
    # odd INS: offset in DO 54, data in DO 53, EF named by SFI in P2
    assert tx(card, apdu(0, 0xD7, 0, 3, bytes.fromhex("540200FA530401020304")))[1] == 0x9000
    data, sw = tx(card, apdu(0, 0xB1, 0, 3, bytes.fromhex("540200FA"), 8))
    assert sw == 0x9000 and data == bytes.fromhex("530601020304") + bytes(2)
    data, sw = tx(card, apdu(0, 0xB1, 0x01, 0x03, bytes.fromhex("5401FE"), 0))  # by FID 0103
    assert (data, sw) == (b"\x53\x2e" + bytes(46), 0x9000)  # 46 bytes left, Le wildcard
    assert tx(card, apdu(0, 0xB1, 0, 3, bytes.fromhex("5301FF"), 8))[1] == 0x6A80  # no DO 54
    assert tx(card, apdu(0, 0xD7, 0, 3, bytes.fromhex("540100")))[1] == 0x6A80  # no DO 53


def test_update_past_declared_size_refused(card: VirtualCard) -> None:
    tx(card, "00A4000C020103")
    assert tx(card, apdu(0, 0xD6, 0x01, 0x2B, b"\x01\x02"))[1] == 0x6A84  # 299 + 2 > 300
    assert tx(card, apdu(0, 0xD6, 0x01, 0x2B, b"\x01"))[1] == 0x9000
    assert tx(card, apdu(0, 0xD6, 0x01, 0x2D, b"\x01"))[1] == 0x6B00
    assert tx(card, apdu(0, 0xD6, 0, 0))[1] == 0x6700  # no data


def test_access_conditions(card: VirtualCard) -> None:
    # Read-only EF in initialisation: writable until ACTIVATE FILE, then update refused, read allowed.
    assert tx(card, apdu(0, 0xD6, 0x81, 0, b"permit"))[1] == 0x9000
    assert tx(card, "0044000000")[1] == 0x9000  # activate current EF (0101)
    assert tx(card, apdu(0, 0xD6, 0x81, 0, b"forged"))[1] == 0x6982
    assert tx(card, apdu(0, 0xB0, 0x81, 0, le=6)) == (b"permit", 0x9000)
    # Key-protected EF: 6982 until key 3 is authenticated on this channel.
    assert tx(card, apdu(0, 0xB0, 0x82, 0, le=0))[1] == 0x6982
    assert tx(card, apdu(0, 0xD6, 0x82, 0, b"x"))[1] == 0x6982
    grant(card, 3)
    assert tx(card, apdu(0, 0xD6, 0x82, 0, b"x"))[1] == 0x9000
    assert tx(card, apdu(0, 0xB0, 0x82, 0, le=1)) == (b"x", 0x9000)
    # Leaving the application clears the security state; coming back does not restore it.
    tx(card, "00A4000C023F00")
    tx(card, apdu(0, 0xA4, 4, 0x0C, AID))
    assert tx(card, apdu(0, 0xB0, 0x82, 0, le=1))[1] == 0x6982
    # Delete is allowed on the read-only EF, never on the protected one (no DELETE rule = never).
    assert tx(card, "00E40000020102")[1] == 0x6982
    assert tx(card, "00E40000020101")[1] == 0x9000
    assert tx(card, "00A4000C020101")[1] == 0x6A82


def test_sm_only_condition_refused_without_sm() -> None:
    c = VirtualCard.blank(None, security=False)  # access mechanism alone; SM itself: test_security_card
    c.power_on()
    rule = SA({EfOp.READ: AccessCondition(sm=True), EfOp.UPDATE: NEVER})
    assert create(c, Fcp(0x0E01, FileStructure.TRANSPARENT, size=4, security=rule)) == 0x9000
    grant(c, 1)
    assert tx(c, "00B0000004")[1] == 0x6982
    assert tx(c, "0CB0000004")[1] == 0x6882  # no SM module installed


def test_linear_fixed_records(card: VirtualCard) -> None:
    for i in range(3):
        assert tx(card, apdu(0, 0xE2, 0, 4 << 3, bytes([i] * 4)))[1] == 0x9000
    assert tx(card, apdu(0, 0xE2, 0, 4 << 3, b"full"))[1] == 0x6A84
    assert tx(card, apdu(0, 0xE2, 0, 4 << 3, b"abc"))[1] == 0x6700  # all records are 4 bytes
    assert tx(card, apdu(0, 0xB2, 2, (4 << 3) | 4, le=0)) == (bytes([1] * 4), 0x9000)
    assert tx(card, apdu(0, 0xB2, 4, (4 << 3) | 4, le=0))[1] == 0x6A83
    assert tx(card, apdu(0, 0xB2, 2, (4 << 3) | 4, le=2)) == (b"", 0x6C04)
    assert tx(card, apdu(0, 0xDC, 2, (4 << 3) | 4, b"twoo"))[1] == 0x9000
    assert tx(card, apdu(0, 0xB2, 0, 4, le=4)) == (b"twoo", 0x9000)  # current record, current EF
    assert tx(card, apdu(0, 0xB2, 2, (4 << 3) | 5, le=0)) == (b"twoo" + bytes([2] * 4), 0x9000)
    assert tx(card, apdu(0, 0xB2, 1, (4 << 3) | 6, le=0)) == (bytes([2] * 4) + b"twoo" + bytes(4), 0x9000)
    assert tx(card, apdu(0, 0xB2, 1, (4 << 3) | 0, le=0))[1] == 0x6A86
    assert tx(card, apdu(0, 0xB0, 0x84, 0, le=1))[1] == 0x6981  # not transparent


def test_linear_variable_records(card: VirtualCard) -> None:
    assert tx(card, apdu(0, 0xE2, 0, 5 << 3, b"a"))[1] == 0x9000
    assert tx(card, apdu(0, 0xE2, 0, 5 << 3, b"0123456789"))[1] == 0x9000
    assert tx(card, apdu(0, 0xE2, 0, 5 << 3, b"0123456789X"))[1] == 0x6700
    assert tx(card, apdu(0, 0xDC, 1, (5 << 3) | 4, b"longer"))[1] == 0x9000
    assert tx(card, apdu(0, 0xB2, 1, (5 << 3) | 4, le=0)) == (b"longer", 0x9000)


def test_cyclic_records_newest_first(card: VirtualCard) -> None:
    for value in (b"r1", b"r2", b"r3", b"r4", b"r5"):
        assert tx(card, apdu(0, 0xE2, 0, 6 << 3, value))[1] == 0x9000
    got = [tx(card, apdu(0, 0xB2, n, (6 << 3) | 4, le=2))[0] for n in (1, 2, 3)]
    assert got == [b"r5", b"r4", b"r3"]
    assert tx(card, apdu(0, 0xB2, 4, (6 << 3) | 4, le=2))[1] == 0x6A83


def test_create_file_checks(card: VirtualCard) -> None:
    def fcp_raw(body: str) -> bytes:
        raw = bytes.fromhex(body)
        return bytes((0x62, len(raw))) + raw

    assert create(card, Fcp(0x0103, FileStructure.TRANSPARENT, size=1)) == 0x6A89  # FID exists
    assert create(card, Fcp(0x0104, FileStructure.TRANSPARENT, size=1, sfi=3)) == 0x6A89  # SFI used
    tx(card, "00A4000C023F00")
    assert create(card, Fcp(0xB000, FileStructure.DF, df_name=AID)) == 0x6A8A
    bad = [
        "820101",  # no FID
        "8202010183023F00",  # reserved FID
        "820101830201A1",  # transparent without size
        "82020121830201A18001",  # size tag empty → tlv/fcp error
        "8001108201F1830201A1",  # unknown structure
        "800110820101830201A18A0107",  # unsupported LCS
    ]
    for body in bad:
        assert tx(card, apdu(0, 0xE0, 0, 0, fcp_raw(body)))[1] == 0x6A80, body
    assert tx(card, apdu(0, 0xE0, 0, 0, b"\x62\x05\x82\x01"))[1] == 0x6A80  # truncated TLV
    assert tx(card, apdu(0, 0xE0, 1, 0, Fcp(0x0104, FileStructure.TRANSPARENT, size=1).encode()))[1] == 0x6A86
    huge = Fcp(0x0105, FileStructure.TRANSPARENT, size=0xFFFFFF)
    assert create(card, huge) == 0x6A84


def test_create_checks_parent_rules() -> None:
    c = VirtualCard.blank(SA({DfOp.CREATE_DF: AccessCondition(key_ref=1)}))
    c.power_on()
    assert create(c, Fcp(0x0E01, FileStructure.TRANSPARENT, size=1)) == 0x6982  # no CREATE_EF rule
    assert create(c, Fcp(0xA001, FileStructure.DF)) == 0x6982
    grant(c, 1)
    assert create(c, Fcp(0xA001, FileStructure.DF)) == 0x9000


def test_lifecycle_deactivate_activate_terminate(card: VirtualCard) -> None:
    tx(card, "00A4000C020103")
    assert tx(card, "0004000000")[1] == 0x9000
    assert tx(card, "00B0000001")[1] == 0x6985
    tx(card, "00A4000C023F00")
    assert tx(card, apdu(0, 0xA4, 8, 0, bytes.fromhex("A0000103"), 0))[1] == 0x6283
    assert tx(card, "0044000000")[1] == 0x9000
    assert tx(card, "00B0000001")[1] == 0x9000
    assert tx(card, "00E8000000")[1] == 0x9000  # terminate EF
    assert tx(card, "0044000000")[1] == 0x6985  # terminated is final
    data, sw = tx(card, apdu(0, 0xA4, 2, 4, b"\x01\x03", 0))
    assert sw == 0x6285 and Fcp.parse(data).lifecycle == LifeCycle.TERMINATED
    assert tx(card, "00E6000000")[1] == 0x9000  # terminate the DF: everything under it stops
    tx(card, "00A4000C020201")
    assert tx(card, apdu(0, 0xB2, 1, 4, le=0))[1] == 0x6985
    assert tx(card, "00E80000")[1] == 0x6985


def test_delete_df_moves_other_channels(card: VirtualCard) -> None:
    data, sw = tx(card, "0070000001")
    assert sw == 0x9000 and data == b"\x01"
    tx(card, apdu(1, 0xA4, 4, 0x0C, AID))
    tx(card, "00A4000C023F00")
    assert tx(card, "00E4000002A000")[1] == 0x9000
    assert tx(card, apdu(1, 0xB0, 0x83, 0, le=1))[1] == 0x6A82  # channel 1 is back at the MF
    assert tx(card, "01A4000C020103")[1] == 0x6A82
    assert tx(card, "00E4000000")[1] == 0x6985  # the MF cannot be deleted


def test_logical_channels_keep_separate_state(card: VirtualCard) -> None:
    assert tx(card, "0070000100")[1] == 0x9000  # open channel 1 explicitly
    assert tx(card, "0070000100")[1] == 0x6985  # already open
    assert tx(card, "0070000200")[1] == 0x9000
    assert tx(card, "0070000001") == (b"\x03", 0x9000)
    assert tx(card, "0070000001")[1] == 0x6881  # none free
    grant(card, 3, channel=1)
    tx(card, apdu(1, 0xA4, 4, 0x0C, AID))  # same application as channel 0 → not the MF change
    grant(card, 3, channel=1)
    assert tx(card, apdu(1, 0xB0, 0x82, 0, le=1))[1] == 0x9000
    assert tx(card, apdu(0, 0xB0, 0x82, 0, le=1))[1] == 0x6982
    assert tx(card, "01708001")[1] == 0x9000  # close channel 1
    assert tx(card, apdu(1, 0xB0, 0x82, 0, le=1))[1] == 0x6881
    assert tx(card, "00708000")[1] == 0x6A86  # basic channel stays
    assert tx(card, apdu(0x40, 0xA4, 0, 0x0C))[1] == 0x6881  # further interindustry: channel 4+


def test_reset_clears_volatile_state(card: VirtualCard) -> None:
    grant(card, 3)
    tx(card, "0070000001")
    card.reset()
    assert tx(card, "01A4000C023F00")[1] == 0x6881
    tx(card, apdu(0, 0xA4, 4, 0x0C, AID))
    assert tx(card, "00B0000001")[1] == 0x6986  # no current EF after reset + select DF
    assert tx(card, apdu(0, 0xB0, 0x82, 0, le=1))[1] == 0x6982


def test_personalise_then_activate_the_application() -> None:
    """The issuance flow: ADF in initialisation, EFs written freely, one ACTIVATE FILE locks them all
    (under a plain, ACTIVATED MF; the issuer-profile MF of a permit card: tests/sim/test_card_lockdown.py)."""
    c = VirtualCard.blank(None)
    c.power_on()
    aid = bytes.fromhex("D156000001FFFF")
    adf_rules = SA({DfOp.CREATE_EF: AccessCondition(key_ref=1), DfOp.ACTIVATE: AccessCondition(key_ref=1)})
    assert create(c, Fcp(0xA100, FileStructure.DF, df_name=aid, lifecycle=LifeCycle.INITIALISATION,
                         security=adf_rules)) == 0x9000
    assert create(c, Fcp(0x0001, FileStructure.TRANSPARENT, size=4, sfi=1, security=READ_ONLY)) == 0x9000
    assert tx(c, apdu(0, 0xD6, 0, 0, b"card"))[1] == 0x9000
    tx(c, apdu(0, 0xA4, 4, 0x0C, aid))
    assert tx(c, "0044000000")[1] == 0x9000  # activate the ADF (rules not yet binding: it is in init)
    assert tx(c, apdu(0, 0xD6, 0x81, 0, b"fake"))[1] == 0x6982
    assert tx(c, apdu(0, 0xB0, 0x81, 0, le=0)) == (b"card", 0x9000)
    assert create(c, Fcp(0x0002, FileStructure.TRANSPARENT, size=4)) == 0x6982
    data, sw = tx(c, apdu(0, 0xA4, 4, 4, aid, 0))
    assert sw == 0x9000 and Fcp.parse(data).lifecycle == LifeCycle.ACTIVATED
