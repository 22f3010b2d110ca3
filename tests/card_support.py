"""Test helper for the bare card OS: grant a key's security status without running authentication.

Tests of the file system's access rules use this instead of the security module's MUTUAL AUTHENTICATE;
production code has no such shortcut (the card OS only grants status through its security module).
"""

from __future__ import annotations

from simulator import VirtualCard


def grant(card: VirtualCard, key_ref: int, channel: int = 0, *, sm: bool = False) -> None:
    """Mark key `key_ref` authenticated on `channel` (and SM active when `sm`), as a successful
    authentication would."""
    state = card.os.channels[channel]
    if state is None:
        raise ValueError(f"logical channel {channel} is not open")
    state.security.grant(key_ref)
    state.security.sm_active = state.security.sm_active or sm
