"""Errors raised inside the card OS.

Handlers raise `SwError` with the status word a card answers and a reason for the log; the one boundary
in `applets.os` turns it into the response. `PowerLoss` is not an answer: it models the card losing power
in the middle of a command (fault injection) and is caught by the simulator, which then goes mute.
"""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError
from cardsvc.iso7816.sw import SW, format_sw


class SwError(CardError):
    """A command failed; `sw` is the status word answered, `reason` names the field or byte and why."""

    def __init__(self, sw: int, reason: str) -> None:
        self.sw = int(sw)
        self.reason = reason
        super().__init__(f"{format_sw(self.sw)}: {reason}")


class PowerLoss(CardError):
    """Power was cut by an armed fault while non-volatile memory was being written."""


class CardImageError(CardError):
    """A saved card image that cannot be loaded; names the field and the reason."""


def wrong_p1p2(reason: str) -> SwError:
    return SwError(SW.INCORRECT_P1_P2, reason)


def wrong_length(reason: str) -> SwError:
    return SwError(SW.WRONG_LENGTH, reason)
