"""The vpcd bridge: a virtual card in a real PC/SC reader (vsmartcard's vpcd driver in pcscd, design §5).

vpcd is the TCP server; the card connects to it. Each message is a 2-byte big-endian length and a
payload. A 1-byte payload is control: 00 power off, 01 power on, 02 reset (no reply to any of these),
04 get ATR (reply: the ATR). A longer payload is a command APDU, answered with the response APDU.
A closed socket is a removed card. `TCP_QUICKACK` is set before every recv: without it each APDU waits
for a delayed ACK (~44 ms instead of ~0.2 ms).

The card image is saved when the card has changed and the line goes quiet (`save_idle` seconds), on
power off, reset, removal and exit: a write is never lost to a clean shutdown or a card pull, and a
burst of personalisation APDUs does not pay for one image write per APDU. A power cut injected with
`card.cut_power` (CLI `--cut-power`) acts as a card pulled mid-command: no answer, socket closed.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from pathlib import Path

from simulator.card import VirtualCard

log = logging.getLogger(__name__)

CTRL_POWER_OFF = 0
CTRL_POWER_ON = 1
CTRL_RESET = 2
CTRL_GET_ATR = 4


class _Closed(Exception):
    """The vpcd side closed the connection."""


def _quickack(sock: socket.socket) -> None:
    if hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Read exactly n bytes, looping over partial reads; _Closed on end of stream."""
    buf = bytearray()
    while len(buf) < n:
        _quickack(sock)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise _Closed
        buf += chunk
    return bytes(buf)


def send_message(sock: socket.socket, payload: bytes) -> None:
    if len(payload) > 0xFFFF:
        raise ValueError(f"vpcd message of {len(payload)} bytes exceeds 65535")
    sock.sendall(len(payload).to_bytes(2, "big") + payload)


class VpcdBridge:
    """Connects `card` to vpcd at host:port; `run()` blocks until `stop()`. Thread-safe controls:
    `insert()`, `remove()`, `toggle()`, `stop()`."""

    def __init__(self, card: VirtualCard, host: str = "127.0.0.1", port: int = 35963,
                 image_path: Path | None = None, *, inserted: bool = True, retry_interval: float = 0.2,
                 save_idle: float = 0.02) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.image_path = image_path
        self.retry_interval = retry_interval
        self.save_idle = save_idle
        self._inserted = inserted
        self._stopping = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._saved_generation = card.nvm.generation
        self.connected = threading.Event()
        self.apdus = 0

    # --- controls (any thread, or a signal handler) ------------------------------------------------
    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a wake-up already pending, or shutting down
            self._wake_w.send(b"x")

    def insert(self) -> None:
        self._inserted = True
        self._wake()

    def remove(self) -> None:
        self._inserted = False
        self._wake()

    def toggle(self) -> None:
        self._inserted = not self._inserted
        self._wake()

    def stop(self) -> None:
        self._stopping = True
        self._wake()

    @property
    def inserted(self) -> bool:
        return self._inserted

    # --- persistence ------------------------------------------------------------------------------
    def save_if_changed(self) -> None:
        generation = self.card.nvm.generation
        if self.image_path is None or generation == self._saved_generation:
            return
        started = time.perf_counter()
        self.card.save(self.image_path)
        self._saved_generation = generation
        log.debug("card image saved to %s in %.1f ms", self.image_path, (time.perf_counter() - started) * 1e3)

    # --- main loop --------------------------------------------------------------------------------
    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(64):
                pass

    def _wait_wake(self, timeout: float) -> None:
        ready, _, _ = select.select([self._wake_r], [], [], timeout)
        if ready:
            self._drain_wake()

    def _connect(self) -> socket.socket | None:
        while not self._stopping and self._inserted:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2.0)
            except OSError as exc:
                log.debug("vpcd at %s:%d not reachable (%s); retrying", self.host, self.port, exc)
                self._wait_wake(self.retry_interval)
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            log.info("card inserted: connected to vpcd at %s:%d", self.host, self.port)
            return sock
        return None

    def run(self) -> None:
        try:
            while not self._stopping:
                if not self._inserted:
                    self._wait_wake(1.0)
                    continue
                sock = self._connect()
                if sock is None:
                    continue
                self.connected.set()
                try:
                    self._serve(sock)
                except _Closed:
                    log.info("vpcd closed the connection; reconnecting")
                    self._wait_wake(self.retry_interval)
                except OSError as exc:
                    log.warning("vpcd connection failed: %s; reconnecting", exc)
                    self._wait_wake(self.retry_interval)
                finally:
                    self.connected.clear()
                    sock.close()
                    self.card.power_off()
                    self.save_if_changed()
        finally:
            self.save_if_changed()
            self._wake_r.close()
            self._wake_w.close()

    def _serve(self, sock: socket.socket) -> None:
        card = self.card
        while True:
            dirty = card.nvm.generation != self._saved_generation and self.image_path is not None
            ready, _, _ = select.select([sock, self._wake_r], [], [], self.save_idle if dirty else None)
            if not ready:
                self.save_if_changed()  # the line went quiet after a write
                continue
            if self._wake_r in ready:
                self._drain_wake()
                if self._stopping or not self._inserted:
                    log.info("card removed from vpcd reader at %s:%d", self.host, self.port)
                    return
                if sock not in ready:
                    continue
            length = int.from_bytes(recv_exact(sock, 2), "big")
            payload = recv_exact(sock, length) if length else b""
            if length == 1:
                self._control(sock, payload[0])
            elif length:
                self.apdus += 1
                was_powered = card.powered
                response = card.process(payload)
                if was_powered and not card.powered:
                    # An injected power cut is a card pulled mid-command: no answer, socket closed, and
                    # the card stays out until insert() (SIGUSR1 from the CLI).
                    log.info("power cut during an APDU: card pulled from %s:%d", self.host, self.port)
                    self._inserted = False
                    return
                send_message(sock, response)  # an unpowered card answers nothing: length 0

    def _control(self, sock: socket.socket, code: int) -> None:
        card = self.card
        if code == CTRL_POWER_OFF:
            card.power_off()
            self.save_if_changed()
        elif code == CTRL_POWER_ON:
            card.power_on()
        elif code == CTRL_RESET:
            card.reset()
            self.save_if_changed()
        elif code == CTRL_GET_ATR:
            send_message(sock, card.atr)
        else:
            log.warning("unknown vpcd control byte %02X ignored", code)
