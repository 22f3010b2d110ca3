"""Issuing one card per layout and verifying it at a counter: in-process and through pyscard → pcscd →
vpcd → simulator (design §6: issue ≤ 150 ms with verify-after-write and ≤ 1.2× the minimum APDUs;
verification ≤ 25 ms reading ≤ 1.05× the data on the card; link times modeled beside their floors)."""

from __future__ import annotations

import contextlib
import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bench.cards import Issued, blank_card, issue, verify
from bench.env import PHOTO_BYTES, BenchEnv, bench_permit, renumbered
from bench.link_model import LINKS
from bench.report import Figure, not_run, percentile
from cardsvc.iso7816.errors import CardError
from cardsvc.layout import Layout
from cardsvc.transport.base import Connection
from cardsvc.verification import Verdict
from simulator import InProcessConnection, VirtualCard

log = logging.getLogger(__name__)
T = TypeVar("T")
ISSUE, VERIFY = "issue", "verify"
ISSUE_TARGET_MS, ISSUE_APDU_RATIO = 150.0, 1.2
VERIFY_TARGET_MS, READ_RATIO = 25.0, 1.05


@dataclass(frozen=True, slots=True)
class VerifyRun:
    verdicts: list[Verdict]
    seconds: list[float]


def _issue_figures(path: str, layout: Layout, runs: list[Issued]) -> list[Figure]:
    times = sorted(r.seconds * 1000 for r in runs)
    last = runs[-1]
    label = f"{layout.id} {layout.layout.suite} {path}"
    return [
        Figure(ISSUE, f"{label} wall time (median of {len(runs)})", statistics.median(times), "ms",
               reference=ISSUE_TARGET_MS, reference_name=f"design bound; p95 {percentile(times, 95):.1f} ms",
               target=ISSUE_TARGET_MS, higher_is_better=False),
        Figure(ISSUE, f"{label} APDUs (write {last.write_apdus} + verify {last.verify_apdus})", last.apdus, "APDUs",
               reference=last.minimum_apdus, reference_name="floor: plan minimum + exact reads",
               target=ISSUE_APDU_RATIO * last.minimum_apdus, higher_is_better=False),
        Figure(ISSUE, f"{label} bytes sent", last.bytes_sent, "bytes", reference=last.minimum_bytes_sent,
               reference_name="floor: shortest encoding of the minimum commands"),
    ]


def _verify_figures(path: str, layout: Layout, run: VerifyRun) -> list[Figure]:
    times = sorted(s * 1000 for s in run.seconds)
    verdict = run.verdicts[-1]
    stats = verdict.stats
    label = f"{layout.id} {layout.layout.suite} {path}"
    genuine = sum(v.result.genuine_valid for v in run.verdicts)
    out = [
        Figure(VERIFY, f"{label} wall time (median of {len(times)})", statistics.median(times), "ms",
               reference=VERIFY_TARGET_MS, reference_name=f"design bound; p95 {percentile(times, 95):.1f} ms; "
               f"{genuine}/{len(run.verdicts)} genuine", target=VERIFY_TARGET_MS, higher_is_better=False),
    ]
    if stats is None:
        return [*out, not_run(VERIFY, f"{label} reads", "", "the verdict carries no read statistics")]
    out += [
        Figure(VERIFY, f"{label} APDUs", stats.apdus, "APDUs", reference=verify_floor(layout, verdict),
               reference_name="floor: SELECT, one read per file and record, chip and terminal authentication"),
        Figure(VERIFY, f"{label} file bytes read", stats.file_bytes_read, "bytes", reference=stats.file_bytes_stored,
               reference_name="floor: bytes stored in the files read", target=READ_RATIO * stats.file_bytes_stored,
               higher_is_better=False),
    ]
    wire = stats.command_bytes + stats.response_bytes
    for link in LINKS:
        out.append(Figure(VERIFY, f"{label} modeled on {link.name}", link.modeled(stats.apdus, wire) * 1000, "ms",
                          reference=link.floor(stats.file_bytes_stored) * 1000,
                          reference_name=f"link floor for the {stats.file_bytes_stored} stored bytes"))
    return out


def verify_floor(layout: Layout, verdict: Verdict) -> int:
    """The fewest APDUs a full counter verification can take: SELECT of the permit ADF, one exact read per
    transparent EF and per endorsement record, INTERNAL AUTHENTICATE, and GET CHALLENGE + MUTUAL
    AUTHENTICATE when a file needs the terminal's key."""
    efs = [ef for ef in layout.efs if ef.parent == "permit"]
    transparent = sum(1 for ef in efs if not ef.structure.is_record)
    protected = any(ef.access.get("read", "never") != "always" for ef in efs if not ef.structure.is_record)
    return 1 + transparent + len(verdict.endorsements) + 1 + (2 if protected else 0)


def _verify_runs(env: BenchEnv, layout: Layout, connect: Callable[[], contextlib.AbstractContextManager[Connection]],
                 count: int) -> VerifyRun:
    verdicts, seconds = [], []
    with connect() as connection:
        verify(env, layout, connection)  # warm: the first read of a session pays for caches
        for _ in range(count):
            start = time.perf_counter()
            verdicts.append(verify(env, layout, connection))
            seconds.append(time.perf_counter() - start)
    return VerifyRun(verdicts, seconds)


def in_process(env: BenchEnv, issues: int = 5, verifications: int = 30) -> list[Figure]:
    figures: list[Figure] = []
    verify_figures: list[Figure] = []
    for layout in env.layouts():
        base = bench_permit(layout, 7, photo_bytes=PHOTO_BYTES)
        runs: list[Issued] = []
        card: VirtualCard | None = None
        for n in range(issues + 1):  # the first is a warm-up
            card = blank_card()
            issued = issue(env, layout, renumbered(base, layout, 500 + n), InProcessConnection(card))
            if n:
                runs.append(issued)
        figures += _issue_figures("in-process", layout, runs)
        assert card is not None
        issued_card = card

        @contextlib.contextmanager
        def connect(card: VirtualCard = issued_card) -> Iterator[Connection]:
            yield InProcessConnection(card)

        verify_figures += _verify_figures("in-process", layout, _verify_runs(env, layout, connect, verifications))
    return figures + verify_figures


def through_pcscd(env: BenchEnv, issues: int = 3, verifications: int = 30) -> list[Figure]:
    """Each issuance needs a blank card in vpcd reader 0 (a new simulator process, ~0.5 s to insert)."""
    from cardsvc.transport.pcsc import connect
    from devtools.pcsc_stack import PcscService, SimulatorCard, unavailable_reason, wait_readers_free

    reason = unavailable_reason() or wait_readers_free()
    if reason is not None:
        return [not_run(ISSUE, "pcscd path", "", reason)]
    figures: list[Figure] = []
    verify_figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="cardsvc-bench-") as tmp, PcscService(log_path=Path(tmp) / "pcscd.log"):
        for layout in env.layouts():
            card_file = Path(tmp) / f"{layout.id}.cbor"

            def issue_runs(layout: Layout = layout, card_file: Path = card_file) -> list[Issued]:
                base = bench_permit(layout, 7, photo_bytes=PHOTO_BYTES)
                runs: list[Issued] = []
                for n in range(issues + 1):  # the first warms pyscard and the card process
                    blank_card().save(card_file)
                    with SimulatorCard(card_file, 35963) as sim, connect(sim.reader) as connection:
                        issued = issue(env, layout, renumbered(base, layout, 600 + n), connection)
                    if n:
                        runs.append(issued)
                return runs

            @contextlib.contextmanager
            def over_pcscd(card_file: Path = card_file) -> Iterator[Connection]:
                with SimulatorCard(card_file, 35963) as sim, connect(sim.reader) as connection:
                    yield connection

            runs = _retry(issue_runs)
            if isinstance(runs, str):
                figures.append(not_run(ISSUE, f"{layout.id} pcscd", "", runs))
                continue
            figures += _issue_figures("pcscd", layout, runs)
            verified = _retry(lambda layout=layout, over_pcscd=over_pcscd:  # type: ignore[misc]
                              _verify_runs(env, layout, over_pcscd, verifications))
            if isinstance(verified, str):
                verify_figures.append(not_run(VERIFY, f"{layout.id} pcscd", "", verified))
            else:
                verify_figures += _verify_figures("pcscd", layout, verified)
    return figures + verify_figures


def _retry(work: Callable[[], T]) -> T | str:
    """Run `work`; after a card or PC/SC error (another process using the readers), wait for the readers
    and try once more; a second failure comes back as the reason (the figure is then "not run")."""
    from devtools.pcsc_stack import wait_readers_free

    try:
        return work()
    except CardError as first:
        log.warning("PC/SC path failed (%s); retrying once", first)
        wait_readers_free()
        try:
            return work()
        except CardError as exc:
            return f"PC/SC path failed twice: {exc}"


def measure(env: BenchEnv, *, pcsc: bool = True) -> list[Figure]:
    figures = in_process(env)
    if pcsc:
        figures += through_pcscd(env)
    issue_first = sorted(figures, key=lambda f: f.section != ISSUE)  # stable: issue figures, then verify
    return issue_first
