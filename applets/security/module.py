"""Installs the security module into a card OS: commands, the secure-messaging hook, reset handling.

`install(os)` registers the commands of applets.security.commands and sets `os.sm`. The SM session lives
in the channel's volatile `SecurityState.extra`, so a reset, a new application selected on the channel,
a failed SM check or any plain command (other than GET RESPONSE) during the session ends it and with it
every security status (ICAO 9303-11 §9.8.8; ISO 7816-4 §5.1.1.2).
"""

from __future__ import annotations

import logging

from applets.cardos import CardOs
from applets.context import ChannelState, Reply
from applets.errors import SwError
from applets.security.commands import HANDLERS, PROPRIETARY_HANDLERS, SESSION_KEY
from applets.security.sm import CardSmSession, protected_response_size
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.ins import INS
from cardsvc.iso7816.sw import SW

log = logging.getLogger(__name__)


class SecureMessagingHook:
    """`applets.cardos.SecureMessaging` over the channel's CardSmSession."""

    def __init__(self) -> None:
        # Session that unwrapped the command in progress, per channel: the reply is protected with it
        # even when the command itself ended the session (e.g. SELECT of another application).
        self._in_flight: dict[int, CardSmSession] = {}

    def clear(self) -> None:
        self._in_flight.clear()

    def unwrap(self, channel: ChannelState, apdu: CommandApdu) -> CommandApdu:
        session = channel.security.extra.get(SESSION_KEY)
        if not isinstance(session, CardSmSession) or not channel.security.sm_active:
            channel.security.clear()
            raise SwError(SW.SM_DATA_OBJECTS_INCORRECT, "secure messaging without an authenticated session")
        try:
            plain = session.unwrap_command(apdu)
        except SwError:
            channel.security.clear()  # any SM failure ends the session
            raise
        self._in_flight[id(channel)] = session
        return plain

    def wrap(self, channel: ChannelState, apdu: CommandApdu, reply: Reply) -> Reply:
        session = self._in_flight.pop(id(channel), None)
        if session is None:  # cannot happen: unwrap ran first; answer unprotected rather than crash
            log.error("SM wrap without a session for INS %02X", apdu.ins)
            return Reply(b"", SW.SM_DATA_OBJECTS_INCORRECT)
        return Reply(session.wrap_response(reply.data, reply.sw), reply.sw)

    def response_size(self, plain: int) -> int:
        return protected_response_size(plain)

    def plain_command(self, channel: ChannelState, apdu: CommandApdu) -> None:
        if apdu.ins != INS.GET_RESPONSE:  # GET RESPONSE fetches the rest of a protected answer
            log.debug("plain INS %02X during SM: session ended", apdu.ins)
            channel.security.clear()


def install(card_os: CardOs) -> SecureMessagingHook:
    """Add the security commands and the SM hook to `card_os` (idempotent per card OS)."""
    if isinstance(card_os.sm, SecureMessagingHook):
        return card_os.sm
    for ins, handler in HANDLERS.items():
        card_os.table.register(ins, handler)
    for ins, handler in PROPRIETARY_HANDLERS.items():
        card_os.table.register(ins, handler, proprietary=True)
    hook = SecureMessagingHook()
    card_os.sm = hook
    card_os.reset_hooks.append(hook.clear)
    return hook
