"""Errors of the card-face renderer; each names the field, element or package concerned."""

from __future__ import annotations

from cardsvc.errors import FieldError
from cardsvc.iso7816.errors import CardError


class FaceError(CardError):
    """Root of the card-face errors."""


class FontNotFoundError(FaceError):
    """No installed font covers what must be printed; the message names the Debian package to install."""


class FaceLayoutError(FaceError, ValueError):
    """A face layout (layouts/faces/*.toml) is malformed or places an element off the card."""


class FaceDataError(FaceError, FieldError):
    """A value cannot be printed: undecodable photo, text too long for its box, unknown code."""
