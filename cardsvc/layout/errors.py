"""Errors of layouts and the card-image codec (all derive from CardError)."""

from __future__ import annotations

from cardsvc.errors import FieldError
from cardsvc.iso7816.errors import CardError, TlvError


class LayoutError(CardError):
    """A layout file that cannot be loaded or is inconsistent; names the file and the entry."""


class FieldValueError(FieldError):
    """A value that the field's encoding cannot carry; names the field and the reason."""


class ImageDecodeError(TlvError):
    """Card image content that does not decode; names the EF, the byte offset and the tag."""

    def __init__(self, file: str, reason: str, offset: int, tag: int | None = None) -> None:
        self.file = file
        super().__init__(reason, offset, tag)
        self.args = (f"EF {file}: {self.args[0]}",)

    def __str__(self) -> str:
        return str(self.args[0])
