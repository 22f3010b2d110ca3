"""Transport errors: what can go wrong between the host and a card, below the APDU level.

Every adapter (PC/SC, in-process) translates its own failures into these, so callers never see a
pyscard exception. They derive from ``CardError`` like every exception of ours.
"""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError


class TransportError(CardError):
    """The link to the card failed; the APDU may or may not have reached the card."""


class CardRemovedError(TransportError):
    """The card left the reader (or was reset by someone else) during the session."""


class NoCardError(TransportError):
    """There is no card in the reader."""


class ReaderUnavailableError(TransportError):
    """The reader does not exist, was unplugged, or the PC/SC service is not running."""


class CardWaitTimeout(TransportError):
    """An awaited card event (insertion, removal) did not happen in time."""
