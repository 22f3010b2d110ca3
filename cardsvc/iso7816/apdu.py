"""Command and response APDUs (ISO/IEC 7816-3:2006 §12.1, ISO/IEC 7816-4:2020 §5.1-5.2).

Cases: 1 (header only), 2 (Le), 3 (Lc + data), 4 (Lc + data + Le); short (Lc ≤ 255, Le ≤ 256) or
extended (Lc ≤ 65535, Le ≤ 65536). Le is held as the number of bytes expected: 256 is short '00',
65536 is extended '0000'.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardsvc.iso7816.errors import MalformedApduError, MalformedResponseError
from cardsvc.iso7816.sw import SW

MAX_SHORT_LC = 255
MAX_SHORT_LE = 256
MAX_EXTENDED_LC = 65535
MAX_EXTENDED_LE = 65536

CLA_CHAINING = 0x10  # ISO 7816-4 §5.4.1: b5 set on every command of a chain but the last
CLA_SM_MASK = 0x0C  # b4-b3: secure messaging indication for first interindustry CLA


@dataclass(frozen=True, slots=True)
class CommandApdu:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    is_extended: bool = False  # set by parse(); encode() decides afresh unless told

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ValueError(f"{name} must be one byte, got {value!r}")
        if len(self.data) > MAX_EXTENDED_LC:
            raise ValueError(f"data is {len(self.data)} bytes, more than Lc can carry ({MAX_EXTENDED_LC})")
        if self.le is not None and not 1 <= self.le <= MAX_EXTENDED_LE:
            raise ValueError(f"le must be 1..{MAX_EXTENDED_LE} or None, got {self.le}")

    @property
    def case(self) -> int:
        if self.data:
            return 4 if self.le is not None else 3
        return 2 if self.le is not None else 1

    @property
    def chained(self) -> bool:
        return self.cla & 0x80 == 0 and bool(self.cla & CLA_CHAINING)

    @property
    def secure_messaging(self) -> bool:
        return self.cla & 0x80 == 0 and bool(self.cla & CLA_SM_MASK)

    @property
    def needs_extended(self) -> bool:
        return len(self.data) > MAX_SHORT_LC or (self.le is not None and self.le > MAX_SHORT_LE)

    def with_le(self, le: int | None) -> CommandApdu:
        return CommandApdu(self.cla, self.ins, self.p1, self.p2, self.data, le)

    def encode(self, extended: bool | None = None) -> bytes:
        """Encode; `extended=None` uses extended length only when the fields need it."""
        use_extended = self.needs_extended if extended is None else extended
        if not use_extended and self.needs_extended:
            raise ValueError("fields exceed short APDU limits; extended length or chaining needed")
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        nc = len(self.data)
        if not use_extended:
            body = b""
            if nc:
                body += bytes((nc,)) + self.data
            if self.le is not None:
                body += bytes((self.le & 0xFF,))  # 256 -> 00
            return header + body
        if self.case == 1:
            return header
        body = b"\x00"
        if nc:
            body += nc.to_bytes(2, "big") + self.data
        if self.le is not None:
            body += (self.le & 0xFFFF).to_bytes(2, "big")  # 65536 -> 0000
        return header + body

    @classmethod
    def parse(cls, raw: bytes) -> CommandApdu:
        """Decode command bytes; anything that is not one of the seven encodings is refused with 6700."""
        if len(raw) < 4:
            raise MalformedApduError(f"{len(raw)} bytes, a header needs 4")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        if cla == 0xFF:
            raise MalformedApduError("CLA FF is reserved for PPS", SW.CLA_NOT_SUPPORTED)
        if ins & 0xF0 in (0x60, 0x90):
            raise MalformedApduError(f"INS {ins:02X} is invalid (6X/9X)", SW.INS_NOT_SUPPORTED)
        body = raw[4:]
        n = len(body)
        if n == 0:
            return cls(cla, ins, p1, p2)
        if n == 1:  # case 2 short
            return cls(cla, ins, p1, p2, b"", body[0] or 256)
        if body[0] != 0:  # short case 3 or 4
            lc = body[0]
            if n == 1 + lc:
                return cls(cla, ins, p1, p2, bytes(body[1:]))
            if n == 2 + lc:
                return cls(cla, ins, p1, p2, bytes(body[1 : 1 + lc]), body[-1] or 256)
            raise MalformedApduError(f"Lc is {lc} but {n - 1} bytes follow it")
        # body[0] == 0 and more than one byte: extended.
        if n == 3:  # case 2 extended
            le = int.from_bytes(body[1:3], "big") or 65536
            return cls(cla, ins, p1, p2, b"", le, is_extended=True)
        if n < 3:
            raise MalformedApduError(f"{n}-byte body starting 00 is neither short Le nor extended")
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise MalformedApduError("extended Lc of 0")
        if n == 3 + lc:
            return cls(cla, ins, p1, p2, bytes(body[3:]), None, is_extended=True)
        if n == 5 + lc:
            le = int.from_bytes(body[-2:], "big") or 65536
            return cls(cla, ins, p1, p2, bytes(body[3 : 3 + lc]), le, is_extended=True)
        raise MalformedApduError(f"extended Lc is {lc} but {n - 3} bytes follow it")

    def __repr__(self) -> str:
        le = "" if self.le is None else f" le={self.le}"
        return (f"CommandApdu({self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X}"
                f" lc={len(self.data)}{le})")


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW.OK

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @classmethod
    def parse(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            raise MalformedResponseError(f"response of {len(raw)} bytes has no status word")
        sw = int.from_bytes(raw[-2:], "big")
        if raw[-2] & 0xF0 not in (0x60, 0x90):
            raise MalformedResponseError(f"SW1 {raw[-2]:02X} is not a status byte (must be 6X or 9X)")
        return cls(bytes(raw[:-2]), sw)
