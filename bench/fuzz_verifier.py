"""Malformed responses and card images into the counter verifier (design §7: never an exception, never
"genuine" for anything altered).

Responses: the reader talks to a genuine issued card through a connection that damages one response
(a bit, a byte, truncated, extended, emptied, randomised, another command's answer, another status word,
or the card pulled). Card images: a genuine card's image with one thing changed (a byte or the tail of a
signed file, EF.SOD or EF.CHIPKEY from another card, an endorsement record altered or dropped, the
permit application not ACTIVATED, the chip key missing or another chip's), and the raw CBOR image with
bits flipped (it must then load — and be judged — or be refused with the loader's own `CardImageError`).

The oracle: the verifier returns a verdict and never raises; a GENUINE_VALID verdict is allowed only if
every byte it was judged on equals the genuine card's (a change that missed every signed byte, such as
a flipped bit in padding the reader never reads, is counted as "no effect").
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from applets.errors import CardImageError
from applets.fs import DedicatedFile, RecordEf, TransparentEf
from bench.cards import ActiveStatus
from bench.env import BenchEnv
from bench.report import Campaign
from cardsvc.iso7816.fcp import LifeCycle
from cardsvc.layout import Layout
from cardsvc.transport.base import Connection
from cardsvc.transport.errors import CardRemovedError
from cardsvc.verification import CardRead, PermitReader, Verdict, verify_read
from simulator import InProcessConnection, VirtualCard

SWS = (0x9000, 0x6282, 0x6A82, 0x6982, 0x6700, 0x6C10, 0x6110, 0x6F00, 0x6A83, 0x6300, 0x63C1)


@dataclass(frozen=True, slots=True)
class Genuine:
    """An issued card, the genuine bytes a perfect read gets from it, and a second card for swaps."""

    layout: Layout
    image: bytes  # CBOR
    read: CardRead
    other_image: bytes  # another genuine card of the same layout (its EF.SOD / EF.CHIPKEY / chip key)


class Damaging:
    """`Connection` over a virtual card that damages the response to command `index` with `how`."""

    def __init__(self, card: VirtualCard, index: int, how: Callable[[bytes, int, list[tuple[bytes, int]]],
                                                                   tuple[bytes, int]]) -> None:
        self.inner = InProcessConnection(card)
        self.index = index
        self.how = how
        self.sent = 0
        self.answers: list[tuple[bytes, int]] = []
        self.damaged: bytes | None = None  # the command whose answer data was changed (None: unchanged)

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.inner.transmit(apdu)
        if self.sent == self.index:
            damaged = self.how(data, sw, self.answers)
            if damaged[0] != data:  # a changed SW alone leaves the bytes judged as they were
                self.damaged = bytes(apdu)
            data, sw = damaged
        self.sent += 1
        self.answers.append((data, sw))
        return data, sw

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Damaging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def response_damage(rng: random.Random) -> tuple[str, Callable[[bytes, int, list[tuple[bytes, int]]],
                                                               tuple[bytes, int]]]:
    kind = rng.randrange(9)

    def flip(data: bytes, sw: int, _: list[tuple[bytes, int]]) -> tuple[bytes, int]:
        if not data:
            return data, rng.choice(SWS)
        b = bytearray(data)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b), sw

    def byte(data: bytes, sw: int, _: list[tuple[bytes, int]]) -> tuple[bytes, int]:
        if not data:
            return rng.randbytes(rng.randint(1, 40)), sw
        b = bytearray(data)
        i = rng.randrange(len(b))
        b[i] = (b[i] + rng.randrange(1, 256)) % 256
        return bytes(b), sw

    def truncate(data: bytes, sw: int, _: list[tuple[bytes, int]]) -> tuple[bytes, int]:
        return data[: rng.randrange(len(data) + 1)], sw

    def extend(data: bytes, sw: int, _: list[tuple[bytes, int]]) -> tuple[bytes, int]:
        return data + rng.randbytes(rng.randint(1, 64)), sw

    def empty(data: bytes, sw: int, _: list[tuple[bytes, int]]) -> tuple[bytes, int]:
        return b"", sw

    def randomise(data: bytes, sw: int, _: list[tuple[bytes, int]]) -> tuple[bytes, int]:
        return rng.randbytes(len(data) or rng.randint(1, 64)), sw

    def other_sw(data: bytes, sw: int, _: list[tuple[bytes, int]]) -> tuple[bytes, int]:
        return data, rng.choice((*SWS, rng.randrange(0x10000)))

    def replay(data: bytes, sw: int, answers: list[tuple[bytes, int]]) -> tuple[bytes, int]:
        return rng.choice(answers) if answers else (data, 0x6F00)

    def pulled(data: bytes, sw: int, _: list[tuple[bytes, int]]) -> tuple[bytes, int]:
        raise CardRemovedError("card pulled (fuzzer)")

    table = (("flip a bit", flip), ("change a byte", byte), ("truncate", truncate), ("extend", extend),
             ("empty", empty), ("randomise", randomise), ("other SW", other_sw), ("replay", replay),
             ("card pulled", pulled))
    return table[kind]


def _permit(card: VirtualCard, layout: Layout) -> DedicatedFile:
    node = card.state.mf.child(layout.df("permit").fid)
    assert isinstance(node, DedicatedFile)
    return node


def _ef(card: VirtualCard, layout: Layout, name: str) -> TransparentEf | RecordEf:
    node = _permit(card, layout).child(layout.ef(name).fid)
    assert isinstance(node, TransparentEf | RecordEf), name
    return node


def image_damage(rng: random.Random, g: Genuine, card: VirtualCard) -> tuple[str, bool]:
    """Change one thing of a genuine card that the verdict depends on: (what was done, whether the card
    must then fail even with every file byte genuine — the chip cases)."""
    layout = g.layout
    names = sorted(g.read.files)
    kind = rng.randrange(8)
    if kind <= 2:  # a byte of a signed file, within its data
        name = rng.choice(names)
        ef = _ef(card, layout, name)
        assert isinstance(ef, TransparentEf)
        n = len(g.read.files[name])
        if n == 0:
            return "nothing (empty file)", False
        i = rng.randrange(n)
        if kind == 2:  # the tail cut off: zeroed from a random point
            ef.data[i:n] = bytes(n - i)
            return f"EF {name} cut at {i}/{n}", False
        ef.data[i] ^= 1 << rng.randrange(8)
        return f"EF {name} byte {i}/{n}", False
    if kind == 3:  # EF.SOD or EF.CHIPKEY of another card
        other = VirtualCard.from_bytes(g.other_image)
        name = rng.choice(("sod", "chipkey"))
        mine, theirs = _ef(card, layout, name), _ef(other, layout, name)
        assert isinstance(mine, TransparentEf) and isinstance(theirs, TransparentEf)
        mine.data[:] = theirs.data
        return f"EF {name} of another card", False
    if kind == 4:  # an endorsement record altered or dropped
        ef = _ef(card, layout, "endorse")
        assert isinstance(ef, RecordEf)
        if not ef.slots:
            return "nothing (no endorsement records)", False
        i = rng.randrange(len(ef.slots))
        if rng.random() < 0.5:
            del ef.slots[i]
            return f"endorsement record {i + 1} dropped", False
        ef.slots[i][rng.randrange(len(ef.slots[i]))] ^= 1 << rng.randrange(8)
        return f"endorsement record {i + 1} altered", False
    if kind == 5:
        _permit(card, layout).lifecycle = rng.choice((LifeCycle.INITIALISATION, LifeCycle.DEACTIVATED,
                                                      LifeCycle.CREATION))
        return "permit application not ACTIVATED", True
    chip = [k for k in card.state.objects if k.endswith(":0E")]  # the chip key pair (CHIP_KEY_REF 14)
    if kind == 6:
        for k in chip:
            del card.state.objects[k]
        return "chip key missing (a copy without the chip's secret)", True
    other = VirtualCard.from_bytes(g.other_image)
    for k in chip:
        if k in other.state.objects:
            card.state.objects[k] = other.state.objects[k]
    return "another chip's key", True


def _judge(campaign: Campaign, env: BenchEnv, g: Genuine, read: CardRead, what: str, must_fail: bool) -> None:
    keys = env.keys
    try:
        verdict: Verdict = verify_read(read, g.layout, keys.trust(), ActiveStatus())
    except Exception as exc:  # the contract: never raises
        campaign.fail(f"{what}: verifier raised {type(exc).__name__}: {exc}")
        return
    campaign.count(f"verdict {verdict.result.value}")
    if verdict.result.genuine_valid:
        changed = sorted({n for n in {*read.files, *g.read.files} if read.files.get(n) != g.read.files.get(n)}
                         | {n for n in {*read.records, *g.read.records}
                            if read.records.get(n) != g.read.records.get(n)})
        if not changed and not must_fail:
            campaign.count("no effect (genuine bytes)")
        else:
            campaign.fail(f"{what}: GENUINE with altered {', '.join(changed) or 'chip'}")


def _read(env: BenchEnv, g: Genuine, connection: Connection) -> CardRead:
    return PermitReader(connection, g.layout, keys=env.keys.card_key).read()


def responses(env: BenchEnv, cards: list[Genuine], count: int, seed: int) -> Campaign:
    campaign = Campaign("malformed responses into the verifier")
    rng = random.Random(seed)
    start = time.perf_counter()
    for i in range(count):
        g = cards[i % len(cards)]
        card = VirtualCard.from_bytes(g.image)
        name, how = response_damage(rng)
        index = rng.randrange(max(1, g.read.stats.apdus))
        campaign.count(f"response: {name}")
        wire = Damaging(card, index, how)
        try:
            read = _read(env, g, wire)
        except Exception as exc:
            campaign.fail(f"response {index} {name}: reader raised {type(exc).__name__}: {exc}")
        else:
            # Changed data in the answer to INTERNAL AUTHENTICATE is a chip that did not prove its key (a
            # warning SW around the chip's own valid signature is not).
            chip = wire.damaged is not None and len(wire.damaged) > 1 and wire.damaged[1] == 0x88
            _judge(campaign, env, g, read, f"response {index} {name}", chip)
        campaign.cases += 1
    campaign.seconds = time.perf_counter() - start
    return campaign


def images(env: BenchEnv, cards: list[Genuine], count: int, seed: int) -> Campaign:
    campaign = Campaign("malformed card images into the verifier")
    rng = random.Random(seed)
    start = time.perf_counter()
    for i in range(count):
        g = cards[i % len(cards)]
        campaign.cases += 1
        if rng.random() < 0.3:  # raw CBOR damage: a clear load error, or a card that is judged
            raw = bytearray(g.image)
            for _ in range(rng.randint(1, 4)):
                raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            what, must_fail = "CBOR bits flipped", False
            try:
                card = VirtualCard.from_bytes(bytes(raw))
            except CardImageError:
                campaign.count("image refused by the loader (CardImageError)")
                continue
            except Exception as exc:
                campaign.fail(f"{what}: loader raised {type(exc).__name__}, not CardImageError: {exc}")
                continue
        else:
            card = VirtualCard.from_bytes(g.image)
            what, must_fail = image_damage(rng, g, card)
        campaign.count("image: " + what.split(" byte ")[0].split(" cut ")[0].split(" record ")[0])
        try:
            read = _read(env, g, InProcessConnection(card))
        except Exception as exc:
            campaign.fail(f"{what}: reader raised {type(exc).__name__}: {exc}")
            continue
        _judge(campaign, env, g, read, what, must_fail)
    campaign.seconds = time.perf_counter() - start
    return campaign
