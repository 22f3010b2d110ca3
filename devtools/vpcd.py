"""vpcd's readers and the command that runs a virtual card in one of them (design §5).

vpcd is the server: a virtual card process connects to its port, and pcscd shows it as a card in the
reader. Kept apart from `pcsc_stack` so that naming the readers does not load pyscard.
"""

from __future__ import annotations

import sys
from pathlib import Path

READERS = {35963: "Virtual PCD 00 00", 35964: "Virtual PCD 00 01"}  # vpcd's default ports → reader names


def simulator_command(port: int, card_file: Path) -> list[str]:
    """argv of a virtual card in vpcd's reader on `port` (`python -m simulator`; SIGTERM saves and ends it)."""
    if port not in READERS:
        raise ValueError(f"port: must be one of vpcd's {sorted(READERS)}, got {port}")
    return [sys.executable, "-m", "simulator", "--port", str(port), "--card", str(card_file)]
