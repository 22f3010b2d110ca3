"""Command builders: one function per command form, returning a `CommandApdu` (bytes on the wire stay
`CommandApdu.encode`'s job). Host session, personalization plan and readers build their commands here.

Parameter checks raise `ValueError` naming the parameter. P1/P2 codings: ISO/IEC 7816-4 §7.2.2 (short
EF identifier in P1 b5-b1 with b8 set, or 15-bit offset), §7.3.3 (records: SFI in P2 b8-b4, reference
mode in b3-b1), §11.1 (SELECT P1 selection method, P2 04 = return FCP, 0C = no response data);
ISO/IEC 7816-9 §6 (file commands: the file by FID in the data field, or the current file).
"""

from __future__ import annotations

from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.ins import INS
from cardsvc.iso7816.tlv import encode_tlv

CLA = 0x00  # first interindustry class, basic channel, no SM, no chaining
CLA_PROPRIETARY = 0x80
MF_FID = 0x3F00
MAX_EVEN_OFFSET = 0x7FFF  # P1 b8 = 0: 15-bit offset in P1-P2
MAX_SFI_OFFSET = 0xFF  # P1 b8 = 1 (SFI in b5-b1): 8-bit offset in P2
TAG_OFFSET = 0x54  # odd-INS offset data object (ISO 7816-4 §11.2)
TAG_DISCRETIONARY = 0x53  # odd-INS data wrapper

# SELECT P1 (ISO 7816-4 §11.1, table "P1 selection"): by FID, by DF name, path from MF, path from current DF.
SELECT_BY_FID = 0x00
SELECT_BY_NAME = 0x04
SELECT_PATH_FROM_MF = 0x08
SELECT_PATH_FROM_DF = 0x09
RECORD_P1_P2 = 0x04  # P2 b3-b1 = 100: the record number is in P1
RECORD_APPEND = 0x00  # APPEND RECORD: P2 b3-b1 = 000


def check_sfi(sfi: int) -> int:
    if not 1 <= sfi <= 30:
        raise ValueError(f"sfi must be 1..30, got {sfi}")
    return sfi


def fid_bytes(fid: int) -> bytes:
    if not 0 <= fid <= 0xFFFF:
        raise ValueError(f"fid must be two bytes (0000..FFFF), got {fid!r}")
    return fid.to_bytes(2, "big")


def _record_number(number: int) -> int:
    if not 1 <= number <= 0xFE:
        raise ValueError(f"record number must be 1..254, got {number}")
    return number


def record_p2(sfi: int | None, mode: int) -> int:
    """SFI in b8-b4 (0 = current EF), reference mode in b3-b1 (ISO 7816-4 §7.3.3)."""
    return (0 if sfi is None else check_sfi(sfi) << 3) | mode


def offset_do(offset: int) -> bytes:
    return encode_tlv(TAG_OFFSET, offset.to_bytes(max(1, (offset.bit_length() + 7) // 8), "big"))


def _tag_p1p2(tag: int) -> tuple[int, int]:
    if not 0 < tag <= 0xFFFF:
        raise ValueError(f"tag must fit P1-P2 (0001..FFFF), got {tag!r}")
    return tag >> 8, tag & 0xFF


# --- selection (ISO 7816-4 §11.1) ------------------------------------------------------------------
def select(p1: int, data: bytes, *, fcp: bool = False) -> CommandApdu:
    """SELECT with P1 `p1`; P2 04 and Le 256 asks for the FCP/FCI, P2 0C for no response data."""
    p2, le = (0x04, 256) if fcp else (0x0C, None)
    return CommandApdu(CLA, INS.SELECT, p1, p2, data, le)


def select_mf(*, fcp: bool = False) -> CommandApdu:
    return select(SELECT_BY_FID, fid_bytes(MF_FID), fcp=fcp)


# --- data units (ISO 7816-4 §11.2) ------------------------------------------------------------------
def _binary_p1p2(offset: int, sfi: int | None) -> tuple[int, int]:
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    if sfi is not None:
        if offset > MAX_SFI_OFFSET:
            raise ValueError(f"offset {offset} exceeds {MAX_SFI_OFFSET} with an SFI; use the odd INS")
        return 0x80 | check_sfi(sfi), offset
    if offset > MAX_EVEN_OFFSET:
        raise ValueError(f"offset {offset} exceeds {MAX_EVEN_OFFSET}; use the odd INS")
    return offset >> 8, offset & 0xFF


def read_binary(offset: int = 0, *, le: int, sfi: int | None = None) -> CommandApdu:
    p1, p2 = _binary_p1p2(offset, sfi)
    return CommandApdu(CLA, INS.READ_BINARY, p1, p2, le=le)


def read_binary_odd(offset: int, *, le: int, sfi: int | None = None) -> CommandApdu:
    """Odd INS B1: P1-P2 = 00 SFI (0000: the current EF), offset in DO 54; the answer comes in DO 53."""
    return CommandApdu(CLA, INS.READ_BINARY_ODD, 0x00, 0 if sfi is None else check_sfi(sfi), offset_do(offset),
                       le=le)


def update_binary(data: bytes, offset: int = 0, *, sfi: int | None = None) -> CommandApdu:
    p1, p2 = _binary_p1p2(offset, sfi)
    return CommandApdu(CLA, INS.UPDATE_BINARY, p1, p2, data)


def update_binary_odd(data: bytes, offset: int, *, sfi: int | None = None) -> CommandApdu:
    """Odd INS D7: DO 54 offset then DO 53 data; the headers take at most 9 bytes."""
    body = offset_do(offset) + encode_tlv(TAG_DISCRETIONARY, data)
    return CommandApdu(CLA, INS.UPDATE_BINARY_ODD, 0x00, 0 if sfi is None else check_sfi(sfi), body)


# --- records (ISO 7816-4 §11.3) ---------------------------------------------------------------------
def read_record(number: int, *, le: int, sfi: int | None = None) -> CommandApdu:
    return CommandApdu(CLA, INS.READ_RECORD, _record_number(number), record_p2(sfi, RECORD_P1_P2), le=le)


def update_record(number: int, data: bytes, *, sfi: int | None = None) -> CommandApdu:
    return CommandApdu(CLA, INS.UPDATE_RECORD, _record_number(number), record_p2(sfi, RECORD_P1_P2), data)


def append_record(data: bytes, *, sfi: int | None = None) -> CommandApdu:
    return CommandApdu(CLA, INS.APPEND_RECORD, 0x00, record_p2(sfi, RECORD_APPEND), data)


# --- file management (ISO 7816-9 §6) ----------------------------------------------------------------
def create_file(fcp: bytes) -> CommandApdu:
    """CREATE FILE from an encoded FCP template ('62'); the new file becomes the current file."""
    return CommandApdu(CLA, INS.CREATE_FILE, 0x00, 0x00, fcp)


def _file_command(ins: INS, fid: int | None) -> CommandApdu:
    """The child `fid` of the current DF, or (no data) the current file."""
    return CommandApdu(CLA, ins, 0x00, 0x00, b"" if fid is None else fid_bytes(fid))


def delete_file(fid: int | None = None) -> CommandApdu:
    return _file_command(INS.DELETE_FILE, fid)


def activate_file(fid: int | None = None) -> CommandApdu:
    return _file_command(INS.ACTIVATE_FILE, fid)


def deactivate_file(fid: int | None = None) -> CommandApdu:
    return _file_command(INS.DEACTIVATE_FILE, fid)


def terminate_file(fid: int | None = None, *, df: bool = False) -> CommandApdu:
    """TERMINATE EF (E8) or, with `df`, TERMINATE DF (E6): irreversible."""
    return _file_command(INS.TERMINATE_DF if df else INS.TERMINATE_EF, fid)


# --- data objects (ISO 7816-4 §11.4) ----------------------------------------------------------------
def get_data(tag: int, *, le: int) -> CommandApdu:
    p1, p2 = _tag_p1p2(tag)
    return CommandApdu(CLA, INS.GET_DATA, p1, p2, le=le)


def put_data(tag: int, data: bytes) -> CommandApdu:
    p1, p2 = _tag_p1p2(tag)
    return CommandApdu(CLA, INS.PUT_DATA, p1, p2, data)


# --- security (ISO 7816-4 §11.5, ISO 7816-8 §5.1) --------------------------------------------------
def key_p2(key_ref: int, df_specific: bool = True) -> int:
    """P2 of the key commands: b8 = 1 a key of the current application, 0 a global (MF) key; b5-b1 the
    reference (1-14: the key numbers a compact security condition byte can name)."""
    if not 1 <= key_ref <= 14:
        raise ValueError(f"key_ref: {key_ref} is outside 1..14")
    return (0x80 if df_specific else 0x00) | key_ref


def get_challenge(length: int) -> CommandApdu:
    if not 1 <= length <= 256:
        raise ValueError(f"challenge length must be 1..256, got {length}")
    return CommandApdu(CLA, INS.GET_CHALLENGE, 0x00, 0x00, le=length)


def mutual_authenticate(key_ref: int, cryptogram: bytes, *, le: int) -> CommandApdu:
    return CommandApdu(CLA, INS.MUTUAL_AUTHENTICATE, 0x00, key_p2(key_ref), cryptogram, le=le)


def internal_authenticate(key_ref: int, challenge: bytes, *, le: int, df_specific: bool = True) -> CommandApdu:
    return CommandApdu(CLA, INS.INTERNAL_AUTHENTICATE, 0x00, key_p2(key_ref, df_specific), challenge, le=le)


def generate_key_pair(key_ref: int, p1: int, *, le: int, df_specific: bool = True, data: bytes = b"") -> CommandApdu:
    """`data` may name the algorithm (ISO/IEC 7816-8 §5.1: control reference template)."""
    return CommandApdu(CLA, INS.GENERATE_ASYMMETRIC_KEY_PAIR, p1, key_p2(key_ref, df_specific), data, le=le)


def put_key(key_ref: int, data: bytes, *, df_specific: bool = True) -> CommandApdu:
    """PUT KEY (proprietary class): P1 01 a symmetric key; P2 80 | reference into the current
    application, or the bare reference (b8 = 0) into the MF."""
    return CommandApdu(CLA_PROPRIETARY, INS.PUT_KEY, 0x01, key_p2(key_ref, df_specific), data)


# --- transmission (ISO 7816-4 §11.7) ----------------------------------------------------------------
def get_response(le: int, cla: int = CLA) -> CommandApdu:
    return CommandApdu(cla, INS.GET_RESPONSE, 0x00, 0x00, le=le)
