"""APDU round trips per second: in-process (VirtualCard) and through pyscard → pcscd → vpcd → simulator.

One round trip is one READ BINARY of 128 bytes sent through the full ``CardSession`` pipeline and
answered by the card; each is timed alone, so median and p95 describe single-APDU latency.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.errors import CardError
from cardsvc.iso7816.fcp import Fcp, FileStructure
from cardsvc.session import CardSession
from cardsvc.transport.base import Connection
from simulator import InProcessConnection, VirtualCard

EF_FID, EF_SFI, EF_SIZE = 0xEF01, 1, 1024
READ = CommandApdu(0x00, 0xB0, 0x00, 0x00, le=128)


@dataclass(frozen=True, slots=True)
class Rate:
    path: str
    apdus: int
    median_ms: float
    p95_ms: float
    per_second: float  # 1 / median
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        # JSON has no NaN: a path that did not run has nulls and says why in "note".
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def prepared_card() -> VirtualCard:
    """A blank card with one 1 KB transparent EF (SFI 1), selected by the benchmark."""
    card = VirtualCard.blank()
    with CardSession(InProcessConnection(card)) as session:
        session.create_file(Fcp(EF_FID, FileStructure.TRANSPARENT, size=EF_SIZE, sfi=EF_SFI))
        session.update_binary(bytes(i % 256 for i in range(EF_SIZE)), sfi=EF_SFI)
    return card


def measure(connection: Connection, count: int, label: str, warmup: int = 50) -> Rate:
    session = CardSession(connection)
    session.select_fid(EF_FID)
    send = session.send
    for _ in range(warmup):
        send(READ)
    clock: Callable[[], int] = time.perf_counter_ns
    samples = []
    for _ in range(count):
        start = clock()
        send(READ)
        samples.append(clock() - start)
    samples.sort()
    median = statistics.median(samples) / 1e6
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))] / 1e6
    return Rate(label, count, round(median, 4), round(p95, 4), round(1000 / median, 1))


def in_process(count: int) -> Rate:
    return measure(InProcessConnection(prepared_card()), count, "in-process")


def through_pcscd(count: int, workdir: Path | None = None) -> Rate:
    """Starts pcscd if needed (root), puts the card in vpcd reader 0, measures, tears everything down."""
    from cardsvc.transport.pcsc import connect
    from devtools.pcsc_stack import PcscService, SimulatorCard, unavailable_reason, wait_readers_free

    label = "pyscard → pcscd → vpcd"
    reason = unavailable_reason() or wait_readers_free()
    if reason is not None:
        return Rate(label, 0, float("nan"), float("nan"), float("nan"), f"not run: {reason}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = workdir or Path(tmp)
            card_file = base / "bench-card.cbor"
            prepared_card().save(card_file)
            with PcscService(log_path=base / "pcscd.log"), SimulatorCard(card_file, 35963) as card, \
                    connect(card.reader) as connection:
                return measure(connection, count, label)
    except CardError as exc:  # e.g. another process took the reader mid-run
        return Rate(label, 0, float("nan"), float("nan"), float("nan"), f"not run: {exc}")


def card_only(count: int) -> Rate:
    """The card's own processing of the same READ BINARY, no host pipeline: the ceiling of both paths."""
    card = prepared_card()
    card.power_on()
    raw_select = CommandApdu(0x00, 0xA4, 0x00, 0x0C, EF_FID.to_bytes(2, "big")).encode()
    card.process(raw_select)
    raw = READ.encode()
    process = card.process
    for _ in range(50):
        process(raw)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        process(raw)
        samples.append(clock() - start)
    samples.sort()
    median = statistics.median(samples) / 1e6
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))] / 1e6
    return Rate("card alone (VirtualCard.process)", count, round(median, 4), round(p95, 4), round(1000 / median, 1))
