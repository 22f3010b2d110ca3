"""ISO/IEC 7064 MOD 11-2 check character (used by GB 11643-1999 and by our permit/card numbers)."""

from __future__ import annotations

_CHARS = "10X98765432"  # (sum mod 11) -> check character, GB 11643-1999 §5.2 / ISO 7064 MOD 11-2


def mod11_2(digits: str) -> str:
    """Check character for a string of decimal digits; weight of position i (from the right, 1-based,
    check position included) is 2^i mod 11, so 17 digits give the GB 11643 weights 7 9 10 5 8 4 2 1 ..."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"MOD 11-2 needs decimal digits, got {digits!r}")
    n = len(digits)
    total = sum(int(d) * pow(2, n - i, 11) for i, d in enumerate(digits))
    return _CHARS[total % 11]
