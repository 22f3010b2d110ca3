"""The status-list encodings measured against each other (issue 15 item 2), on synthetic lists: `listed`
random card serials of the Zhengzhou layout (10 digits, allocated at random by the registry) out of
`cards`, with the status mix of bench.scale_load. Size on the wire (payload, before the ~100-byte COSE
envelope) and the counter's decode time until a card can be looked up.

- sorted 64-bit keys, byte planes + zlib (chosen, kind 3): decode = zlib + slice assignment into an array;
- the same keys delta-coded (byte planes + zlib): smaller, but decoding needs a running sum, one Python int
  per entry;
- a bitstring indexed by card serial (4-bit status per serial, in the spirit of the OAuth Token Status
  List): needs densely allocated serials; over the random 10-digit serial space it would be 5 GB before
  compression, so it is measured as if serials were 1..cards (what the registry would have to give up:
  card numbers that cannot be guessed from a neighbour's);
- the former CBOR list (kind 2): one array per entry.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import zlib
from array import array
from itertools import accumulate, pairwise

import cbor2

from bench.report import Figure
from cardsvc.layout import builtin_layout
from cardsvc.status_list.codec import decode_payload, encode_payload
from cardsvc.status_list.compact import decode_full, encode_full
from cardsvc.status_list.index import StatusIndex, key_card, keys_from_le, keys_le
from cardsvc.status_list.model import ListStatus

SECTION = "status list encodings"
CODES = [int(ListStatus.LOST)] * 30 + [0x12, 0x32, 0x52] * 5 + [int(ListStatus.REVOKED_REPLACED)] * 20 \
    + [int(ListStatus.CANCELLED)] * 20 + [int(ListStatus.NOT_ISSUED)] * 10 + [int(ListStatus.SPOILED)] * 5


def _timed(fn: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    return best


def measure(cards: int = 1_000_000, listed: int = 100_000, *, cbor: bool = True) -> list[Figure]:
    rng = random.Random(7)
    layout = builtin_layout("zz")
    digits = layout.card_number.serial_digits
    prefix = int("1" + layout.card_number.prefix) * 10**digits
    keys = array("Q", sorted(prefix + s for s in rng.sample(range(10**digits), listed)))
    codes = bytes(rng.choice(CODES) for _ in range(listed))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    index = StatusIndex("410100", 1, now, now + dt.timedelta(days=1), keys, codes)
    out = []

    chosen = encode_full(index)
    value = cbor2.loads(chosen)
    out.append(Figure(SECTION, "sorted keys, byte planes + zlib (chosen)", len(chosen), "bytes",
                      note=f"decode to a bisectable array {_timed(lambda: decode_full(cbor2.loads(chosen))) * 1000:.1f}"
                           f" ms; {listed:,} of {cards:,}"))
    del value

    deltas = array("Q", [keys[0]] + [b - a for a, b in pairwise(keys)])
    raw = keys_le(deltas)
    packed = zlib.compress(b"".join(raw[i::8] for i in range(8)), 9) + zlib.compress(codes, 9)

    def delta_decode() -> None:
        planes = zlib.decompress(packed)[: 8 * listed]
        buf = bytearray(8 * listed)
        for i in range(8):
            buf[i::8] = planes[i * listed:(i + 1) * listed]
        array("Q", accumulate(keys_from_le(bytes(buf))))

    out.append(Figure(SECTION, "delta-coded sorted keys, byte planes + zlib", len(packed), "bytes",
                      note=f"decode (running sum) {_timed(delta_decode) * 1000:.1f} ms"))

    nibbles = bytearray(cards // 2 + 1)
    for slot, code in zip(rng.sample(range(cards), listed), codes, strict=True):
        nibbles[slot // 2] |= (code & 0x0F) << (4 * (slot % 2))
    bitstring = zlib.compress(bytes(nibbles), 9)
    out.append(Figure(SECTION, "bitstring by serial, 4 bits (dense serials only)", len(bitstring), "bytes",
                      note=f"decode {_timed(lambda: zlib.decompress(bitstring)) * 1000:.1f} ms; the registry's "
                           f"random {digits}-digit serials would need {10**digits // 2 / 1e9:.0f} GB before zlib"))
    if cbor:
        former = index.to_list()
        payload = encode_payload(former)
        out.append(Figure(SECTION, "former CBOR list (kind 2)", len(payload), "bytes",
                          note=f"decode {_timed(lambda: decode_payload(cbor2.loads(payload)), 1) * 1000:.0f} ms; "
                               f"zlib would make it {len(zlib.compress(payload, 9)):,} bytes"))
    assert key_card(keys[0])  # the synthetic keys are card numbers of the layout
    return out
