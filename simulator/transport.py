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
from simulator.faults import When

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


class TearingConnection(InProcessConnection):
    """Counts commands; at command `cut` (0-based) the card loses power while processing it.

    The cut lands at the command's next NVM write (`when`: before, inside or after it); a command that
    writes nothing is answered into a dead card. The host sees a removed card either way: the tearing
    campaigns of the tests and of `make bench` use this one transport.
    """

    def __init__(self, card: VirtualCard, cut: int | None = None, when: When = When.MIDDLE) -> None:
        super().__init__(card)
        self.cut = cut
        self.when = when
        self.sent = 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        index = self.sent
        self.sent += 1
        if index != self.cut:
            return super().transmit(apdu)
        self.card.cut_power(1, self.when)
        self.card.process(bytes(apdu))
        self.card.faults.disarm()
        self.card.power_off()
        raise CardRemovedError(f"card pulled during command {index}")
