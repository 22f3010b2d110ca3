"""`cardsvc sim start|toggle|stop`: virtual cards in vpcd's readers, each its own process.

The processes come from the card side (`CardSide.start_vpcd_card`); this module only keeps their pid files
under `<var>/sim/` and signals them (SIGUSR1: remove / re-insert the card; SIGTERM: save and stop).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from cardsvc.cli.common import card_side, emit, json_option


def _pidfile(var: Path, port: int) -> Path:
    return var / "sim" / f"{port}.pid"


@click.group("sim", help="virtual cards in vpcd's readers (python -m simulator)")
@click.option("--var", default="var", show_default=True, help="state directory (cards, pid files)")
@json_option
@click.pass_context
def sim(ctx: click.Context, var: str) -> None:
    ctx.obj = Path(var)


@sim.command("start", help="a virtual card in each vpcd reader (until Ctrl-C)")
@click.option("--readers", "count", type=click.IntRange(1, 2), default=2, show_default=True)
@click.option("--detach", is_flag=True, help="leave them running; stop with 'cardsvc sim stop'")
@json_option
@click.pass_obj
def start(var: Path, count: int, detach: bool) -> int:
    side = card_side()
    (var / "sim").mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    for i, port in enumerate(side.vpcd_ports[:count]):
        card = var / "cards" / f"vpcd-{i}.cbor"
        card.parent.mkdir(parents=True, exist_ok=True)
        proc = side.start_vpcd_card(port, card)
        _pidfile(var, port).write_text(str(proc.pid))
        procs.append(proc)
        emit({"port": port, "card": str(card), "pid": proc.pid},
             f"virtual card {card} in the vpcd reader on port {port} (pid {proc.pid})", line=True)
    if detach:
        return 0
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        for port in side.vpcd_ports:
            _pidfile(var, port).unlink(missing_ok=True)
    return 0


def _signal(var: Path, reader: int, sig: signal.Signals) -> int | None:
    port = card_side().vpcd_ports[reader]
    pidfile = _pidfile(var, port)
    if not pidfile.exists():
        print(f"no virtual card runs in reader {reader} (start one with 'cardsvc sim start')", file=sys.stderr)
        return None
    pid = int(pidfile.read_text())
    os.kill(pid, sig)
    if sig is signal.SIGTERM:
        pidfile.unlink(missing_ok=True)
    return pid


@sim.command("toggle", help="remove / re-insert the card")
@click.option("--reader", type=click.IntRange(0, 1), default=0, show_default=True)
@json_option
@click.pass_obj
def toggle(var: Path, reader: int) -> int:
    pid = _signal(var, reader, signal.SIGUSR1)  # simulator: SIGUSR1 removes / re-inserts the card
    if pid is None:
        return 2
    emit({"reader": reader, "pid": pid, "toggled": True}, f"card in reader {reader} toggled", line=True)
    return 0


@sim.command("stop", help="stop the virtual card")
@click.option("--reader", type=click.IntRange(0, 1), default=0, show_default=True)
@json_option
@click.pass_obj
def stop(var: Path, reader: int) -> int:
    pid = _signal(var, reader, signal.SIGTERM)  # saves the image and exits
    if pid is None:
        return 2
    emit({"reader": reader, "pid": pid, "stopped": True}, f"virtual card {pid} stopped", line=True)
    return 0
