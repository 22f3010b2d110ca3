"""The one interface between the APDU pipeline and any card link (design §3).

A ``Connection`` moves raw command APDU bytes to a card and returns the response data and status word.
It knows nothing about chaining, GET RESPONSE or secure messaging: the processors in
``cardsvc.protocol`` stack those on top. Implementations: ``cardsvc.transport.pcsc.PcscConnection``
(real readers through pcscd) and ``simulator.transport.InProcessConnection`` (the virtual card).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from cardsvc.transport.errors import TransportError


@runtime_checkable
class Connection(Protocol):
    """A link to one card: ``transmit`` raw APDU bytes, get ``(data, sw)`` back."""

    @property
    def atr(self) -> bytes:
        """The card's Answer To Reset as received when the connection was made."""
        ...

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command APDU; return the response data and the 16-bit status word.

        Raises ``TransportError`` (or a subclass) when the link fails.
        """
        ...

    def close(self) -> None:
        """Release the card; idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def split_response(response: bytes) -> tuple[bytes, int]:
    """Split a response APDU (data ‖ SW1 SW2, ISO 7816-4 §5.1) into ``(data, sw)``.

    Shared by adapters whose link returns the response as one byte string.
    """
    if len(response) < 2:
        raise TransportError(f"response APDU too short: {len(response)} byte(s), need at least SW1 SW2")
    return response[:-2], (response[-2] << 8) | response[-1]


@dataclass(frozen=True, slots=True)
class ReaderStatus:
    """One reader as PC/SC sees it at one instant."""

    name: str
    present: bool
    atr: bytes = b""
    exclusive: bool = False  # another application holds the card exclusively
    events: int = 0  # pcsc-lite's per-reader event counter: changes on every insert/remove
    raw_state: int = 0  # the event state to hand back as "current" when waiting for a change
