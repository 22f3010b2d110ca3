"""Modeled time of an APDU exchange on a contact link (ISO 7816-3), beside the link's floor.

A character on the contact interface is 10 bits at the link's bit rate (start bit, 8 data bits, parity;
the guard time of 2 ETU is taken as 0 here, the T=1 minimum with CWT, ISO 7816-3 §11.2/§7.2). So
`bytes × 10 / rate` is the transfer time; each APDU adds a turnaround: T=1 framing (prologue NAD PCB
LEN + 1-byte LRC epilogue, both directions: 8 characters) and the card's processing time before it
answers. The floor is the data stored on the card alone, sent once at the same rate, no headers, no
turnaround: no reader can do better on that link.
"""

from __future__ import annotations

from dataclasses import dataclass

BITS_PER_CHARACTER = 10
T1_FRAMING_BYTES = 8  # 4 prologue/epilogue bytes per block, one block each way
CARD_TURNAROUND_S = 0.001  # a CPU card's command processing between the last command byte and the answer


@dataclass(frozen=True, slots=True)
class Link:
    name: str
    bits_per_second: float

    def transfer(self, nbytes: int) -> float:
        return nbytes * BITS_PER_CHARACTER / self.bits_per_second

    def modeled(self, apdus: int, bytes_on_wire: int, turnaround: float = CARD_TURNAROUND_S) -> float:
        """Seconds for `apdus` exchanges carrying `bytes_on_wire` (commands + responses incl. SW)."""
        return self.transfer(bytes_on_wire + apdus * T1_FRAMING_BYTES) + apdus * turnaround

    def floor(self, data_bytes: int) -> float:
        return self.transfer(data_bytes)


# Design §6: a fast contact link after PPS (common readers reach 344-413 kbit/s) and the 9600 bit/s
# default every card starts at (3.57 MHz, Fi 372, Di 1; docs: shared/notes/standards.md "Cards and links").
FAST = Link("412 kbit/s", 412_000)
DEFAULT = Link("9600 bit/s", 9_600)
LINKS = (FAST, DEFAULT)
