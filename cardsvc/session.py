"""``CardSession``: typed ISO 7816-4/-9 commands over the APDU pipeline.

Methods build ``CommandApdu``s, send them through ``cardsvc.protocol``'s stack and return ``bytes``;
a status word other than success raises the ``ApduError`` subclass that ``ApduError.from_sw`` picks,
with the command named in the message. Whole-file reads read until end of file (6282 / 6B00) or for a
known size, never reading a byte twice; the first command of a file may use its short EF identifier so
no SELECT is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from cardsvc.iso7816 import commands as cmd
from cardsvc.iso7816.apdu import CommandApdu, ResponseApdu
from cardsvc.iso7816.atr import Atr
from cardsvc.iso7816.commands import (
    MAX_EVEN_OFFSET,
    MAX_SFI_OFFSET,
    MF_FID,
    SELECT_BY_FID,
    SELECT_BY_NAME,
    SELECT_PATH_FROM_DF,
    SELECT_PATH_FROM_MF,
    TAG_DISCRETIONARY,
    fid_bytes,
)
from cardsvc.iso7816.errors import ApduError, AtrError, MalformedResponseError, TlvError
from cardsvc.iso7816.fcp import Fcp
from cardsvc.iso7816.sw import SW
from cardsvc.iso7816.tlv import encode_length, parse_single
from cardsvc.protocol import AdaptiveLe, LeCache, PipelineError, Processor, build_pipeline
from cardsvc.transport.base import Connection

logger = logging.getLogger(__name__)

MF = MF_FID
_READ_OK = frozenset({SW.OK, SW.END_OF_FILE_REACHED})
_WILDCARD_LE = (256, 65536)


def _target(sfi: int | None) -> str:
    return "current EF" if sfi is None else f"SFI {sfi:02X}"


class CardSession:
    """Typed commands to one card over ``connection``.

    ``extended``: use extended length; None reads the card's ATR capabilities (ISO 7816-4 §12.1.1.9).
    ``chaining``: the card takes command chaining; None reads the ATR (assumed when extended is off).
    ``le_cache``: share one across sessions to remember READ BINARY Le limits per card (by ATR).
    ``max_write``: data bytes per logical UPDATE BINARY (chaining or extended splits it on the wire).
    """

    def __init__(
        self,
        connection: Connection,
        *,
        extended: bool | None = None,
        chaining: bool | None = None,
        le_cache: LeCache | None = None,
        max_write: int | None = None,
        max_data: int | None = None,
    ) -> None:
        self.connection = connection
        atr_ext, atr_chain = self._capabilities(connection.atr)
        self.extended = atr_ext if extended is None else extended
        self.chaining = atr_chain if chaining is None else chaining
        if max_write is None:
            max_write = 0x8000 if (self.extended or self.chaining) else 0xFF
        if max_write < 1:
            raise ValueError(f"max_write must be positive, got {max_write}")
        self.max_write = max_write
        self.pipeline: AdaptiveLe = build_pipeline(connection, extended=self.extended, le_cache=le_cache,
                                                   max_data=max_data)
        self._below: list[Processor] = []  # what each added layer replaced, for remove_layer()

    @staticmethod
    def _capabilities(atr: bytes) -> tuple[bool, bool]:
        try:
            parsed = Atr.parse(atr)
        except AtrError as exc:
            logger.warning("cannot read card capabilities from the ATR (%s); using short APDUs", exc)
            return False, False
        return parsed.extended_length, parsed.command_chaining

    # -- plumbing ----------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def add_layer(self, make: Callable[[Processor], Processor]) -> Processor:
        """Insert a processor below Le adaptation and above 61xx/6Cxx/chaining, and return it.

        This is where secure messaging goes (``lambda inner: SecureMessagingProcessor(inner, sm)``):
        it wraps whole logical commands, GET RESPONSE below it assembles the whole protected answer,
        and chaining splits the protected command.
        """
        layer = make(self.pipeline.inner)
        self._below.append(self.pipeline.inner)
        self.pipeline.inner = layer
        return layer

    def remove_layer(self) -> None:
        """Drop the most recently added layer (e.g. when a secure-messaging session ends)."""
        if not self._below:
            raise PipelineError("no added layer to remove")
        self.pipeline.inner = self._below.pop()

    @property
    def max_le(self) -> int:
        """Largest Le to ask for: 256 short, 65536 extended, lower once the card refused more."""
        return self.pipeline.max_le

    def send(self, command: CommandApdu, *, context: str = "",
             ok: frozenset[int] = frozenset({SW.OK})) -> ResponseApdu:
        """Send any command through the pipeline; a status word outside ``ok`` raises its ``ApduError``."""
        response = self.pipeline.send(command)
        if response.sw not in ok:
            raise ApduError.from_sw(response.sw, response.data, context or f"INS {command.ins:02X}")
        return response

    # -- SELECT (ISO 7816-4 §11.1.1) ---------------------------------------------------------------
    def _select(self, p1: int, data: bytes, fcp: bool, what: str) -> bytes:
        return self.send(cmd.select(p1, data, fcp=fcp), context=f"SELECT {what}").data

    def select_mf(self, *, fcp: bool = False) -> bytes:
        return self._select(SELECT_BY_FID, fid_bytes(MF), fcp, "MF")

    def select_fid(self, fid: int, *, fcp: bool = False) -> bytes:
        """Select a file by identifier (P1 00); returns the FCP template when ``fcp``, else b''."""
        return self._select(SELECT_BY_FID, fid_bytes(fid), fcp, f"FID {fid:04X}")

    def select_path(self, path: Sequence[int], *, from_mf: bool = True, fcp: bool = False) -> bytes:
        """Select by path of FIDs: from the MF (P1 08, a leading 3F00 is dropped) or the current DF (09)."""
        fids = list(path)
        if from_mf and fids and fids[0] == MF:
            fids = fids[1:]
        if not fids:
            return self.select_mf(fcp=fcp)
        data = b"".join(fid_bytes(f) for f in fids)
        label = "/".join(f"{f:04X}" for f in fids)
        return self._select(SELECT_PATH_FROM_MF if from_mf else SELECT_PATH_FROM_DF, data, fcp, f"path {label}")

    def select_aid(self, aid: bytes, *, fci: bool = False) -> bytes:
        """Select an application by DF name (P1 04)."""
        if not 1 <= len(aid) <= 16:
            raise ValueError(f"AID must be 1..16 bytes, got {len(aid)}")
        return self._select(SELECT_BY_NAME, aid, fci, f"AID {aid.hex().upper()}")

    def file_info(self, fid: int) -> Fcp:
        """Select a file by FID and parse its FCP."""
        return Fcp.parse(self.select_fid(fid, fcp=True))

    # -- transparent EFs ---------------------------------------------------------------------------
    def _read_command(self, offset: int, le: int, sfi: int | None) -> tuple[CommandApdu, bool]:
        """The READ BINARY for ``offset``; True when it is the odd-INS form (response wrapped in 53)."""
        if offset <= (MAX_EVEN_OFFSET if sfi is None else MAX_SFI_OFFSET):
            return cmd.read_binary(offset, le=le, sfi=sfi), False
        # Odd INS B1: the answer comes in DO 53, whose header costs 2-4 bytes of Le.
        return cmd.read_binary_odd(offset, le=le, sfi=sfi), True

    def read_binary(self, *, offset: int = 0, length: int | None = None, sfi: int | None = None) -> bytes:
        """Read a transparent EF from ``offset``: ``length`` bytes (fewer if the file ends first) or to the end.

        With ``sfi`` the first command names the file by its short identifier (no SELECT); the rest
        address the then-current EF.
        """
        if offset < 0:
            raise ValueError(f"offset must not be negative, got {offset}")
        if length is not None and length < 0:
            raise ValueError(f"length must not be negative, got {length}")
        parts: list[bytes] = []
        read = 0
        label = f"READ BINARY {_target(sfi)}"
        while length is None or read < length:
            ceiling = self.max_le
            want = ceiling if length is None else min(length - read, ceiling)
            command, odd = self._read_command(offset + read, want, sfi)
            if odd:  # room for the DO 53 header, so the card sends no byte beyond `want`
                command = command.with_le(min(want + 1 + len(encode_length(want)), ceiling))
            response = self.pipeline.send(command)
            if response.sw == SW.WRONG_P1_P2 and (read > 0 or (length is None and offset == 0)):
                break  # 6B00: the previous chunk ended exactly at the end of the file (or it is empty)
            if response.sw not in _READ_OK:
                raise ApduError.from_sw(response.sw, response.data, f"{label} offset {offset + read}")
            data = self._unwrap_odd(response.data)[:want] if odd else response.data
            sfi = None  # the file is now the current EF
            parts.append(data)
            read += len(data)
            if response.sw == SW.END_OF_FILE_REACHED or not data:
                break
            # Le '00'/'0000' means "all available up to 256/65536" (ISO 7816-4 §5.1): fewer bytes with
            # 9000 is the end of the file, so no extra command is spent to hear 6282. The Le actually
            # sent may have been stepped down during this very command: compare against that.
            sent_le = min(want, self.max_le)
            if not odd and sent_le in _WILDCARD_LE and len(data) < sent_le:
                break
        return b"".join(parts)

    @staticmethod
    def _unwrap_odd(data: bytes) -> bytes:
        if not data:
            return b""
        try:
            return parse_single(data, TAG_DISCRETIONARY).value
        except TlvError as exc:
            raise MalformedResponseError(f"odd-INS READ BINARY answer is not a DO 53: {exc}") from None

    def update_binary(self, data: bytes, *, offset: int = 0, sfi: int | None = None) -> None:
        """Write ``data`` at ``offset`` in a transparent EF, ``max_write`` bytes per command."""
        if offset < 0:
            raise ValueError(f"offset must not be negative, got {offset}")
        done = 0
        label = f"UPDATE BINARY {_target(sfi)}"
        while done < len(data):
            at = offset + done
            if at <= (MAX_EVEN_OFFSET if sfi is None else MAX_SFI_OFFSET):
                chunk = data[done : done + self.max_write]
                command = cmd.update_binary(chunk, at, sfi=sfi)
            else:  # odd INS D7: the DO 54 and DO 53 headers take at most 9 bytes
                chunk = data[done : done + max(1, self.max_write - 9)]
                command = cmd.update_binary_odd(chunk, at, sfi=sfi)
            self.send(command, context=f"{label} offset {at}")
            sfi = None
            done += len(chunk)

    # -- record EFs (ISO 7816-4 §7.3.3, §11.3) -----------------------------------------------------
    def read_record(self, number: int, *, sfi: int | None = None) -> bytes:
        """Record ``number`` (1-254) of the current EF or of the EF with ``sfi``."""
        return self.send(cmd.read_record(number, le=self.max_le, sfi=sfi), context=f"READ RECORD {number}").data

    def read_records(self, *, sfi: int | None = None) -> list[bytes]:
        """Every record, from 1 until the card answers 6A83 (record not found)."""
        records: list[bytes] = []
        for number in range(1, 0xFF):
            response = self.pipeline.send(cmd.read_record(number, le=self.max_le, sfi=sfi))
            if response.sw == SW.RECORD_NOT_FOUND:
                break
            if response.sw != SW.OK:
                raise ApduError.from_sw(response.sw, response.data, f"READ RECORD {number}")
            records.append(response.data)
        return records

    def append_record(self, data: bytes, *, sfi: int | None = None) -> None:
        self.send(cmd.append_record(data, sfi=sfi), context="APPEND RECORD")

    def update_record(self, number: int, data: bytes, *, sfi: int | None = None) -> None:
        self.send(cmd.update_record(number, data, sfi=sfi), context=f"UPDATE RECORD {number}")

    # -- file management (ISO 7816-9 §6) -----------------------------------------------------------
    def create_file(self, fcp: Fcp | bytes) -> None:
        """CREATE FILE from an FCP template ('62'); the new file becomes the current file."""
        raw = fcp.encode() if isinstance(fcp, Fcp) else fcp
        self.send(cmd.create_file(raw), context="CREATE FILE")

    def _file_command(self, command: CommandApdu, fid: int | None, what: str) -> None:
        target = "current file" if fid is None else f"FID {fid:04X}"
        self.send(command, context=f"{what} {target}")

    def delete_file(self, fid: int | None = None) -> None:
        self._file_command(cmd.delete_file(fid), fid, "DELETE FILE")

    def activate_file(self, fid: int | None = None) -> None:
        self._file_command(cmd.activate_file(fid), fid, "ACTIVATE FILE")

    def deactivate_file(self, fid: int | None = None) -> None:
        self._file_command(cmd.deactivate_file(fid), fid, "DEACTIVATE FILE")

    def terminate_file(self, fid: int | None = None, *, df: bool = False) -> None:
        """TERMINATE EF (E8) or, with ``df``, TERMINATE DF (E6): irreversible."""
        self._file_command(cmd.terminate_file(fid, df=df), fid, "TERMINATE DF" if df else "TERMINATE EF")

    # -- data objects and challenge ----------------------------------------------------------------
    def get_challenge(self, length: int = 8) -> bytes:
        data = self.send(cmd.get_challenge(length), context="GET CHALLENGE").data
        if len(data) != length:
            raise MalformedResponseError(f"GET CHALLENGE returned {len(data)} bytes, asked for {length}")
        return data

    def get_data(self, tag: int) -> bytes:
        """GET DATA for a one- or two-byte tag in P1-P2 (ISO 7816-4 §11.4.3)."""
        return self.send(cmd.get_data(tag, le=self.max_le), context=f"GET DATA {tag:04X}").data

    def put_data(self, tag: int, data: bytes) -> None:
        self.send(cmd.put_data(tag, data), context=f"PUT DATA {tag:04X}")
