"""PC/SC adapter: the only module of ours that imports pyscard (design §3).

Uses pyscard's thin ``smartcard.scard`` layer (one call per PC/SC function) so every failure arrives as
an HRESULT we can translate: the rest of the code sees ``NoCardError``, ``CardRemovedError``,
``ReaderUnavailableError`` or ``TransportError``, never a pyscard exception or an integer code.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

from smartcard import scard
from smartcard.Exceptions import SmartcardException

from cardsvc.transport.base import ReaderStatus, split_response
from cardsvc.transport.errors import (
    CardRemovedError,
    NoCardError,
    ReaderUnavailableError,
    TransportError,
)

logger = logging.getLogger(__name__)

# HRESULT → our exception. pyscard returns HRESULTs as Python ints that may be negative (signed
# 32-bit on some builds), so every code is compared masked to 32 bits.
_MASK = 0xFFFFFFFF
_REMOVED = {scard.SCARD_W_REMOVED_CARD & _MASK, scard.SCARD_W_RESET_CARD & _MASK}
_NO_CARD = {
    scard.SCARD_E_NO_SMARTCARD & _MASK,
    scard.SCARD_W_UNPOWERED_CARD & _MASK,
    scard.SCARD_W_UNRESPONSIVE_CARD & _MASK,
    scard.SCARD_W_UNSUPPORTED_CARD & _MASK,
}
_NO_READER = {
    scard.SCARD_E_UNKNOWN_READER & _MASK,
    scard.SCARD_E_READER_UNAVAILABLE & _MASK,
    scard.SCARD_E_NO_READERS_AVAILABLE & _MASK,
    scard.SCARD_E_NO_SERVICE & _MASK,
    scard.SCARD_E_SERVICE_STOPPED & _MASK,
}
_TIMEOUT = scard.SCARD_E_TIMEOUT & _MASK
_CANCELLED = scard.SCARD_E_CANCELLED & _MASK

# pcsc-lite keeps an event counter in the upper 16 bits of a reader's event state.
_STATE_BITS = 0xFFFF


def _describe(hresult: int) -> str:
    try:
        message = str(scard.SCardGetErrorMessage(hresult)).strip().rstrip(".")
    except (SmartcardException, scard.error):  # pragma: no cover - pyscard always has a message
        message = "unknown PC/SC error"
    return f"{message} (0x{hresult & _MASK:08X})"


def translate(hresult: int, action: str, reader: str | None = None) -> TransportError:
    """The exception of ours for a failed PC/SC call (``action`` says what we were doing)."""
    code = hresult & _MASK
    where = f" on reader {reader!r}" if reader else ""
    text = f"{action}{where}: {_describe(hresult)}"
    if code in _REMOVED:
        return CardRemovedError(text)
    if code in _NO_CARD:
        return NoCardError(text)
    if code in _NO_READER:
        return ReaderUnavailableError(text)
    return TransportError(text)


def _call(action: str, reader: str | None, func: Callable[..., Any], *args: Any) -> Any:
    """Run a pyscard call; turn both its HRESULT and any exception it raises into ours."""
    try:
        result = func(*args)
    except (SmartcardException, scard.error) as exc:
        raise TransportError(f"{action}: {exc}") from exc
    hresult = result[0] if isinstance(result, (list, tuple)) else result
    if hresult != scard.SCARD_S_SUCCESS:
        raise translate(hresult, action, reader)
    return result


def _status_from(name: str, state: int, atr: Sequence[int]) -> ReaderStatus:
    present = bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_MUTE
    return ReaderStatus(
        name=name,
        present=present,
        atr=bytes(atr) if present else b"",
        exclusive=bool(state & scard.SCARD_STATE_EXCLUSIVE),
        events=(state >> 16) & 0xFFFF,
        raw_state=state & ~scard.SCARD_STATE_CHANGED,
    )


class PcscContext:
    """An established PC/SC resource-manager context (``SCardEstablishContext``).

    Owns no threads. ``cancel()`` may be called from another thread to end a blocking
    ``wait_for_change`` at once (``SCardCancel``), which is how the card monitor shuts down cleanly.
    """

    def __init__(self) -> None:
        _, self._handle = _call("establishing a PC/SC context", None, scard.SCardEstablishContext,
                                scard.SCARD_SCOPE_USER)
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        hresult = scard.SCardReleaseContext(self._handle)
        if hresult != scard.SCARD_S_SUCCESS:
            logger.debug("SCardReleaseContext: %s", _describe(hresult))

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError("the PC/SC context is closed")

    def reader_names(self) -> list[str]:
        """Names of the readers known to pcscd (empty when there are none)."""
        self._check_open()
        hresult, names = scard.SCardListReaders(self._handle, [])
        if hresult & _MASK == scard.SCARD_E_NO_READERS_AVAILABLE & _MASK:
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise translate(hresult, "listing readers")
        return [str(n) for n in names]

    def statuses(self, names: Sequence[str] | None = None) -> list[ReaderStatus]:
        """Current status of the named readers (all readers when ``names`` is None), without blocking."""
        names = self.reader_names() if names is None else list(names)
        if not names:
            return []
        changed = self.wait_for_change([ReaderStatus(n, False) for n in names], timeout=0.0)
        return changed if changed is not None else []

    def wait_for_change(self, known: Sequence[ReaderStatus], timeout: float) -> list[ReaderStatus] | None:
        """Block until a reader in ``known`` differs from it (``SCardGetStatusChange``).

        Returns the new statuses of all of ``known``'s readers, or None on timeout or ``cancel()``.
        A status with ``raw_state`` 0 (unaware) returns at once with the current state.
        """
        self._check_open()
        states = [(s.name, s.raw_state) for s in known]
        hresult, new_states = scard.SCardGetStatusChange(self._handle, int(timeout * 1000), states)
        code = hresult & _MASK
        if code in (_TIMEOUT, _CANCELLED):
            return None
        if hresult != scard.SCARD_S_SUCCESS:
            raise translate(hresult, "waiting for a reader status change")
        result = []
        for name, state, atr in new_states:
            if state & scard.SCARD_STATE_UNKNOWN:
                raise ReaderUnavailableError(f"reader {name!r} is gone")
            result.append(_status_from(str(name), state, atr))
        return result

    def cancel(self) -> None:
        """End a ``wait_for_change`` blocked in another thread (safe to call at any time)."""
        if not self._closed:
            scard.SCardCancel(self._handle)

    def connect(self, reader: str, *, exclusive: bool = True) -> PcscConnection:
        """Connect to the card in ``reader`` (exclusive by default: no other application interleaves)."""
        return PcscConnection(self, reader, exclusive=exclusive)


def list_readers() -> list[ReaderStatus]:
    """Every reader with whether a card is in it and its ATR (opens and releases its own context)."""
    with PcscContext() as ctx:
        return ctx.statuses()


class PcscConnection:
    """A ``Connection`` to the card in one PC/SC reader (``SCardConnect`` … ``SCardDisconnect``).

    Not thread-safe: one session drives one connection. ``close()`` leaves the card powered
    (``SCARD_LEAVE_CARD``) so a following connection finds the card as it was.
    """

    def __init__(self, context: PcscContext, reader: str, *, exclusive: bool = True,
                 owns_context: bool = False) -> None:
        self.reader = reader
        self._context = context
        self._owns_context = owns_context
        share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        try:
            _, self._card, protocol = _call("connecting", reader, scard.SCardConnect, context._handle,
                                            reader, share, scard.SCARD_PROTOCOL_T1 | scard.SCARD_PROTOCOL_T0)
        except TransportError:
            if owns_context:
                context.close()
            raise
        self.protocol = "T=1" if protocol == scard.SCARD_PROTOCOL_T1 else "T=0"
        self._pci = scard.SCARD_PCI_T1 if protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
        self._closed = False
        try:
            status = _call("reading the card status", reader, scard.SCardStatus, self._card)
        except TransportError:
            self.close()
            raise
        self._atr = bytes(status[4])
        logger.debug("connected to %r (%s, %s)", reader, self.protocol,
                     "exclusive" if exclusive else "shared")

    @property
    def atr(self) -> bytes:
        return self._atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if self._closed:
            raise TransportError(f"connection to {self.reader!r} is closed")
        # pyscard takes and returns lists of ints; bytes stay bytes everywhere above this line.
        _, response = _call("transmitting", self.reader, scard.SCardTransmit, self._card, self._pci,
                            list(apdu))
        return split_response(bytes(response))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        hresult = scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
        if hresult != scard.SCARD_S_SUCCESS:
            # A removed card cannot be disconnected cleanly; nothing is left to release.
            logger.debug("SCardDisconnect on %r: %s", self.reader, _describe(hresult))
        if self._owns_context:
            self._context.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _pick_reader(statuses: Sequence[ReaderStatus], reader: str | None) -> ReaderStatus | None:
    if reader is None:
        return next((s for s in statuses if s.present), None)
    exact = [s for s in statuses if s.name == reader]
    if exact:
        return exact[0]
    # A prefix is enough ("Virtual PCD 00 01"), as long as it names one reader.
    matches = [s for s in statuses if s.name.startswith(reader)]
    if len(matches) > 1:
        raise ReaderUnavailableError(f"reader {reader!r} is ambiguous: {[s.name for s in matches]}")
    if not matches:
        raise ReaderUnavailableError(
            f"no reader named {reader!r}; readers: {[s.name for s in statuses] or 'none'}")
    return matches[0]


def connect(reader: str | None = None, *, exclusive: bool = True, wait: float = 0.0) -> PcscConnection:
    """Connect to a card: in ``reader`` (exact name or unique prefix), or in the first reader holding one.

    ``wait`` seconds to wait for a card to be present first (pcscd notices an insertion within ~0.4 s).
    Raises ``ReaderUnavailableError`` (no such reader or no pcscd) or ``NoCardError``.
    """
    context = PcscContext()
    try:
        deadline = time.monotonic() + wait
        while True:
            target = _pick_reader(context.statuses(), reader)
            if target is not None and target.present:
                return PcscConnection(context, target.name, exclusive=exclusive, owns_context=True)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                where = f"reader {target.name!r}" if target else "any reader"
                raise NoCardError(f"no card in {where}" + (f" after waiting {wait:.1f} s" if wait else ""))
            known = [target] if target is not None else context.statuses()
            if known:
                context.wait_for_change(known, timeout=min(remaining, 0.5))
            else:
                time.sleep(min(remaining, 0.1))
    except BaseException:
        context.close()
        raise
