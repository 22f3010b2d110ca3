"""PC/SC tier: pyscard → pcscd → vpcd → ``python -m simulator`` (design §5).

One pcscd for the whole session (``pcscd --foreground``, started here unless one already serves),
stopped and reaped at the end. With CI=true this tier must run: if pcscd or vpcd is unavailable every
test here FAILS. Outside CI it skips with a one-line reason (e.g. not root).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.pcsc_stack import READERS, PcscService, SimulatorCard, in_ci, unavailable_reason
from simulator import VirtualCard

InsertCard = Callable[..., SimulatorCard]
_checked: list[str | None] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Outside CI, skip every test here with the same one-line reason when the stack cannot run.

    Raised from this hook, not from a fixture, so pytest folds all of them into a single summary line.
    """
    if not _checked:
        _checked.append(unavailable_reason())
    if _checked[0] is not None and not in_ci():
        pytest.skip(f"PC/SC tier: {_checked[0]}")


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscService]:
    reason = unavailable_reason()
    if reason is not None:
        if in_ci():
            pytest.fail(f"CI=true requires the PC/SC tier, but it cannot run: {reason}", pytrace=False)
        pytest.skip(f"PC/SC tier: {reason}")  # became unavailable after collection
    with PcscService(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log") as service:
        if service.process is not None:
            _tier["pcscd"] = f"pcscd pid {service.process.pid} (started for this run, reaped at its end)"
        else:
            _tier["pcscd"] = "an already running pcscd"
        yield service


@pytest.fixture(autouse=True)
def _requires_pcscd(pcscd: PcscService) -> None:
    """Every test in tests/pcsc runs against the session's pcscd (or fails/skips as above)."""


_tier: dict[str, str] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.pcsc)


@pytest.fixture
def insert_card(tmp_path: Path) -> Iterator[InsertCard]:
    """``insert_card(card=None, port=35963)``: save ``card`` (default: blank) and put it in vpcd's reader
    on ``port`` as a simulator process; every card is pulled and reaped at the end of the test."""
    cards: list[SimulatorCard] = []

    def insert(card: VirtualCard | None = None, port: int = 35963) -> SimulatorCard:
        image = tmp_path / f"card-{port}-{len(cards)}.cbor"
        (card or VirtualCard.blank()).save(image)
        sim = SimulatorCard(image, port, log_path=tmp_path / f"simulator-{port}.log")
        cards.append(sim)
        sim.insert()
        return sim

    yield insert
    for sim in reversed(cards):
        sim.remove()


@pytest.fixture
def reader_names() -> dict[int, str]:
    return dict(READERS)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line saying whether the PC/SC tier really ran, so CI logs show it."""
    prefix = Path(__file__).parent.relative_to(terminalreporter.config.rootpath).as_posix() + "/"
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            in_tier = getattr(report, "nodeid", "").startswith(prefix)
            # A test is counted once: by its call phase, or by the setup that failed or skipped it.
            if in_tier and (report.when == "call" or (report.when == "setup" and outcome != "passed")):
                counts[outcome] = counts.get(outcome, 0) + 1
    if not counts:
        return
    summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
    via = _tier.get("pcscd", "no pcscd")
    terminalreporter.write_line(f"PC/SC tier (pyscard → pcscd → vpcd → simulator): {summary}; via {via}; "
                                f"CI={'true' if in_ci() else 'false'}")
