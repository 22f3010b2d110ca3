"""Card images (JSON/CBOR round trips, bad images) and power loss at the Nth NVM write."""

from __future__ import annotations

import json
from pathlib import Path

import cbor2
import pytest

from applets.errors import CardImageError
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.fcp import ALWAYS, AccessCondition, DfOp, EfOp, Fcp, FileStructure, LifeCycle
from cardsvc.iso7816.fcp import SecurityAttributes as SA
from cardsvc.iso7816.sw import SW
from simulator import CardMuteError, InProcessConnection, VirtualCard, When
from simulator.image import state_to_obj

OPEN = SA({op: ALWAYS for op in EfOp})
AID = bytes.fromhex("D15600000100")


def tx(card: VirtualCard, apdu: CommandApdu | str) -> tuple[bytes, int]:
    raw = bytes.fromhex(apdu) if isinstance(apdu, str) else apdu.encode()
    resp = card.process(raw)
    assert len(resp) >= 2
    return resp[:-2], int.from_bytes(resp[-2:], "big")


def create(card: VirtualCard, fcp: Fcp) -> None:
    assert tx(card, CommandApdu(0, 0xE0, 0, 0, fcp.encode()))[1] == SW.OK


def personalised() -> VirtualCard:
    card = VirtualCard.blank(None)  # a plain, ACTIVATED MF: the ADF's own rules bind at once
    card.power_on()
    create(card, Fcp(0xA100, FileStructure.DF, df_name=AID,
                     security=SA({DfOp.CREATE_EF: ALWAYS, DfOp.ACTIVATE: AccessCondition(key_ref=1)})))
    create(card, Fcp(0x0001, FileStructure.TRANSPARENT, size=500, sfi=1, security=OPEN,
                     lifecycle=LifeCycle.INITIALISATION))
    tx(card, CommandApdu(0, 0xD6, 0, 0, "居住证 买买提·艾力 𠈌".encode("gb18030") + bytes(range(200))))
    tx(card, "00A4000C02A100")
    create(card, Fcp(0x0002, FileStructure.CYCLIC, record_length=3, record_count=2, sfi=2, security=OPEN))
    for rec in (b"one", b"two", b"thr"):
        tx(card, CommandApdu(0, 0xE2, 0, 2 << 3, rec))
    tx(card, "00A4000C02A100")
    create(card, Fcp(0x0003, FileStructure.LINEAR_VARIABLE, record_length=9, record_count=4, security=OPEN))
    tx(card, CommandApdu(0, 0xE2, 0, 0, b"v"))
    tx(card, CommandApdu(0, 0xE2, 0, 0, b"variable"))
    card.os.put_object("key/1", bytes(16))
    card.os.put_object("counter/1", b"\x03")
    return card


@pytest.mark.parametrize("suffix", [".json", ".cbor"])
def test_image_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    card = personalised()
    path = tmp_path / f"card{suffix}"
    card.save(path)
    again = VirtualCard.load(path)
    assert state_to_obj(again.state, again.atr, again.nvm.page_size) == state_to_obj(
        card.state, card.atr, card.nvm.page_size)
    assert again.to_bytes("cbor") == card.to_bytes("cbor")
    # and the loaded card behaves the same: cyclic order, contents, security attributes
    again.power_on()
    assert tx(again, CommandApdu(0, 0xA4, 4, 0x0C, AID))[1] == SW.OK
    assert tx(again, CommandApdu(0, 0xB2, 1, (2 << 3) | 4, le=3)) == (b"thr", SW.OK)
    assert tx(again, CommandApdu(0, 0xB2, 2, (2 << 3) | 4, le=3)) == (b"two", SW.OK)
    assert tx(again, "00A4000C02A100")[1] == SW.OK
    assert tx(again, "0044000000")[1] == SW.SECURITY_STATUS_NOT_SATISFIED  # ACTIVATE DF needs key 1
    assert again.os.get_object("counter/1") == b"\x03"


def test_json_image_is_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    personalised().save(path)
    obj = json.loads(path.read_text())
    assert obj["format"] == "cardsvc.card-image" and obj["mf"]["fid"] == 0x3F00
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file


def _mutations() -> list[tuple[str, object, str]]:
    return [
        ("format", "zip", "image.format"),
        ("version", 9, "image.version"),
        ("capacity", -1, "image.capacity"),
        ("atr", 5, "image.atr"),
        ("mf", [], "image.mf"),
    ]


@pytest.mark.parametrize(("key", "value", "named"), _mutations())
def test_bad_images_name_the_field(key: str, value: object, named: str) -> None:
    obj = cbor2.loads(personalised().to_bytes("cbor"))
    obj[key] = value
    with pytest.raises(CardImageError, match=named.replace(".", r"\.")):
        VirtualCard.from_bytes(cbor2.dumps(obj), "cbor")


def test_bad_nested_fields_and_garbage() -> None:
    obj = cbor2.loads(personalised().to_bytes("cbor"))
    adf = obj["mf"]["children"][1]
    adf["children"][1]["records"][0] = b"toolong"
    with pytest.raises(CardImageError, match=r"A100\].*0002\]\.records\[0\]"):
        VirtualCard.from_bytes(cbor2.dumps(obj), "cbor")
    adf["children"][1]["records"][0] = b"one"
    adf["children"][0]["structure"] = "SPIRAL"
    with pytest.raises(CardImageError, match="structure"):
        VirtualCard.from_bytes(cbor2.dumps(obj), "cbor")
    with pytest.raises(CardImageError, match="not valid cbor"):
        VirtualCard.from_bytes(b"\xff\xfe", "cbor")
    with pytest.raises(CardImageError, match="not valid json"):
        VirtualCard.from_bytes(b"{", "json")
    with pytest.raises(ValueError, match=r"\.json or \.cbor"):
        personalised().save("card.pickle")


def _write_file(card: VirtualCard, payload: bytes) -> None:
    card.power_on()
    assert tx(card, CommandApdu(0, 0xA4, 0, 0x0C, b"\x0e\x01"))[1] == SW.OK
    assert card.process(CommandApdu(0, 0xD6, 0, 0, payload).encode()) == b""  # mute: power lost


def _blank_with_file(size: int) -> VirtualCard:
    card = VirtualCard.blank()
    card.power_on()
    create(card, Fcp(0x0E01, FileStructure.TRANSPARENT, size=size, security=OPEN))
    return card


@pytest.mark.parametrize(("when", "pages", "expect_pages"),
                         [(When.BEFORE, None, 0), (When.AFTER, None, 4), (When.MIDDLE, None, 2),
                          (When.MIDDLE, 3, 3), (When.MIDDLE, 1, 1)])
def test_power_loss_leaves_a_prefix_of_pages(when: When, pages: int | None, expect_pages: int) -> None:
    card = _blank_with_file(256)
    card.cut_power(1, when, pages)
    _write_file(card, b"\xaa" * 256)
    assert card.faults.pages_written == expect_pages
    assert card.process(bytes.fromhex("00B0000000")) == b""  # still mute
    card.power_on()
    tx(card, CommandApdu(0, 0xA4, 0, 0x0C, b"\x0e\x01"))
    data, sw = tx(card, "00B0000000")
    assert sw == SW.OK
    assert data == b"\xaa" * (64 * expect_pages) + bytes(256 - 64 * expect_pages)


def test_power_loss_at_nth_write_of_a_session() -> None:
    card = _blank_with_file(8)
    card.cut_power(3, When.BEFORE)
    for i in range(2):
        assert tx(card, CommandApdu(0, 0xD6, 0, i, b"\x01"))[1] == SW.OK
    assert card.process(CommandApdu(0, 0xD6, 0, 2, b"\x01").encode()) == b""
    card.power_on()
    tx(card, "00A4000C020E01")
    assert tx(card, "00B0000000") == (b"\x01\x01" + bytes(6), SW.OK)


def test_torn_append_leaves_no_half_record() -> None:
    card = VirtualCard.blank()
    card.power_on()
    create(card, Fcp(0x0E02, FileStructure.LINEAR_FIXED, record_length=100, record_count=3, security=OPEN))
    assert tx(card, CommandApdu(0, 0xE2, 0, 0, b"\x01" * 100))[1] == SW.OK
    card.cut_power(1, When.MIDDLE, 2)  # both data pages written, the commit page not
    assert card.process(CommandApdu(0, 0xE2, 0, 0, b"\x02" * 100).encode()) == b""
    card.power_on()
    tx(card, "00A4000C020E02")
    assert tx(card, "00B2020400")[1] == SW.RECORD_NOT_FOUND
    assert tx(card, "00B2010400") == (b"\x01" * 100, SW.OK)


def test_torn_create_and_object_are_all_or_nothing() -> None:
    card = VirtualCard.blank()
    card.power_on()
    card.cut_power(1, When.MIDDLE, 0)
    assert card.process(CommandApdu(0, 0xE0, 0, 0, Fcp(0x0E03, FileStructure.TRANSPARENT, size=4).encode())
                        .encode()) == b""
    card.power_on()
    assert tx(card, "00A4000C020E03")[1] == SW.FILE_NOT_FOUND
    card.os.put_object("k", b"old")
    card.cut_power(1, When.MIDDLE)
    with pytest.raises(Exception, match="power lost"):
        card.os.put_object("k", b"new value that spans pages" * 5)
    assert card.os.get_object("k") == b"old"


def test_in_process_connection() -> None:
    card = _blank_with_file(4)
    card.power_off()
    with InProcessConnection(card) as conn:
        assert conn.atr == card.atr and card.powered
        assert conn.transmit(bytes.fromhex("00A4000C020E01")) == (b"", SW.OK)
        card.cut_power(1, When.AFTER)
        with pytest.raises(CardMuteError):
            conn.transmit(bytes.fromhex("00D6000001FF"))
        with pytest.raises(CardMuteError):
            conn.transmit(bytes.fromhex("00B0000001"))
        assert conn.reconnect() == card.atr
        conn.transmit(bytes.fromhex("00A4000C020E01"))
        assert conn.transmit(bytes.fromhex("00B0000001")) == (b"\xff", SW.OK)
    with pytest.raises(CardMuteError, match="closed"):
        conn.transmit(bytes.fromhex("00B0000001"))
