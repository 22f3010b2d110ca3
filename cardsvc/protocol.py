"""The APDU pipeline: processors stacked over a ``Connection`` (design §3, yubikit style).

Each processor takes a logical ``CommandApdu`` and returns the logical ``ResponseApdu``; it hides
one transport rule from the layers above it. The stack built by ``build_pipeline``, top to bottom::

    AdaptiveLe        READ BINARY: step Le down (256 → 223 → 192 → 128) on 6700, remember per card
    GetResponse       61xx: fetch the rest with GET RESPONSE, concatenate     (ISO 7816-4 §5.3.4)
    ExactLeRetry      6Cxx: resend the same command with Le = xx               (ISO 7816-3 §12.2.4)
    ExtendedOrChaining  extended length when the card has it, else short APDUs with command chaining
                        (CLA b5, ISO 7816-4 §5.4.1) and Le capped at 256
    TrafficLogger     (a Connection wrapper) logs every wire APDU at level TRAFFIC (5, below DEBUG),
                      with the data of PIN and key commands masked
    Connection

A secure-messaging processor slots in above ``ExtendedOrChaining``: it wraps whole logical commands,
and chaining then splits the wrapped command.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Protocol, Self

from cardsvc.iso7816.apdu import MAX_SHORT_LC, MAX_SHORT_LE, CommandApdu, ResponseApdu
from cardsvc.iso7816.commands import get_response
from cardsvc.iso7816.errors import CardError, MalformedResponseError
from cardsvc.iso7816.ins import INS, SECRET_INS
from cardsvc.iso7816.traffic import TRAFFIC
from cardsvc.transport.base import Connection

logger = logging.getLogger(__name__)


# Le fallback ladder for READ BINARY: cards with small I/O buffers reject a large Le with 6700.
LE_STEPS = (65536, 32768, 16384, 8192, 4096, 2048, 1024, 512, 256, 223, 192, 128)

MAX_GET_RESPONSE_ROUNDS = 1024  # 1024 × 256 bytes: far beyond any response our cards give


class PipelineError(CardError):
    """A command that the pipeline cannot put on the wire as asked (e.g. chaining a proprietary CLA)."""


class Processor(Protocol):
    """One layer of the pipeline: a logical command in, the logical response out."""

    def send(self, command: CommandApdu) -> ResponseApdu: ...


# --- the bottom layer: encoding onto the wire ------------------------------------------------------

class ExtendedOrChaining:
    """Put a logical command on the wire: extended length if the card supports it, else short + chaining.

    ``max_data`` caps the data of one wire APDU: 255 for short; for extended, the card's or the
    transport's buffer (vpcd carries 65535-byte messages, so Lc ≤ 65528). Longer data is chained
    (CLA | 0x10 on all but the last command), which ISO 7816-4 §5.4.1 allows with either length form.
    """

    def __init__(self, connection: Connection, *, extended: bool, max_data: int | None = None) -> None:
        self.connection = connection
        self.extended = extended
        limit = 65528 if extended else MAX_SHORT_LC
        self.max_data = limit if max_data is None else min(max_data, limit)
        if self.max_data < 1:
            raise ValueError(f"max_data must be at least 1, got {max_data}")
        self.max_le = 65536 if extended else MAX_SHORT_LE

    def _wire(self, command: CommandApdu) -> ResponseApdu:
        data, sw = self.connection.transmit(command.encode(extended=None))
        # A reader must not trust the card's framing (design §7): check what ISO 7816-4 §5.1 allows.
        if not 0 <= sw <= 0xFFFF or (sw >> 8) & 0xF0 not in (0x60, 0x90):
            raise MalformedResponseError(
                f"INS {command.ins:02X}: SW1 {(sw >> 8) & 0xFF:02X} is not a status byte (must be 6X or 9X)")
        if command.le is not None and len(data) > command.le:
            raise MalformedResponseError(
                f"INS {command.ins:02X}: card returned {len(data)} data bytes for Le={command.le}")
        return ResponseApdu(data, sw)

    def send(self, command: CommandApdu) -> ResponseApdu:
        le = command.le
        if le is not None and le > self.max_le:
            # Short mode: ask for 256; the card answers 61xx or the caller continues by offset.
            le = self.max_le
        data = command.data
        if len(data) <= self.max_data:
            if le == command.le:
                return self._wire(command)
            return self._wire(CommandApdu(command.cla, command.ins, command.p1, command.p2, data, le))
        if command.cla & 0x80:
            raise PipelineError(
                f"command {command.ins:02X} has {len(data)} data bytes, more than one APDU carries "
                f"({self.max_data}), and its proprietary CLA {command.cla:02X} cannot be chained")
        chunks = [data[i : i + self.max_data] for i in range(0, len(data), self.max_data)]
        for chunk in chunks[:-1]:
            response = self._wire(CommandApdu(command.cla | 0x10, command.ins, command.p1, command.p2, chunk))
            if response.sw != 0x9000:
                return response  # the card refused the chain: report its answer as the command's
        return self._wire(CommandApdu(command.cla, command.ins, command.p1, command.p2, chunks[-1], le))


# --- status-word driven layers ---------------------------------------------------------------------

def _get_response_cla(cla: int) -> int:
    # Keep the logical channel (b2-b1), drop chaining and SM bits for interindustry classes.
    return cla & 0x03 if not cla & 0x80 else cla


class ExactLeRetry:
    """6Cxx: the card says the exact Le; resend the same command once with it (ISO 7816-3 §12.2.4)."""

    def __init__(self, inner: Processor) -> None:
        self.inner = inner

    def send(self, command: CommandApdu) -> ResponseApdu:
        response = self.inner.send(command)
        if response.sw1 == 0x6C:
            exact = response.sw2 or 256
            logger.debug("6C%02X: resending INS %02X with Le=%d", response.sw2, command.ins, exact)
            response = self.inner.send(command.with_le(exact))
        return response


class GetResponse:
    """61xx: xx more bytes wait; fetch them with GET RESPONSE until the card ends with another SW."""

    def __init__(self, inner: Processor) -> None:
        self.inner = inner

    def send(self, command: CommandApdu) -> ResponseApdu:
        response = self.inner.send(command)
        if response.sw1 != 0x61:
            return response
        parts = [response.data]
        cla = _get_response_cla(command.cla)
        for _ in range(MAX_GET_RESPONSE_ROUNDS):
            response = self.inner.send(get_response(response.sw2 or 256, cla))
            parts.append(response.data)
            if response.sw1 != 0x61:
                return ResponseApdu(b"".join(parts), response.sw)
        raise MalformedResponseError(
            f"card still answers 61xx after {MAX_GET_RESPONSE_ROUNDS} GET RESPONSE commands")


class LeCache:
    """The largest READ BINARY Le each card accepted, keyed by ATR (or any per-card key).

    Share one instance between sessions to remember a card across connections; nothing is global.
    """

    def __init__(self) -> None:
        self._max: dict[bytes, int] = {}

    def get(self, key: bytes) -> int | None:
        return self._max.get(key)

    def lower(self, key: bytes, le: int) -> None:
        current = self._max.get(key)
        if current is None or le < current:
            self._max[key] = le

    def __len__(self) -> int:
        return len(self._max)


def next_le_step(le: int, steps: Iterable[int] = LE_STEPS) -> int | None:
    """The next smaller Le to try after ``le`` was refused, or None when the ladder is exhausted."""
    smaller = [s for s in steps if s < le]
    return max(smaller) if smaller else None


class AdaptiveLe:
    """READ BINARY refused with 6700 for a large Le: step Le down and remember what the card takes.

    Only READ BINARY (B0/B1) is adapted: it is the one command whose Le is a free choice of the
    reader; other commands keep their Le.
    """

    def __init__(self, inner: Processor, cache: LeCache, key: bytes, *, ceiling: int = 65536) -> None:
        self.inner = inner
        self.cache = cache
        self.key = key
        self.ceiling = ceiling  # the largest Le the layer below can put on the wire

    @property
    def max_le(self) -> int:
        """The largest Le worth asking for on this card right now."""
        known = self.cache.get(self.key)
        return self.ceiling if known is None else min(known, self.ceiling)

    def send(self, command: CommandApdu) -> ResponseApdu:
        if command.ins not in (INS.READ_BINARY, INS.READ_BINARY_ODD) or command.le is None:
            return self.inner.send(command)
        le = min(command.le, self.max_le)
        stepped = False
        while True:
            response = self.inner.send(command if le == command.le else command.with_le(le))
            if response.sw != 0x6700:
                if stepped:  # remember only a limit the card proved, not a small read's own Le
                    self.cache.lower(self.key, le)
                return response
            smaller = next_le_step(le)
            if smaller is None:
                return response
            logger.debug("READ BINARY with Le=%d refused (6700); trying Le=%d", le, smaller)
            le, stepped = smaller, True


# --- traffic logging -------------------------------------------------------------------------------

class TrafficLogger:
    """A ``Connection`` wrapper that logs every wire APDU at level TRAFFIC, secrets masked.

    Masked: the data of SECRET_INS commands (each fragment of a chain carries the INS, so every
    fragment is masked) and the responses to them, including the GET RESPONSE rounds that follow.
    """

    def __init__(self, connection: Connection, *, secret_ins: frozenset[int] = SECRET_INS,
                 log: logging.Logger | None = None) -> None:
        self.connection = connection
        self.secret_ins = secret_ins
        self.log = log or logger
        self._masking = False  # the response still being fetched belongs to a secret command

    @property
    def atr(self) -> bytes:
        return self.connection.atr

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if not self.log.isEnabledFor(TRAFFIC):
            return self.connection.transmit(apdu)
        ins = apdu[1] if len(apdu) > 1 else None
        if ins != INS.GET_RESPONSE:
            self._masking = ins in self.secret_ins
        # Headers, lengths and status words only (issue 13): file contents are personal data (ZZ Art.29),
        # whether written (UPDATE/APPEND/CREATE data) or read (any response). A SELECT names a file or an
        # application, which is no personal data and what a trace is read for.
        plain = ins == INS.SELECT and not self._masking
        self.log.log(TRAFFIC, "> %s", apdu.hex(" ").upper() if plain else mask_command(apdu))
        data, sw = self.connection.transmit(apdu)
        shown = f"<{len(data)} bytes masked>" if data else ""
        self.log.log(TRAFFIC, "< %s%s%04X", shown, " " if data else "", sw)
        if sw >> 8 != 0x61:
            self._masking = False
        return data, sw


def mask_command(apdu: bytes) -> str:
    """Header and length bytes in hex, the data field replaced by its length."""
    if len(apdu) <= 5:
        return apdu.hex(" ").upper()
    try:
        parsed = CommandApdu.parse(apdu)
    except CardError:
        return f"{apdu[:4].hex(' ').upper()} <{len(apdu) - 4} bytes masked>"
    le = "" if parsed.le is None else f" Le={parsed.le}"
    return f"{apdu[:4].hex(' ').upper()} <{len(parsed.data)} bytes masked>{le}"


# --- assembly --------------------------------------------------------------------------------------

def build_pipeline(connection: Connection, *, extended: bool, le_cache: LeCache | None = None,
                   max_data: int | None = None, log_traffic: bool = True) -> AdaptiveLe:
    """The standard stack over ``connection``; the returned top layer exposes ``.cache`` and ``.key``."""
    wire: Connection = TrafficLogger(connection) if log_traffic else connection
    bottom = ExtendedOrChaining(wire, extended=extended, max_data=max_data)
    cache = le_cache if le_cache is not None else LeCache()  # an empty cache is falsy
    return AdaptiveLe(GetResponse(ExactLeRetry(bottom)), cache, connection.atr,
                      ceiling=bottom.max_le)
