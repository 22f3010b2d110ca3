"""The INS vocabulary and the command builders: golden bytes from the ISO/IEC 7816-4/-8/-9 codings, and
host and card OS speaking the same INS set."""

from __future__ import annotations

import pytest

from applets.commands import admin, binary, record, select
from applets.security import commands as security_commands
from cardsvc.iso7816 import commands as cmd
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.ins import INS, SECRET_INS


@pytest.mark.parametrize(("command", "wire"), [
    (cmd.select_mf(), "00A4000C023F00"),  # P1 00 by FID, P2 0C no response data
    (cmd.select_mf(fcp=True), "00A40004023F0000"),  # P2 04 return FCP, Le 256 ('00')
    (cmd.select(cmd.SELECT_BY_NAME, bytes.fromhex("D156000001")), "00A4040C05D156000001"),
    (cmd.read_binary(0, le=256, sfi=1), "00B0810000"),  # P1 b8 set, SFI 1; offset 0 in P2
    (cmd.read_binary(0x1234, le=16), "00B0123410"),  # 15-bit offset in P1-P2
    (cmd.read_binary_odd(0x8000, le=256), "00B100000454028000" + "00"),  # offset in DO 54
    (cmd.update_binary(b"\xAA", 2, sfi=30), "00D69E0201AA"),
    (cmd.update_binary_odd(b"\xBB", 0x10000), "00D70000085403010000" + "5301BB"),
    (cmd.read_record(2, le=256, sfi=3), "00B2021C00"),  # SFI 3 in P2 b8-b4, mode 100: number in P1
    (cmd.read_record(1, le=256), "00B2010400"),  # current EF
    (cmd.update_record(5, b"\x01", sfi=1), "00DC050C0101"),
    (cmd.append_record(b"\x01\x02", sfi=5), "00E200280201" + "02"),
    (cmd.create_file(bytes.fromhex("6203820101")), "00E00000056203820101"),
    (cmd.delete_file(0x1001), "00E40000021001"),
    (cmd.activate_file(), "00440000"),
    (cmd.deactivate_file(0x0001), "00040000020001"),
    (cmd.terminate_file(0x0001), "00E80000020001"),
    (cmd.terminate_file(0x1001, df=True), "00E60000021001"),
    (cmd.get_data(0x5F2D, le=256), "00CA5F2D00"),
    (cmd.put_data(0x0101, b"\x00"), "00DA01010100"),
    (cmd.get_challenge(16), "0084000010"),
    (cmd.mutual_authenticate(2, b"\x11" * 4, le=56), "0082008204111111" + "1138"),
    (cmd.internal_authenticate(14, b"\x22" * 2, le=64), "0088008E02222240"),
    (cmd.generate_key_pair(14, 0x80, le=256, df_specific=False), "0046800E00"),
    (cmd.put_key(3, b"\x83\x00"), "80D80183028300"),
    (cmd.get_response(0x20, cla=0x01), "01C0000020"),
])
def test_builders_encode_the_standard_codings(command: CommandApdu, wire: str) -> None:
    assert command.encode().hex().upper() == wire


@pytest.mark.parametrize(("build", "message"), [
    (lambda: cmd.read_binary(0, le=1, sfi=31), "sfi must be 1..30"),
    (lambda: cmd.read_binary(0x100, le=1, sfi=1), "use the odd INS"),
    (lambda: cmd.read_binary(0x8000, le=1), "use the odd INS"),
    (lambda: cmd.update_binary(b"x", -1), "offset must not be negative"),
    (lambda: cmd.read_record(0, le=1), "record number must be 1..254"),
    (lambda: cmd.read_record(255, le=1), "record number must be 1..254"),
    (lambda: cmd.delete_file(0x10000), "fid must be two bytes"),
    (lambda: cmd.get_data(0, le=1), "tag must fit P1-P2"),
    (lambda: cmd.get_challenge(0), "challenge length must be 1..256"),
    (lambda: cmd.internal_authenticate(15, b"", le=1), "key_ref: 15 is outside 1..14"),
    (lambda: cmd.put_key(0, b""), "key_ref: 0 is outside 1..14"),
])
def test_builders_refuse_parameters_by_name(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_no_ins_is_a_status_byte() -> None:
    """ISO 7816-4 §5.4.2: INS values 6X and 9X are invalid (they would be read as SW1)."""
    assert all(ins & 0xF0 not in (0x60, 0x90) for ins in INS)
    assert len({int(i) for i in INS}) == len(INS)  # no alias: one name per byte


def test_secret_commands_are_the_authentication_and_key_ones() -> None:
    assert {INS.VERIFY, INS.MUTUAL_AUTHENTICATE, INS.PUT_KEY} <= SECRET_INS
    assert not {INS.SELECT, INS.READ_BINARY, INS.GET_CHALLENGE, INS.INTERNAL_AUTHENTICATE} & SECRET_INS


def test_card_os_dispatches_every_command_the_host_builds() -> None:
    """The applets' dispatch tables are keyed by the same vocabulary the host builds its commands with."""
    interindustry = {ins for m in (admin, binary, record, select, security_commands) for ins in m.HANDLERS}
    proprietary = set(security_commands.PROPRIETARY_HANDLERS)
    assert all(isinstance(ins, INS) for ins in interindustry | proprietary)
    built = [cmd.select_mf(), cmd.read_binary(0, le=1), cmd.read_binary_odd(0, le=1), cmd.update_binary(b"x"),
             cmd.update_binary_odd(b"x", 0), cmd.read_record(1, le=1), cmd.update_record(1, b"x"),
             cmd.append_record(b"x"), cmd.create_file(b"\x62\x00"), cmd.delete_file(), cmd.activate_file(),
             cmd.deactivate_file(), cmd.terminate_file(), cmd.terminate_file(df=True), cmd.get_challenge(8),
             cmd.mutual_authenticate(1, b"x", le=1), cmd.internal_authenticate(1, b"x", le=1),
             cmd.generate_key_pair(1, 0x80, le=1), cmd.get_response(1)]
    assert {c.ins for c in built} <= interindustry
    assert cmd.put_key(1, b"").ins in proprietary
