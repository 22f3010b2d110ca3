"""Instruction bytes: the one INS vocabulary of host, card OS and applets.

Interindustry INS codes of ISO/IEC 7816-4 clause 11 (grouped as there: §11.1 selection, §11.2 data
units, §11.3 records, §11.4 data objects, §11.5 security, §11.7 transmission), the file management
commands of ISO/IEC 7816-9 §6 and GENERATE ASYMMETRIC KEY PAIR of ISO/IEC 7816-8 §5.1. PUT KEY is the
card OS's key loading in the proprietary class (CLA b8 = 1), after GlobalPlatform's PUT KEY. An odd INS
(b1 = 1) is the BER-TLV data form of the even one (ISO 7816-4 §5.4.2: 6X and 9X are never INS).
"""

from __future__ import annotations

from enum import IntEnum


class INS(IntEnum):
    DEACTIVATE_FILE = 0x04  # 7816-9 §6
    VERIFY = 0x20  # 7816-4 §11.5
    VERIFY_ODD = 0x21
    CHANGE_REFERENCE_DATA = 0x24  # 7816-4 §11.5
    RESET_RETRY_COUNTER = 0x2C  # 7816-4 §11.5
    ACTIVATE_FILE = 0x44  # 7816-9 §6
    GENERATE_ASYMMETRIC_KEY_PAIR = 0x46  # 7816-8 §5.1
    MANAGE_CHANNEL = 0x70  # 7816-4 §11.1
    MUTUAL_AUTHENTICATE = 0x82  # 7816-4 §11.5 (EXTERNAL AUTHENTICATE shares the code)
    GET_CHALLENGE = 0x84  # 7816-4 §11.5
    GENERAL_AUTHENTICATE = 0x86  # 7816-4 §11.5
    GENERAL_AUTHENTICATE_ODD = 0x87
    INTERNAL_AUTHENTICATE = 0x88  # 7816-4 §11.5
    SELECT = 0xA4  # 7816-4 §11.1
    READ_BINARY = 0xB0  # 7816-4 §11.2
    READ_BINARY_ODD = 0xB1
    READ_RECORD = 0xB2  # 7816-4 §11.3
    GET_RESPONSE = 0xC0  # 7816-4 §11.7
    GET_DATA = 0xCA  # 7816-4 §11.4
    UPDATE_BINARY = 0xD6  # 7816-4 §11.2
    UPDATE_BINARY_ODD = 0xD7
    PUT_KEY = 0xD8  # proprietary class only (GlobalPlatform-style key loading)
    PUT_DATA = 0xDA  # 7816-4 §11.4
    UPDATE_RECORD = 0xDC  # 7816-4 §11.3
    CREATE_FILE = 0xE0  # 7816-9 §6
    APPEND_RECORD = 0xE2  # 7816-4 §11.3
    DELETE_FILE = 0xE4  # 7816-9 §6
    TERMINATE_DF = 0xE6  # 7816-9 §6
    TERMINATE_EF = 0xE8  # 7816-9 §6


# Commands whose data field carries PINs, keys or authentication cryptograms (ISO 7816-4 §11.5, PUT KEY):
# their data, and the response they draw (e.g. a card cryptogram), are never logged.
SECRET_INS = frozenset({INS.VERIFY, INS.VERIFY_ODD, INS.CHANGE_REFERENCE_DATA, INS.RESET_RETRY_COUNTER,
                        INS.MUTUAL_AUTHENTICATE, INS.GENERAL_AUTHENTICATE, INS.GENERAL_AUTHENTICATE_ODD,
                        INS.PUT_KEY})
