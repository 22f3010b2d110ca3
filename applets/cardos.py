"""The card OS: logical channels, CLA decoding, secure-messaging hook, command chaining, INS dispatch,
the one boundary that turns errors into status words, and response chaining by GET RESPONSE.

Order per command (ISO 7816-4 §5.1, §5.4, §10.1): parse → CLA (channel, SM, chaining) → SM unwrap →
collect the chain → handler from the INS table → SM wrap → cut the response to Ne (61xx remainder).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from applets.commands import register_standard
from applets.context import CardState, ChannelState, CommandTable, Context, Reply
from applets.errors import PowerLoss, SwError
from applets.fs import FileNode, used_memory
from applets.nvm import Nvm
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.errors import MalformedApduError
from cardsvc.iso7816.ins import INS
from cardsvc.iso7816.sw import SW
from cardsvc.iso7816.traffic import TRAFFIC  # headers and lengths only, never payload

log = logging.getLogger(__name__)

MAX_CHANNELS = 4  # basic channel 0 plus 1-3, in first-interindustry CLA b2-b1
MAX_CHAIN = 65535  # a chain assembles at most what one extended Lc could carry
FILE_OVERHEAD = 32  # bytes of header per file counted against the card capacity
_READ_BINARY = (INS.READ_BINARY, INS.READ_BINARY_ODD)


class SecureMessaging(Protocol):
    """Hook a security module installs (ISO 7816-4 §10): unwrap a protected command, wrap the answer."""

    def unwrap(self, channel: ChannelState, apdu: CommandApdu) -> CommandApdu:
        """Verify and decrypt; return the plain command or raise SwError (6987/6988)."""
        ...

    def wrap(self, channel: ChannelState, apdu: CommandApdu, reply: Reply) -> Reply:
        """Protect the reply (status included) to a command that came under SM."""
        ...

    def plain_command(self, channel: ChannelState, apdu: CommandApdu) -> None:
        """A command without SM arrived while `channel.security.sm_active`: typically end the session."""
        ...

    def response_size(self, plain: int) -> int:
        """Bytes of the protected response data field that carries `plain` bytes of plain data."""
        ...


def decode_cla(cla: int) -> tuple[int, bool, bool, bool]:
    """(channel, secure messaging, chaining, proprietary) from CLA (ISO 7816-4 §5.4.1, tables 2-3)."""
    if cla & 0xE0 == 0x00:  # first interindustry: b5 chaining, b4-b3 SM, b2-b1 channel
        return cla & 0x03, bool(cla & 0x0C), bool(cla & 0x10), False
    if cla & 0xC0 == 0x40:  # further interindustry: b6 SM, b5 chaining, b4-b1 channel - 4
        return 4 + (cla & 0x0F), bool(cla & 0x20), bool(cla & 0x10), False
    if cla & 0x80 and cla != 0xFF:  # proprietary: same bit layout as first interindustry by convention
        return cla & 0x03, bool(cla & 0x0C), bool(cla & 0x10), True
    raise SwError(SW.CLA_NOT_SUPPORTED, f"CLA {cla:02X} is reserved")


class CardOs:
    def __init__(self, state: CardState, nvm: Nvm | None = None) -> None:
        self.state = state
        self.nvm = nvm if nvm is not None else Nvm()
        self.table = CommandTable()
        self.sm: SecureMessaging | None = None
        self.reset_hooks: list[Callable[[], None]] = []
        self.channels: list[ChannelState | None] = []
        # Largest Ne READ BINARY serves (None: any). Some cards' buffers take only 192 or 223 bytes and
        # answer 6700 to more; readers step Le down (cardsvc.protocol.AdaptiveLe).
        self.max_le: int | None = None
        register_standard(self.table)
        self.reset()

    # --- life cycle of the session -----------------------------------------------------------------
    def reset(self) -> None:
        """Cold or warm reset: only channel 0 open, MF selected, no security status (ISO 7816-4 §5.1.1.2)."""
        self.channels = [ChannelState(self.state.mf)] + [None] * (MAX_CHANNELS - 1)
        for hook in self.reset_hooks:
            hook()

    def forget(self, node: FileNode) -> None:
        """After `node` is deleted, move every channel that had it (or a descendant) selected to its parent."""
        parent = node.parent
        assert parent is not None
        for channel in self.channels:
            if channel is None:
                continue
            if any(n is node for n in channel.current_df.chain()):
                channel.select_df(parent)
            elif channel.current_ef is not None and any(n is node for n in channel.current_ef.chain()):
                channel.current_ef = None
                channel.current_record = 0

    def used_memory(self) -> int:
        return used_memory(self.state.mf, FILE_OVERHEAD)

    # --- persistent objects for a security module -------------------------------------------------
    def get_object(self, name: str) -> bytes | None:
        return self.state.objects.get(name)

    def put_object(self, name: str, value: bytes) -> None:
        """Store a key object or counter atomically (a torn write keeps the old value)."""
        objects = self.state.objects

        def apply() -> None:
            objects[name] = bytes(value)

        self.nvm.commit(apply, payload=len(value))

    def delete_object(self, name: str) -> None:
        objects = self.state.objects

        def drop() -> None:
            objects.pop(name, None)

        self.nvm.commit(drop)

    # --- the boundary -----------------------------------------------------------------------------
    def process(self, raw: bytes) -> bytes:
        """One command APDU in, one response APDU out; every error becomes a status word here.

        `PowerLoss` (fault injection) is the only exception that leaves: the card has no power to answer.
        """
        trace = log.isEnabledFor(TRAFFIC)
        if trace:
            log.log(TRAFFIC, "C-APDU %s +%d bytes", raw[:4].hex(" "), max(0, len(raw) - 4))
        try:
            data, sw = self._process(raw)
        except PowerLoss:
            raise
        except SwError as exc:
            log.debug("refused %s: %s", raw[:4].hex(" "), exc)
            data, sw = b"", exc.sw
        except MalformedApduError as exc:
            log.debug("malformed APDU: %s", exc.detail)
            data, sw = b"", exc.sw
        except Exception:  # a bug must not crash the card: answer 6F00 and keep the trace for the log
            log.exception("card OS fault on %s", raw[:4].hex(" "))
            data, sw = b"", SW.NO_PRECISE_DIAGNOSIS
        if trace:
            log.log(TRAFFIC, "R-APDU %d bytes SW %04X", len(data), sw)
        return data + sw.to_bytes(2, "big")

    def _process(self, raw: bytes) -> tuple[bytes, int]:
        apdu = CommandApdu.parse(raw)
        number, sm, chained, proprietary = decode_cla(apdu.cla)
        channel = self.channels[number] if number < MAX_CHANNELS else None
        if channel is None:
            raise SwError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED, f"logical channel {number} is not open")
        if apdu.ins != INS.GET_RESPONSE:
            channel.pending = b""
        secured = False
        outer = apdu  # under SM the response is cut to the Le of the protected command
        if sm:
            if self.sm is None:
                raise SwError(SW.SECURE_MESSAGING_NOT_SUPPORTED, f"CLA {apdu.cla:02X} asks for SM; none set up")
            apdu = self.sm.unwrap(channel, apdu)
            secured = True
        elif channel.security.sm_active and self.sm is not None:
            self.sm.plain_command(channel, apdu)
        try:
            reply = self._dispatch(channel, apdu, secured, chained, proprietary)
        except SwError as exc:
            if not secured:
                raise
            log.debug("refused under SM: %s", exc)
            reply = Reply(b"", exc.sw)
        if secured and self.sm is not None:
            reply = self._fit_buffer(self.sm, apdu, reply)
            return self._deliver(channel, outer, self.sm.wrap(channel, apdu, reply))
        return self._deliver(channel, apdu, reply)

    def _fit_buffer(self, sm: SecureMessaging, apdu: CommandApdu, reply: Reply) -> Reply:
        """Under SM a read's answer grows by the SM data objects; a card with a small buffer (`max_le`)
        refuses with 6700 (inside the protection) a read whose protected answer would not fit, so the
        reader steps the plain Le down as it does for plain reads (plain reads: commands/binary.py)."""
        if (self.max_le is None or apdu.ins not in _READ_BINARY or not reply.data
                or sm.response_size(len(reply.data)) <= self.max_le):
            return reply
        log.debug("protected answer of %d plain bytes exceeds the %d-byte buffer", len(reply.data), self.max_le)
        return Reply(b"", SW.WRONG_LENGTH)

    def _dispatch(self, channel: ChannelState, apdu: CommandApdu, secured: bool, chained: bool,
                  proprietary: bool) -> Reply:
        header = (apdu.cla & ~0x10 & 0xFF, apdu.ins, apdu.p1, apdu.p2)
        if chained or channel.chain is not None:
            if channel.chain is not None and header != channel.chain_header:
                channel.chain = None
                raise SwError(SW.LAST_COMMAND_OF_CHAIN_EXPECTED,
                              f"chain of INS {channel.chain_header[1]:02X} broken by {header[1]:02X}")
            if channel.chain is None:
                channel.chain = bytearray()
                channel.chain_header = header
            if len(channel.chain) + len(apdu.data) > MAX_CHAIN:
                channel.chain = None
                raise SwError(SW.WRONG_LENGTH, f"chained data exceeds {MAX_CHAIN} bytes")
            channel.chain += apdu.data
            if chained:
                return Reply()
            data = bytes(channel.chain)
            channel.chain = None
            apdu = CommandApdu(header[0], apdu.ins, apdu.p1, apdu.p2, data, apdu.le, apdu.is_extended)
        handler = self.table.lookup(apdu.ins, proprietary)
        if handler is None:
            if proprietary and not self.table.has_proprietary():
                raise SwError(SW.CLA_NOT_SUPPORTED, f"no proprietary commands (CLA {apdu.cla:02X})")
            raise SwError(SW.INS_NOT_SUPPORTED, f"INS {apdu.ins:02X} not supported")
        return handler(Context(self, channel, apdu, secured))

    @staticmethod
    def _deliver(channel: ChannelState, apdu: CommandApdu, reply: Reply) -> tuple[bytes, int]:
        """Give at most Ne bytes; keep the rest for GET RESPONSE and say so with 61xx (ISO 7816-4 §5.3.4)."""
        data = reply.data
        if not data:
            return b"", reply.sw
        ne = apdu.le or 0
        if len(data) <= ne:
            return data, reply.sw
        if ne == 0:  # no Le: the host asked for no response data (case 1 or 3)
            return b"", reply.sw
        channel.pending = data[ne:]
        return data[:ne], 0x6100 | (min(len(channel.pending), 256) & 0xFF)
