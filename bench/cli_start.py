"""CLI start (design §6, issue 15 item 4): wall time of `cardsvc --help` and of a counter's
`cardsvc verify --card FILE` (a genuine card, a fresh signed status list), each a fresh process of the
installed console script, median of 5, beside `python -c pass` measured the same way in the same run.

Byte-code as installed: pip compiles a wheel's modules at install time, but this checkout is an editable
install and the environment may set PYTHONDONTWRITEBYTECODE, so every run would compile ~130 of our
modules from source (~0.15 s of a `verify`, a cost no installed counter pays). The runs get a byte-code
cache of their own (PYTHONPYCACHEPREFIX in the run's directory), filled by one warm-up run of each command
that is not counted."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.cards import blank_card, issue
from bench.env import BenchEnv, bench_permit
from bench.report import Figure, not_run
from cardsvc.layout import builtin_layout
from cardsvc.security import ceremony
from cardsvc.status_list import StatusList, StatusListCache, sign_status_list
from cardsvc.status_list.scope import list_scope
from simulator.transport import InProcessConnection

SECTION = "CLI start (fresh process, median of 5)"
RUNS = 5
HELP_TARGET = 0.3  # s, design §6
VERIFY_TARGET = 0.8  # s, design §6


def median_wall(argv: list[str], expect: int, env: dict[str, str], runs: int = RUNS) -> tuple[float, str]:
    """Median wall seconds of `runs` runs after one warm-up run; a note when a run exits other than `expect`."""
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, env=env)
    times, note = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120, env=env)
        times.append(time.perf_counter() - start)
        if proc.returncode != expect:
            note = f"exit {proc.returncode}, expected {expect}: {proc.stderr.decode(errors='replace')[-200:]}"
    return statistics.median(times), note


def counter_files(env: BenchEnv) -> tuple[Path, Path]:
    """A genuine Zhengzhou card image and a fresh signed status list (empty: every card active)."""
    layout = builtin_layout("zz")
    permit = bench_permit(layout, 1)
    card = blank_card()
    issue(env, layout, permit, InProcessConnection(card))
    card_file = env.root / "cli-card.cbor"
    card.save(card_file)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    scope = list_scope(layout)  # the counter pins its city registry's list and signer (design §7)
    name = ceremony.signer_name(ceremony.SignerRole.DOCUMENT, scope.signer_authority)
    listing = StatusList.build(scope.issuer, 1, now - dt.timedelta(minutes=5), now + dt.timedelta(hours=23), [])
    status_file = env.root / "cli-status.cbor"
    store = env.keys.store
    StatusListCache(status_file, env.keys.trust(), dt.timedelta(hours=24)).update(
        sign_status_list(listing, store.private_key(name), store.certificate(name)), now)
    return card_file, status_file


def measure(env: BenchEnv) -> list[Figure]:
    script = Path(sys.executable).with_name("cardsvc")  # the console script of this environment
    run_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    run_env["PYTHONPYCACHEPREFIX"] = str(env.root / "pycache")
    floor, _ = median_wall([sys.executable, "-c", "pass"], 0, run_env)
    if not script.exists():
        why = f"no console script {script} (pip install -e .)"
        return [not_run(SECTION, "cardsvc --help", "s", why), not_run(SECTION, "cardsvc verify --card FILE", "s", why)]
    card_file, status_file = counter_files(env)
    help_s, help_note = median_wall([str(script), "--help"], 0, run_env)
    verify_s, verify_note = median_wall([str(script), "verify", "--card", str(card_file), "--layout", "zz",
                                         "--keystore", str(env.keystore_dir), "--status-list", str(status_file)], 0,
                                         run_env)
    return [
        Figure(SECTION, "cardsvc --help", help_s, "s", reference=floor, reference_name="python -c pass",
               target=HELP_TARGET, higher_is_better=False, note=help_note or "byte-code cached, as installed"),
        Figure(SECTION, "cardsvc verify --card FILE (genuine, status list)", verify_s, "s", reference=floor,
               reference_name="python -c pass", target=VERIFY_TARGET, higher_is_better=False,
               note=verify_note or "byte-code cached, as installed"),
    ]
