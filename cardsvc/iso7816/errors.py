"""The one exception hierarchy, rooted at CardError (design §8).

`ApduError.from_sw` picks the subclass for a status word, so callers catch meaning, not numbers.
"""

from __future__ import annotations

from typing import ClassVar

from cardsvc.iso7816.sw import SW, format_sw


class CardError(Exception):
    """Root of every exception raised by this project's card code."""


class ApduError(CardError):
    """A card answered with a status word other than 9000."""

    handles: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, sw: int, data: bytes = b"", context: str = "") -> None:
        self.sw = sw
        self.data = data
        self.context = context
        text = format_sw(sw)
        super().__init__(f"{context}: {text}" if context else text)

    @property
    def sw_name(self) -> str:
        return format_sw(self.sw).split(" ", 1)[1]

    @staticmethod
    def from_sw(sw: int, data: bytes = b"", context: str = "") -> ApduError:
        if sw >> 8 == 0x6C:
            return WrongLe(sw, data, context)
        if sw & 0xFFF0 == 0x63C0:
            return VerificationFailed(sw, data, context)
        cls = _BY_SW.get(sw, ApduError)
        return cls(sw, data, context)


class FileNotFound(ApduError):
    handles = frozenset({SW.FILE_NOT_FOUND})


class RecordNotFound(ApduError):
    handles = frozenset({SW.RECORD_NOT_FOUND})


class SecurityStatusNotSatisfied(ApduError):
    handles = frozenset({SW.SECURITY_STATUS_NOT_SATISFIED})


class AuthMethodBlocked(ApduError):
    handles = frozenset({SW.AUTHENTICATION_METHOD_BLOCKED, SW.REFERENCE_DATA_NOT_USABLE})


class WrongLength(ApduError):
    handles = frozenset({SW.WRONG_LENGTH})


class ConditionsNotSatisfied(ApduError):
    handles = frozenset({SW.CONDITIONS_OF_USE_NOT_SATISFIED, SW.COMMAND_NOT_ALLOWED_NO_CURRENT_EF})


class IncorrectData(ApduError):
    handles = frozenset({SW.INCORRECT_DATA, SW.NC_INCONSISTENT_WITH_TLV, SW.NC_INCONSISTENT_WITH_P1_P2})


class WrongParameters(ApduError):
    handles = frozenset({SW.INCORRECT_P1_P2, SW.WRONG_P1_P2, SW.WRONG_PARAMETERS_NO_INFORMATION,
                         SW.REFERENCED_DATA_NOT_FOUND, SW.FUNCTION_NOT_SUPPORTED})


class InsNotSupported(ApduError):
    handles = frozenset({SW.INS_NOT_SUPPORTED})


class ClaNotSupported(ApduError):
    handles = frozenset({SW.CLA_NOT_SUPPORTED, SW.LOGICAL_CHANNEL_NOT_SUPPORTED})


class NotEnoughMemory(ApduError):
    handles = frozenset({SW.NOT_ENOUGH_MEMORY, SW.FILE_FILLED_UP})


class FileExists(ApduError):
    handles = frozenset({SW.FILE_ALREADY_EXISTS, SW.DF_NAME_ALREADY_EXISTS})


class SecureMessagingError(ApduError):
    handles = frozenset({SW.SM_DATA_OBJECTS_MISSING, SW.SM_DATA_OBJECTS_INCORRECT,
                         SW.SECURE_MESSAGING_NOT_SUPPORTED})


class CommandIncompatible(ApduError):
    handles = frozenset({SW.COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE, SW.COMMAND_NOT_ALLOWED})


class ChainingError(ApduError):
    handles = frozenset({SW.LAST_COMMAND_OF_CHAIN_EXPECTED, SW.CHAINING_NOT_SUPPORTED})


class FileInvalidated(ApduError):
    handles = frozenset({SW.SELECTED_FILE_DEACTIVATED})


class FileTerminated(ApduError):
    handles = frozenset({SW.SELECTED_FILE_TERMINATED})


class WrongLe(ApduError):
    """6Cxx: the card names the exact Le to resend with."""

    @property
    def exact_le(self) -> int:
        return (self.sw & 0xFF) or 256


class VerificationFailed(ApduError):
    """63Cx: a key or PIN check failed; x tries remain."""

    @property
    def retries_left(self) -> int:
        return self.sw & 0x0F


_BY_SW: dict[int, type[ApduError]] = {
    int(sw): cls for cls in ApduError.__subclasses__() for sw in cls.handles
}


class MalformedApduError(CardError):
    """Command APDU bytes that do not form a valid APDU; `sw` is what a card answers (ISO 7816-3 §12.1)."""

    def __init__(self, detail: str, sw: int = SW.WRONG_LENGTH) -> None:
        self.detail = detail
        self.sw = sw
        super().__init__(f"malformed command APDU: {detail} (answer {format_sw(sw)})")


class MalformedResponseError(CardError):
    """Response bytes from a card or transport that cannot be a response APDU."""


class TlvError(CardError):
    """Malformed BER-TLV; names the byte offset and, when known, the tag."""

    def __init__(self, reason: str, offset: int, tag: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        self.tag = tag
        where = f"at offset {offset}" + (f" in tag {tag:02X}" if tag is not None else "")
        super().__init__(f"malformed TLV {where}: {reason}")


class FcpError(TlvError):
    """A file control parameters template that is not valid (ISO 7816-4 §7.4)."""


class AtrError(CardError):
    """An answer-to-reset that is not valid (ISO 7816-3 §8)."""
