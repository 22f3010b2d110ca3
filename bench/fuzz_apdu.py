"""Random and mutated command APDUs into the virtual card (design §7: malformed APDUs into the simulator
give a clear error, never a crash).

For every input the card must answer (it is powered), with a status word that ISO 7816-4 §5.6 defines
(9000 or SW1 61-6F), never 6F00 (the card OS's answer to an internal fault: a bug), and with no more
response data than the command's Ne allowed (none when it had no Le or could not be parsed). Every
`image_every` inputs the card image is saved and loaded again and must come back identical; then the
card restarts from a pristine state, blank or issued, so the campaign covers both.

Inputs mix purely random bytes, structurally plausible commands (known CLA forms, any INS, short and
extended cases), mutations of a real issuance's and verification's traffic (bit flips, byte
replacement, truncation, extension, Lc/Le damage, CLA changes such as SM, chaining and logical channels),
and that traffic itself in order, so the mutants also meet a card in the states a session leaves it in.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from bench.report import Campaign
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.errors import CardError
from cardsvc.iso7816.sw import SW
from simulator import VirtualCard

CLAS = (0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0C, 0x10, 0x1C, 0x40, 0x41, 0x60, 0x80, 0x84, 0x8C, 0x90, 0xA0,
        0xE0, 0xFF)


def valid_sw(sw: int) -> bool:
    """A status word ISO 7816-4 §5.6 defines: 9000, or SW1 61-6F (6F00 is checked separately)."""
    return sw == SW.OK or 0x61 <= sw >> 8 <= 0x6F


def allowed_data(raw: bytes) -> int:
    """Most response data bytes a card may return to `raw`: Ne when it parses, else none."""
    try:
        apdu = CommandApdu.parse(raw)
    except CardError:
        return 0
    return apdu.le or 0


# ---------------------------------------------------------------- input generators

def random_bytes(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.3:
        return rng.randbytes(rng.randrange(0, 9))
    if roll < 0.99:
        return rng.randbytes(rng.randrange(4, 300))
    return rng.randbytes(rng.randrange(300, 70_000))  # beyond any extended APDU too


def structured(rng: random.Random) -> bytes:
    """A well-formed (or nearly) APDU of any case with a plausible CLA and any INS/P1/P2."""
    header = bytes((rng.choice(CLAS), rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    case = rng.randrange(4)
    extended = rng.random() < 0.25
    data = rng.randbytes(rng.choice((1, 2, 4, 8, 16, 32, rng.randrange(1, 300))))
    le = rng.choice((0, 1, 16, 255, rng.randrange(256)))
    if case == 0:
        return header
    if extended:
        lc = b"\x00" + len(data).to_bytes(2, "big")
        le_field = rng.randrange(65536).to_bytes(2, "big")
        return header + (b"\x00" + le_field if case == 1 else lc + data + (le_field if case == 3 else b""))
    if len(data) > 255:
        data = data[:255]
    lc_short = bytes((len(data),))
    return header + (bytes((le,)) if case == 1 else lc_short + data + (bytes((le,)) if case == 3 else b""))


def mutate(rng: random.Random, raw: bytes) -> bytes:
    b = bytearray(raw)
    kind = rng.randrange(9)
    if kind == 0 and b:  # flip 1-3 bits
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == 1 and b:  # replace a byte
        b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 2:  # truncate
        del b[rng.randrange(len(b) + 1):]
    elif kind == 3:  # extend
        b += rng.randbytes(rng.randint(1, 8))
    elif kind == 4 and len(b) > 4:  # damage Lc / extended marker
        b[4] = rng.choice((0x00, 0xFF, rng.randrange(256)))
    elif kind == 5 and len(b) > 5:  # damage Le (last byte or two)
        b[-1] = rng.randrange(256)
        if rng.random() < 0.5:
            b[-2] = rng.randrange(256)
    elif kind == 6 and b:  # another CLA form: SM, chaining, channels, proprietary, invalid
        b[0] = rng.choice(CLAS)
    elif kind == 7 and len(b) >= 4:  # another P1/P2
        b[2], b[3] = rng.randrange(256), rng.randrange(256)
    else:  # another INS
        if len(b) >= 2:
            b[1] = rng.randrange(256)
    return bytes(b)


# ---------------------------------------------------------------- the campaign

def check_response(campaign: Campaign, raw: bytes, response: bytes) -> None:
    if len(response) < 2:
        campaign.fail(f"no answer (powered card) to {raw[:24].hex()}")
        return
    sw = int.from_bytes(response[-2:], "big")
    if sw == SW.NO_PRECISE_DIAGNOSIS:
        campaign.fail(f"6F00 (card OS fault) to {raw[:24].hex()}")
    elif not valid_sw(sw):
        campaign.fail(f"SW {sw:04X} is not an ISO 7816-4 status word, to {raw[:24].hex()}")
    elif len(response) - 2 > allowed_data(raw):
        campaign.fail(f"{len(response) - 2} data bytes beyond Ne to {raw[:24].hex()}")
    campaign.count(f"sw {sw >> 8:02X}xx")


def image_round_trip(campaign: Campaign, card: VirtualCard) -> None:
    try:
        raw = card.to_bytes("cbor")
        again = VirtualCard.from_bytes(raw, "cbor").to_bytes("cbor")
    except Exception as exc:  # the image must always save and load: anything raised is a finding
        campaign.fail(f"card image does not round-trip: {type(exc).__name__}: {exc}")
        return
    if again != raw:
        campaign.fail("card image changed on save → load → save")
    campaign.count("image round trips")


def run(count: int, pristine: list[bytes], corpus: list[bytes], seed: int = 1,
        image_every: int = 2000, progress: Callable[[int], None] | None = None) -> Campaign:
    """`count` inputs into cards restarted from each image of `pristine` in turn (CBOR bytes)."""
    campaign = Campaign("random and mutated APDUs into the virtual card")
    rng = random.Random(seed)
    quiet = logging.getLogger("applets")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # 6F00 faults are counted here, not logged 100,000 times
    start = time.perf_counter()
    card = VirtualCard.from_bytes(pristine[0])
    card.power_on()
    cursor = 0
    try:
        for i in range(count):
            if i and i % image_every == 0:
                image_round_trip(campaign, card)
                card = VirtualCard.from_bytes(pristine[(i // image_every) % len(pristine)])
                card.power_on()
                if progress is not None:
                    progress(i)
            roll = rng.random()
            if roll < 0.2:  # the real traffic in order: the card's state moves on as in a session
                raw = corpus[cursor % len(corpus)]
                cursor += 1
            elif roll < 0.4:
                raw = random_bytes(rng)
            elif roll < 0.6:
                raw = structured(rng)
            else:
                raw = mutate(rng, rng.choice(corpus))
                if rng.random() < 0.3:
                    raw = mutate(rng, raw)
            if rng.random() < 0.002:
                card.reset()
                campaign.count("resets")
            try:
                response = card.process(raw)
            except Exception as exc:  # the contract: process never raises
                campaign.fail(f"process raised {type(exc).__name__} on {raw[:24].hex()}")
                card.power_on()
                continue
            finally:
                campaign.cases += 1
            check_response(campaign, raw, response)
        image_round_trip(campaign, card)
    finally:
        quiet.setLevel(level)
    campaign.seconds = time.perf_counter() - start
    return campaign
