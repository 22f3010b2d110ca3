"""Issue and verify cards for the benchmarks: the station's own pipeline (make_plan → personalize →
verify_after_write) and the counter's verifier, over any `Connection`, with every APDU counted."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from bench.env import BenchEnv
from cardsvc.issuance.jobs import make_plan
from cardsvc.issuance.personalize import WriteResult, personalize
from cardsvc.issuance.plan import Op, Plan
from cardsvc.issuance.verify_after_write import WriteVerification, verify_after_write
from cardsvc.layout import Layout
from cardsvc.permit.model import Permit
from cardsvc.session import CardSession
from cardsvc.status_list.cache import StatusAnswer, StatusSource
from cardsvc.status_list.model import ListStatus
from cardsvc.transport.base import Connection
from cardsvc.verification import Verdict, verify_card
from cardsvc.verification.counting import CountingConnection
from simulator import VirtualCard


class ActiveStatus:
    """A fresh status list that says ACTIVE for every card (the counter's normal case)."""

    def lookup(self, card_number: str, now: dt.datetime) -> StatusAnswer:
        return StatusAnswer(ListStatus.ACTIVE, None, now - dt.timedelta(minutes=5), dt.timedelta(minutes=5), True,
                            StatusSource.CACHED_LIST, 1, now + dt.timedelta(hours=23))


@dataclass(frozen=True, slots=True)
class Issued:
    plan: Plan
    write: WriteResult
    verification: WriteVerification
    seconds: float  # permit → verified card: encode + sign + write + verify-after-write
    write_apdus: int  # on the wire: survey + personalization
    verify_apdus: int  # on the wire: verify-after-write
    write_bytes: int  # command APDU bytes host → card while writing
    verify_bytes: int  # command APDU bytes host → card while verifying
    bytes_received: int  # response bytes incl. SW, whole issuance

    @property
    def apdus(self) -> int:
        return self.write_apdus + self.verify_apdus

    @property
    def bytes_sent(self) -> int:
        return self.write_bytes + self.verify_bytes

    @property
    def minimum_apdus(self) -> int:
        """The plan's floor (one command per file, content, record, key, the chip key generation, one
        ACTIVATE per unit) plus verify-after-write's reads as made (one exact read per file)."""
        return self.plan.minimum_apdus + self.verify_apdus

    @property
    def minimum_bytes_sent(self) -> int:
        """Shortest encoding of every command of that floor (EF.CHIPKEY and EF.SOD at their written
        size) plus verify-after-write's command bytes as sent."""
        total = sum(len(s.apdu.encode()) for s in self.plan.steps if s.op is not Op.SELECT_MF and s.apdu)
        for content in self.write.contents.values():  # the two UPDATE BINARYs whose data the card decided
            total += 4 + (1 if len(content) <= 255 else 3) + len(content)
        return total + self.verify_bytes


def blank_card() -> VirtualCard:
    card = VirtualCard.blank()
    card.power_on()
    return card


def issue(env: BenchEnv, layout: Layout, permit: Permit, connection: Connection) -> Issued:
    """Issue `permit` onto the blank card behind `connection`: plan, write, verify after write."""
    wire = CountingConnection(connection)
    start = time.perf_counter()
    plan = make_plan(permit, layout, env.keys)
    session = CardSession(wire)
    write = personalize(session, plan, env.keys, permit.authority.code)
    written_apdus, written_bytes = wire.apdus, wire.command_bytes
    verification = verify_after_write(session, plan, layout, env.keys, written=write.contents)
    seconds = time.perf_counter() - start
    return Issued(plan, write, verification, seconds, written_apdus, wire.apdus - written_apdus, written_bytes,
                  wire.command_bytes - written_bytes, wire.response_bytes)


def verify(env: BenchEnv, layout: Layout, connection: Connection) -> Verdict:
    """A counter verification: read everything, chip challenge, signatures, status (never raises)."""
    keys = env.keys
    return verify_card(connection, layout, keys.trust(), ActiveStatus(), keys=keys.card_key)


class Recording:
    """A pass-through `Connection` that keeps every command APDU sent (a corpus for the fuzzers)."""

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.commands: list[bytes] = []

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.commands.append(bytes(apdu))
        return self.inner.transmit(apdu)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
