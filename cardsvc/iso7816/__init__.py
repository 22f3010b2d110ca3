"""Pure ISO/IEC 7816 protocol: APDUs, status words, BER-TLV, FCP, ATR.

This package imports nothing else of ours (checked by the import-linter contract in pyproject.toml).
"""

from cardsvc.iso7816.apdu import CommandApdu, ResponseApdu
from cardsvc.iso7816.errors import ApduError, CardError
from cardsvc.iso7816.sw import SW, sw_name

__all__ = ["SW", "ApduError", "CardError", "CommandApdu", "ResponseApdu", "sw_name"]
