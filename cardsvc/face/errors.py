"""Errors of the card-face renderer; each names the field, element or package concerned."""

from __future__ import annotations

from cardsvc.iso7816.errors import CardError


class FaceError(CardError):
    """Root of the card-face errors."""


class FontNotFoundError(FaceError):
    """No installed font covers what must be printed; the message names the Debian package to install."""


class FaceLayoutError(FaceError, ValueError):
    """A face layout (layouts/faces/*.toml) is malformed or places an element off the card."""


class FaceDataError(FaceError, ValueError):
    """A value cannot be printed: undecodable photo, text too long for its box, unknown code."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")
