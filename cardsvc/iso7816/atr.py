"""Answer-to-reset parsing (ISO/IEC 7816-3:2006 §8.2) and card capabilities (ISO/IEC 7816-4 §12.1.1).

Only what a reader needs: TA1 (Fi/Di, hence the link speed after PPS), the offered protocols, the
historical bytes, and whether the card takes extended Lc/Le and command chaining.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardsvc.iso7816.errors import AtrError

# ISO 7816-3 tables 7 and 8; None marks RFU values.
FI_TABLE: tuple[int | None, ...] = (372, 372, 558, 744, 1116, 1488, 1860, None,
                                    None, 512, 768, 1024, 1536, 2048, None, None)
DI_TABLE: tuple[int | None, ...] = (None, 1, 2, 4, 8, 16, 32, 64, 12, 20, None, None, None, None, None, None)
DEFAULT_CLOCK_HZ = 3_570_000  # typical contact reader clock (3.57 MHz)


@dataclass(frozen=True, slots=True)
class CardCapabilities:
    """Third software function table byte (ISO 7816-4 §12.1.1.9, compact-TLV tag 7)."""

    command_chaining: bool
    extended_length: bool
    logical_channels: int


@dataclass(frozen=True, slots=True)
class Atr:
    raw: bytes
    convention_direct: bool
    fi: int
    di: int
    protocols: tuple[int, ...]
    historical_bytes: bytes
    capabilities: CardCapabilities | None

    @property
    def extended_length(self) -> bool:
        return self.capabilities is not None and self.capabilities.extended_length

    @property
    def command_chaining(self) -> bool:
        return self.capabilities is not None and self.capabilities.command_chaining

    def bit_rate(self, clock_hz: int = DEFAULT_CLOCK_HZ) -> float:
        """Link speed after a PPS selecting TA1's Fi/Di: f·Di/Fi bit/s."""
        return clock_hz * self.di / self.fi

    @classmethod
    def parse(cls, raw: bytes) -> Atr:
        if len(raw) < 2:
            raise AtrError(f"ATR of {len(raw)} bytes; TS and T0 are required")
        if len(raw) > 33:
            raise AtrError(f"ATR of {len(raw)} bytes is longer than the 33 ISO 7816-3 allows")
        ts = raw[0]
        if ts not in (0x3B, 0x3F):
            raise AtrError(f"byte 0: TS {ts:02X} is neither 3B (direct) nor 3F (inverse)")
        pos = 1
        y = raw[pos] >> 4
        k = raw[pos] & 0x0F
        pos += 1
        ta1: int | None = None
        protocols: list[int] = []
        level = 1
        while True:
            interface: dict[str, int] = {}
            for bit, name in ((0x1, "TA"), (0x2, "TB"), (0x4, "TC"), (0x8, "TD")):
                if y & bit:
                    if pos >= len(raw):
                        raise AtrError(f"byte {pos}: ATR ends where {name}{level} was announced")
                    interface[name] = raw[pos]
                    pos += 1
            if level == 1 and "TA" in interface:
                ta1 = interface["TA"]
            if "TD" not in interface:
                break
            td = interface["TD"]
            protocols.append(td & 0x0F)
            y = td >> 4
            level += 1
        if pos + k > len(raw):
            raise AtrError(f"byte {pos}: {k} historical bytes announced, {len(raw) - pos} present")
        historical = bytes(raw[pos : pos + k])
        pos += k
        if any(p != 0 for p in protocols):  # TCK present and must XOR T0..TCK to zero (§8.2.5)
            if pos != len(raw) - 1:
                raise AtrError(f"byte {pos}: expected exactly one TCK byte, found {len(raw) - pos}")
            check = 0
            for b in raw[1:]:
                check ^= b
            if check:
                raise AtrError(f"byte {pos}: TCK mismatch (XOR of T0..TCK is {check:02X}, must be 00)")
        elif pos != len(raw):
            raise AtrError(f"byte {pos}: {len(raw) - pos} unexpected bytes after the historical bytes")
        fi_index, di_index = (ta1 >> 4, ta1 & 0x0F) if ta1 is not None else (1, 1)
        fi, di = FI_TABLE[fi_index], DI_TABLE[di_index]
        if fi is None or di is None:
            raise AtrError(f"TA1 {ta1:02X} names a reserved Fi or Di")
        return cls(bytes(raw), ts == 0x3B, fi, di, tuple(protocols) or (0,), historical,
                   _capabilities(historical))


def _capabilities(historical: bytes) -> CardCapabilities | None:
    """Find compact-TLV tag 7 (card capabilities) when the category indicator is 80 (§12.1.1.2)."""
    if not historical or historical[0] != 0x80:
        return None
    pos = 1
    while pos < len(historical):
        tag, length = historical[pos] >> 4, historical[pos] & 0x0F
        value = historical[pos + 1 : pos + 1 + length]
        if len(value) != length:
            return None
        if tag == 0x7 and length >= 3:
            third = value[2]
            return CardCapabilities(bool(third & 0x80), bool(third & 0x40), (third & 0x07) + 1)
        pos += 1 + length
    return None


def build_historical_bytes(extended_length: bool = True, command_chaining: bool = True) -> bytes:
    """Historical bytes announcing capabilities: category 80, then compact-TLV 73 with three bytes."""
    third = (0x80 if command_chaining else 0) | (0x40 if extended_length else 0)
    # First byte: DF selection by full name, path, FID; short EF identifier supported (table 116).
    # Second byte: data coding byte 0x21 (one-byte data units, BER-TLV tag first byte FF invalid).
    return bytes((0x80, 0x73, 0xB4, 0x21, third))
