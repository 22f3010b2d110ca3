"""Robustness campaigns at `make test` size (the full counts run in `python -m bench robustness`).

Each test records its campaign here; the terminal summary prints every count, so a green run still
shows how many inputs were tried and what they found.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.env import BenchEnv
from bench.report import Campaign

_campaigns: list[Campaign] = []


@pytest.fixture(scope="session")
def bench_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchEnv]:
    """One key ceremony for the campaigns, made at test time in a temporary directory."""
    yield BenchEnv.create(tmp_path_factory.mktemp("robustness"))


@pytest.fixture
def record() -> Iterator[list[Campaign]]:
    found: list[Campaign] = []
    yield found
    _campaigns.extend(found)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _campaigns:
        return
    terminalreporter.section("robustness campaigns (full counts: python -m bench robustness)")
    for c in _campaigns:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(c.counts.items()) if not k.startswith("sw "))
        terminalreporter.write_line(f"{c.name}: {c.cases:,} cases, {c.failures} failures, {c.seconds:.1f} s"
                                    + (f" ({counts})" if counts else ""))
