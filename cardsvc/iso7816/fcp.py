"""File control parameters and compact security attributes (ISO/IEC 7816-4:2020 §7.4).

FCP template '62': 80 data size, 82 file descriptor, 83 file identifier, 84 DF name, 88 short EF
identifier, 8A life-cycle status, 8C security attributes in compact format (§7.4.3, tables 19-21).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from cardsvc.iso7816.errors import FcpError, TlvError
from cardsvc.iso7816.tlv import encode_tlv, parse_single, tlv_map

TAG_FCP = 0x62
TAG_SIZE = 0x80
TAG_DESCRIPTOR = 0x82
TAG_FID = 0x83
TAG_DF_NAME = 0x84
TAG_SFI = 0x88
TAG_LIFECYCLE = 0x8A
TAG_SECURITY_COMPACT = 0x8C


class FileStructure(IntEnum):
    """File descriptor byte values, shareable bit b7 clear (§7.4.5, table 12)."""

    TRANSPARENT = 0x01
    LINEAR_FIXED = 0x02
    LINEAR_VARIABLE = 0x04
    CYCLIC = 0x06
    DF = 0x38

    @property
    def is_record(self) -> bool:
        return self in (FileStructure.LINEAR_FIXED, FileStructure.LINEAR_VARIABLE, FileStructure.CYCLIC)


class LifeCycle(IntEnum):
    """Life-cycle status byte (§7.4.10, table 15)."""

    CREATION = 0x01
    INITIALISATION = 0x03
    DEACTIVATED = 0x04
    ACTIVATED = 0x05
    TERMINATED = 0x0C


class EfOp(IntFlag):
    """Access-mode byte bits for an EF (§7.4.3, table 17)."""

    READ = 0x01
    UPDATE = 0x02
    WRITE = 0x04  # WRITE BINARY/RECORD and APPEND RECORD
    DEACTIVATE = 0x08
    ACTIVATE = 0x10
    TERMINATE = 0x20
    DELETE = 0x40


class DfOp(IntFlag):
    """Access-mode byte bits for a DF (§7.4.3, table 18)."""

    DELETE_CHILD = 0x01
    CREATE_EF = 0x02
    CREATE_DF = 0x04
    DEACTIVATE = 0x08
    ACTIVATE = 0x10
    TERMINATE = 0x20
    DELETE = 0x40


_SC_ALL = 0x80  # all conditions must hold (else: at least one)
_SC_SM = 0x40
_SC_EXT_AUTH = 0x20
_SC_USER_AUTH = 0x10


@dataclass(frozen=True, slots=True)
class AccessCondition:
    """One security-condition byte (§7.4.3, table 20): always, never, a key, secure messaging, or both.

    `key_ref` is the security environment number (1-14) that our cards use as the key reference
    that must have been authenticated by EXTERNAL or MUTUAL AUTHENTICATE.
    """

    never: bool = False
    key_ref: int | None = None
    sm: bool = False

    def __post_init__(self) -> None:
        if self.key_ref is not None and not 1 <= self.key_ref <= 14:
            raise ValueError(f"key_ref must be 1..14, got {self.key_ref}")
        if self.never and (self.key_ref is not None or self.sm):
            raise ValueError("a NEVER condition takes no key or secure messaging")

    @property
    def always(self) -> bool:
        return not self.never and self.key_ref is None and not self.sm

    def to_sc_byte(self) -> int:
        if self.never:
            return 0xFF
        if self.always:
            return 0x00
        sc = 0
        if self.key_ref is not None:
            sc |= _SC_EXT_AUTH | self.key_ref
        if self.sm:
            sc |= _SC_SM
        if self.key_ref is not None and self.sm:
            sc |= _SC_ALL
        return sc

    @classmethod
    def from_sc_byte(cls, sc: int) -> AccessCondition:
        if sc == 0xFF:
            return NEVER
        if sc == 0x00:
            return ALWAYS
        se = sc & 0x0F
        sm = bool(sc & _SC_SM)
        if sc & _SC_USER_AUTH:
            raise ValueError(f"SC byte {sc:02X}: user authentication (PIN) is not used by our cards")
        if bool(sc & _SC_EXT_AUTH) != bool(se):
            raise ValueError(f"SC byte {sc:02X}: external authentication needs a key number 1-14 in b4-b1")
        if se == 0x0F:
            raise ValueError(f"SC byte {sc:02X}: key number 15 is reserved")
        if se and sm and not sc & _SC_ALL:
            raise ValueError(f"SC byte {sc:02X}: key and SM must both hold (b8 set)")
        return cls(key_ref=se or None, sm=sm)

    def __str__(self) -> str:
        if self.never:
            return "never"
        if self.always:
            return "always"
        parts = (["sm"] if self.sm else []) + ([f"key#{self.key_ref}"] if self.key_ref else [])
        return "+".join(parts)


ALWAYS = AccessCondition()
NEVER = AccessCondition(never=True)


@dataclass(frozen=True, slots=True)
class SecurityAttributes:
    """Access rules by access-mode bit; an operation with no rule is NEVER allowed (fail closed)."""

    rules: Mapping[int, AccessCondition] = field(default_factory=dict)

    def condition(self, op: int) -> AccessCondition:
        return self.rules.get(int(op), NEVER)

    def encode_compact(self) -> bytes:
        am = 0
        for bit in self.rules:
            if bit not in (1, 2, 4, 8, 16, 32, 64):
                raise ValueError(f"access-mode bit {bit:#x} is not one of b1-b7")
            am |= bit
        # SC bytes follow in the order b7 .. b1 of the AM byte (§7.4.3).
        scs = bytes(self.rules[bit].to_sc_byte() for bit in (64, 32, 16, 8, 4, 2, 1) if am & bit)
        return bytes((am,)) + scs

    @classmethod
    def parse_compact(cls, raw: bytes) -> SecurityAttributes:
        if not raw:
            raise ValueError("empty compact security attributes")
        am = raw[0]
        if am & 0x80:
            raise ValueError(f"AM byte {am:02X}: b8 (command-description form) is not supported")
        bits = [bit for bit in (64, 32, 16, 8, 4, 2, 1) if am & bit]
        if len(raw) != 1 + len(bits):
            raise ValueError(f"AM byte {am:02X} announces {len(bits)} SC bytes, found {len(raw) - 1}")
        return cls({bit: AccessCondition.from_sc_byte(sc) for bit, sc in zip(bits, raw[1:], strict=True)})


@dataclass(frozen=True, slots=True)
class Fcp:
    fid: int | None
    structure: FileStructure
    size: int | None = None  # data bytes of a transparent EF, or record length × count of a record EF
    record_length: int | None = None
    record_count: int | None = None
    sfi: int | None = None
    df_name: bytes | None = None
    lifecycle: LifeCycle | None = None
    security: SecurityAttributes | None = None

    def __post_init__(self) -> None:
        if self.fid is not None and not 0 <= self.fid <= 0xFFFF:
            raise ValueError(f"fid {self.fid!r} is not two bytes")
        if self.sfi is not None and not 1 <= self.sfi <= 30:
            raise ValueError(f"sfi must be 1..30, got {self.sfi}")
        if self.df_name is not None and not 1 <= len(self.df_name) <= 16:
            raise ValueError(f"DF name must be 1..16 bytes, got {len(self.df_name)}")
        if self.structure.is_record and (self.record_length is None or self.record_count is None):
            raise ValueError("a record EF needs record_length and record_count")

    def encode(self) -> bytes:
        body = b""
        if self.size is not None:
            body += encode_tlv(TAG_SIZE, self.size.to_bytes(2 if self.size <= 0xFFFF else 3, "big"))
        descriptor = bytes((self.structure, 0x21 if self.structure != FileStructure.DF else 0x00))
        if self.structure.is_record:
            assert self.record_length is not None and self.record_count is not None
            descriptor = descriptor[:1] + b"\x21" + self.record_length.to_bytes(2, "big")
            descriptor += bytes((self.record_count,)) if self.record_count <= 0xFF else (
                self.record_count.to_bytes(2, "big"))
        elif self.structure == FileStructure.DF:
            descriptor = descriptor[:1]
        body += encode_tlv(TAG_DESCRIPTOR, descriptor)
        if self.fid is not None:
            body += encode_tlv(TAG_FID, self.fid.to_bytes(2, "big"))
        if self.df_name is not None:
            body += encode_tlv(TAG_DF_NAME, self.df_name)
        if self.sfi is not None:
            body += encode_tlv(TAG_SFI, bytes((self.sfi << 3,)))  # §7.4.7: SFI in b8-b4
        if self.lifecycle is not None:
            body += encode_tlv(TAG_LIFECYCLE, bytes((self.lifecycle,)))
        if self.security is not None:
            body += encode_tlv(TAG_SECURITY_COMPACT, self.security.encode_compact())
        return encode_tlv(TAG_FCP, body)

    @classmethod
    def parse(cls, raw: bytes) -> Fcp:
        """Parse a '62' template; every problem names the tag it was found in."""
        try:
            template = parse_single(raw, TAG_FCP)
            fields = tlv_map(template.value, offset_base=template.header_length)
        except FcpError:
            raise
        except TlvError as exc:
            raise FcpError(exc.reason, exc.offset, exc.tag) from None
        if TAG_DESCRIPTOR not in fields:
            raise FcpError("file descriptor (82) missing", 0, TAG_FCP)
        try:
            return cls._from_fields(fields)
        except ValueError as exc:
            raise FcpError(str(exc), 0, TAG_FCP) from None

    @classmethod
    def _from_fields(cls, fields: dict[int, bytes]) -> Fcp:
        descriptor = fields[TAG_DESCRIPTOR]
        if not 1 <= len(descriptor) <= 6:
            raise ValueError(f"file descriptor (82) of {len(descriptor)} bytes")
        try:
            structure = FileStructure(descriptor[0] & 0xBF)  # b7 is 'shareable'
        except ValueError:
            raise ValueError(f"file descriptor byte {descriptor[0]:02X} is not a supported structure") from None
        record_length = record_count = None
        if structure.is_record:
            if len(descriptor) < 5:
                raise ValueError("record EF descriptor (82) needs max record size and record count")
            record_length = int.from_bytes(descriptor[2:4], "big")
            record_count = int.from_bytes(descriptor[4:], "big")
            if record_length == 0 or record_count == 0:
                raise ValueError("record length and count must be positive")
        fid = _int_field(fields, TAG_FID, 2, 2)
        size = _int_field(fields, TAG_SIZE, 1, 3)
        sfi_raw = fields.get(TAG_SFI)
        sfi = None
        if sfi_raw is not None:
            if len(sfi_raw) != 1 or sfi_raw[0] & 0x07:
                raise ValueError("SFI (88) must be one byte with b3-b1 clear")
            sfi = sfi_raw[0] >> 3
        lifecycle = None
        if TAG_LIFECYCLE in fields:
            lcs = fields[TAG_LIFECYCLE]
            if len(lcs) != 1:
                raise ValueError("life-cycle status (8A) must be one byte")
            try:
                lifecycle = LifeCycle(lcs[0])
            except ValueError:
                raise ValueError(f"life-cycle status {lcs[0]:02X} is not supported") from None
        security = None
        if TAG_SECURITY_COMPACT in fields:
            security = SecurityAttributes.parse_compact(fields[TAG_SECURITY_COMPACT])
        return cls(fid, structure, size, record_length, record_count, sfi,
                   fields.get(TAG_DF_NAME), lifecycle, security)


def _int_field(fields: dict[int, bytes], tag: int, min_len: int, max_len: int) -> int | None:
    raw = fields.get(tag)
    if raw is None:
        return None
    if not min_len <= len(raw) <= max_len:
        raise ValueError(f"tag {tag:02X} must be {min_len}..{max_len} bytes, got {len(raw)}")
    return int.from_bytes(raw, "big")
