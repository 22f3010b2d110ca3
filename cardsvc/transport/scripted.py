"""Connections for tests and measurements.

``ScriptedConnection`` plays back a script of expected commands and canned responses (golden-vector
tests, replaying recorded traffic): every ``transmit`` must match the next expected command byte for
byte, or a ``ScriptMismatch`` names the step and both sides. ``RecordingConnection`` wraps a real
connection and keeps what crossed it, to count APDUs and bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Self

from cardsvc.transport.base import Connection
from cardsvc.transport.errors import CardRemovedError, TransportError


class ScriptMismatch(TransportError):
    """The host sent something other than the next command of the script (or more commands)."""


REMOVED = b""  # as a scripted response: the card is pulled when this command arrives


class ScriptedConnection:
    """Plays ``steps``: pairs of (expected command, response bytes incl. SW) in order.

    Hex strings are accepted in the script for readability (spaces ignored); the wire side is bytes.
    A response of ``REMOVED`` raises ``CardRemovedError`` instead of answering.
    """

    def __init__(self, steps: Iterable[tuple[bytes | str, bytes | str]], atr: bytes = b"\x3b\x00") -> None:
        self._steps = [(_raw(cmd), _raw(rsp)) for cmd, rsp in steps]
        self._atr = atr
        self.position = 0
        self.sent: list[bytes] = []
        self.closed = False

    @property
    def atr(self) -> bytes:
        return self._atr

    @property
    def done(self) -> bool:
        return self.position == len(self._steps)

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if self.closed:
            raise TransportError("scripted connection is closed")
        self.sent.append(apdu)
        if self.position >= len(self._steps):
            raise ScriptMismatch(f"step {self.position}: unexpected extra command {apdu.hex().upper()}")
        expected, response = self._steps[self.position]
        if apdu != expected:
            raise ScriptMismatch(f"step {self.position}: expected {_short(expected)}, got {_short(apdu)}")
        self.position += 1
        if response == REMOVED:
            raise CardRemovedError("scripted card removal")
        return response[:-2], int.from_bytes(response[-2:], "big")

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class RecordingConnection:
    """Pass-through ``Connection`` that records every command and response (data, SW)."""

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.commands: list[bytes] = []
        self.responses: list[tuple[bytes, int]] = []

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.commands.append(apdu)
        response = self.inner.transmit(apdu)
        self.responses.append(response)
        return response

    def reset_counts(self) -> None:
        self.commands.clear()
        self.responses.clear()

    @property
    def bytes_received(self) -> int:
        return sum(len(data) for data, _ in self.responses)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _raw(value: bytes | str) -> bytes:
    return bytes.fromhex(value.replace(" ", "")) if isinstance(value, str) else value


def _short(apdu: bytes) -> str:
    text = apdu.hex().upper()
    return text if len(text) <= 48 else f"{text[:40]}…({len(apdu)} bytes)"
