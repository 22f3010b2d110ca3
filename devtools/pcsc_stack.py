"""The real PC/SC path for tests and benchmarks: pcscd, vpcd's readers, virtual cards as processes.

``PcscService`` starts ``pcscd --foreground`` (unless one already answers), waits until vpcd's readers
are listed, and on exit stops it and *reaps* it (design §5: an unreaped pcscd blocks the next start).
``SimulatorCard`` runs ``python -m simulator --port N --card FILE``: vpcd is the server, the card
connects to it; ending the process is pulling the card. Used by tests/pcsc and ``python -m bench``
(moved here from bench/ so the tests import the composition root, not the benchmarks).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from cardsvc.transport.base import ReaderStatus
from cardsvc.transport.errors import NoCardError, ReaderUnavailableError, TransportError
from cardsvc.transport.pcsc import PcscContext
from devtools.vpcd import READERS, simulator_command

PCSCD = "/usr/sbin/pcscd"
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial")
VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
REPO = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    """CI=true: the PC/SC tier must run (fail, never skip, when it cannot)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _service_answers() -> list[str] | None:
    """Reader names if a pcscd is already serving, else None."""
    try:
        with PcscContext() as ctx:
            return ctx.reader_names()
    except ReaderUnavailableError:
        return None


def unavailable_reason() -> str | None:
    """Why the PC/SC tier cannot run here (one line), or None when it can."""
    running = _service_answers()
    if running is not None:
        if not set(READERS.values()) <= set(running):
            return f"pcscd is running but without vpcd's readers (it lists {running or 'none'})"
        return None
    if not os.path.exists(PCSCD):
        return f"{PCSCD} not installed (apt package pcscd)"
    if not VPCD_CONF.exists() or not any(VPCD_DRIVER.glob("libifdvpcd.so*")):
        return "vpcd driver not installed (apt package vsmartcard-vpcd)"
    if os.geteuid() != 0:
        return "not root: cannot start pcscd (run make test as root, or CI=true in a root container)"
    return None


def _terminate(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM a child we started and reap it, escalating to SIGKILL if it hangs (an unreaped pcscd
    blocks the next start: design §5)."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PcscService:
    """pcscd for the duration of a ``with`` block; reuses one that is already running (and leaves it)."""

    def __init__(self, *, log_path: Path | None = None, ready_timeout: float = 15.0) -> None:
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def owned(self) -> bool:
        return self.process is not None

    def __enter__(self) -> Self:
        if _service_answers() is None:
            self._start()
        try:
            self._wait_for_readers()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _start(self) -> None:
        self._log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [PCSCD, "--foreground"], stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def _wait_for_readers(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last: list[str] | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ReaderUnavailableError(
                    f"pcscd exited at start with status {self.process.returncode}"
                    + (f" (log: {self.log_path})" if self.log_path else ""))
            last = _service_answers()
            if last is not None and set(READERS.values()) <= set(last):
                return
            time.sleep(0.05)
        raise ReaderUnavailableError(f"vpcd readers did not appear within {self.ready_timeout:.0f} s "
                                     f"(pcscd lists {last})")

    def stop(self) -> None:
        """Stop our pcscd and wait for it (reap), escalating to SIGKILL if it hangs."""
        process, self.process = self.process, None
        _terminate(process)
        if self._log is not None:
            self._log.close()
            self._log = None


class SimulatorCard:
    """A virtual card in one vpcd reader, as a ``python -m simulator`` process (pulled on exit)."""

    def __init__(self, card_file: Path, port: int = 35963, *, log_path: Path | None = None,
                 insert_timeout: float = 10.0) -> None:
        self.command = simulator_command(port, card_file)  # raises for a port vpcd does not serve
        self.card_file = card_file
        self.port = port
        self.reader = READERS[port]
        self.log_path = log_path
        self.insert_timeout = insert_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> Self:
        self.insert()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.remove()

    def insert(self) -> ReaderStatus:
        """Start the card process and wait until pcscd reports the card present (it polls ~400 ms)."""
        if self.process is not None:
            raise TransportError(f"a card is already in {self.reader!r}")
        self._log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - closed in remove()
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT)
        try:
            return self.wait_present(True)
        except BaseException:
            self.remove()
            raise

    def wait_present(self, present: bool) -> ReaderStatus:
        deadline = time.monotonic() + self.insert_timeout
        with PcscContext() as ctx:
            status = ctx.statuses([self.reader])[0]
            while status.present != present:
                if present and self.process is not None and self.process.poll() is not None:
                    raise NoCardError(f"simulator for {self.reader!r} exited with {self.process.returncode}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    state = "present" if present else "removed"
                    raise NoCardError(f"card in {self.reader!r} not {state} after {self.insert_timeout:.0f} s")
                changed = ctx.wait_for_change([status], timeout=min(remaining, 0.5))
                if changed:
                    status = changed[0]
        return status

    def toggle(self, *, wait: bool = True) -> ReaderStatus | None:
        """Pull the card out of the reader or push it back in without ending the process (SIGUSR1)."""
        if self.process is None or self.process.poll() is not None:
            raise NoCardError(f"no simulator process for {self.reader!r}")
        with PcscContext() as ctx:
            was_present = ctx.statuses([self.reader])[0].present
        self.process.send_signal(signal.SIGUSR1)
        return self.wait_present(not was_present) if wait else None

    def remove(self, *, wait: bool = True) -> None:
        """End the card process (SIGTERM: it saves its image and closes the socket) and reap it.

        With ``wait``, return only once pcscd has seen the card go, so a following ``insert`` cannot
        mistake the old card's stale "present" state for the new card.
        """
        process, self.process = self.process, None
        _terminate(process)
        if self._log is not None:
            self._log.close()
            self._log = None
        if wait and process is not None:
            with contextlib.suppress(ReaderUnavailableError):  # pcscd gone too: nothing can be stale
                self.wait_present(False)


def opensc_tool() -> str | None:
    return shutil.which("opensc-tool")


def wait_readers_free(timeout: float = 120.0) -> str | None:
    """Wait until no card sits in either vpcd reader (another process — a test run — may be using them).

    Returns None when free (or when no pcscd runs yet: nothing can be in use), else why not. The PC/SC
    paths of the benchmarks call this first, so a concurrent `make test` delays them instead of failing
    them; a card inserted by someone else mid-run can still disturb a run, which the callers report.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with PcscContext() as ctx:
                busy = [s.name for s in ctx.statuses(list(READERS.values())) if s.present]
        except ReaderUnavailableError:
            return None
        except TransportError as exc:
            return str(exc)
        if not busy:
            return None
        if time.monotonic() > deadline:
            return f"vpcd readers still in use by another process after {timeout:.0f} s: {', '.join(busy)}"
        time.sleep(0.5)
