"""InProcessConnection: the `Connection` protocol (cardsvc.transport.base) over a VirtualCard, no I/O.

Structurally typed against the protocol. Its one import from cardsvc.transport is the error module:
a transport raises the transport errors its callers catch (a mute card is a removed card).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from cardsvc.transport.errors import CardRemovedError
from simulator.card import VirtualCard

log = logging.getLogger(__name__)


class CardMuteError(CardRemovedError):
    """The virtual card gave no answer: it lost power (injected cut) or the connection is closed.

    The PC/SC equivalent is a removed card; reconnect() powers the card up again.
    """


class InProcessConnection:
    def __init__(self, card: VirtualCard) -> None:
        self.card = card
        self._atr = card.atr if card.powered else card.power_on()
        self._closed = False

    @property
    def atr(self) -> bytes:
        return self._atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if self._closed:
            raise CardMuteError("connection is closed")
        response = self.card.process(bytes(apdu))
        if len(response) < 2:
            raise CardMuteError("card is not powered (power lost or never switched on)")
        return response[:-2], (response[-2] << 8) | response[-1]

    def reconnect(self) -> bytes:
        """Cold reset, as a reader does when a card is inserted again; returns the ATR."""
        self._atr = self.card.power_on()
        self._closed = False
        return self._atr

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
