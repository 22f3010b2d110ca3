"""Status words (ISO/IEC 7816-4:2020 §5.6, tables 5-6)."""

from __future__ import annotations

from enum import IntEnum


class SW(IntEnum):
    OK = 0x9000
    # Warnings (62xx/63xx): state of non-volatile memory unchanged / changed.
    WARNING_NO_INFORMATION = 0x6200
    PART_OF_DATA_CORRUPTED = 0x6281
    END_OF_FILE_REACHED = 0x6282
    SELECTED_FILE_DEACTIVATED = 0x6283
    FCI_NOT_FORMATTED = 0x6284
    SELECTED_FILE_TERMINATED = 0x6285
    WARNING_NVM_CHANGED = 0x6300
    FILE_FILLED_UP = 0x6381
    # Execution errors (64xx/65xx).
    EXECUTION_ERROR = 0x6400
    MEMORY_FAILURE = 0x6581
    # Checking errors.
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SECURE_MESSAGING_NOT_SUPPORTED = 0x6882
    LAST_COMMAND_OF_CHAIN_EXPECTED = 0x6883
    CHAINING_NOT_SUPPORTED = 0x6884
    COMMAND_NOT_ALLOWED = 0x6900
    COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE = 0x6981
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTHENTICATION_METHOD_BLOCKED = 0x6983
    REFERENCE_DATA_NOT_USABLE = 0x6984
    CONDITIONS_OF_USE_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED_NO_CURRENT_EF = 0x6986
    SM_DATA_OBJECTS_MISSING = 0x6987
    SM_DATA_OBJECTS_INCORRECT = 0x6988
    WRONG_PARAMETERS_NO_INFORMATION = 0x6A00
    INCORRECT_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    NOT_ENOUGH_MEMORY = 0x6A84
    NC_INCONSISTENT_WITH_TLV = 0x6A85
    INCORRECT_P1_P2 = 0x6A86
    NC_INCONSISTENT_WITH_P1_P2 = 0x6A87
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    FILE_ALREADY_EXISTS = 0x6A89
    DF_NAME_ALREADY_EXISTS = 0x6A8A
    WRONG_P1_P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


_SW_BY_VALUE = {int(s): s for s in SW}


def sw_name(sw: int) -> str:
    """A readable name for any SW, naming the parametrised ranges (61xx, 6Cxx, 63Cx) too."""
    known = _SW_BY_VALUE.get(sw)
    if known is not None:
        return known.name
    sw1, sw2 = sw >> 8, sw & 0xFF
    if sw1 == 0x61:
        return f"BYTES_REMAINING_{sw2 or 256}"
    if sw1 == 0x6C:
        return f"WRONG_LE_EXACT_{sw2 or 256}"
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        return f"VERIFICATION_FAILED_{sw2 & 0x0F}_RETRIES_LEFT"
    return "UNKNOWN"


def format_sw(sw: int) -> str:
    return f"{sw:04X} {sw_name(sw)}"
