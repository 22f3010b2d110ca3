"""Counter reader: read a presented permit with the fewest APDUs and bytes the card allows.

One SELECT of the permit ADF by AID (its FCP tells whether the ADF is ACTIVATED: a card torn during
personalization is still in INITIALISATION, ISO 7816-4 §7.4.10), then every file by its short EF
identifier (ISO 7816-4 §7.2.2, no SELECT per file). Each transparent EF is read to the exact end of its
data (cardsvc.verification.extent): one-object files (EF.SOD, EF.PHOTO, EF.CHIPKEY) as header + rest,
files of several objects with a small lookahead sized from a byte budget, so no byte is read twice and
hardly any padding. Extended length when card and reader have it, else short reads with the session's
adaptive Le. Records are read one by one (each answer is exactly one record).

Then chip authentication (INTERNAL AUTHENTICATE with a fresh challenge, plain), and last the terminal's
mutual authentication with the per-card counter key, after which the protected EF (EF.MACHINE) is read
under secure messaging: every command after MUTUAL AUTHENTICATE must be protected (the card ends the
session on a plain one), so nothing plain follows it.

Nothing here raises for what the card does: every failure is recorded as a ``ReadProblem`` beside the
bytes that were read, and the verifier decides. Only a programming error (bad arguments) raises.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from cardsvc.iso7816.commands import read_record
from cardsvc.iso7816.errors import ApduError, CardError, MalformedResponseError, TlvError
from cardsvc.iso7816.fcp import Fcp, LifeCycle
from cardsvc.iso7816.sw import SW
from cardsvc.layout.codec import fields_codec
from cardsvc.layout.schema import Content, EfDecl, Layout
from cardsvc.layout.vocabulary import CARD_EF, CHIPKEY_EF, PERMIT_DF
from cardsvc.security.chip import CHALLENGE_LENGTH, CHIP_KEY_REF, internal_authenticate_command, new_challenge
from cardsvc.security.errors import CardCryptogramError, SecurityError, TerminalKeyRejected
from cardsvc.security.kdf import SymmetricCipher, key_store_role
from cardsvc.security.mutual_auth import secure_session
from cardsvc.security.suite import layout_suite
from cardsvc.session import CardSession
from cardsvc.transport.base import Connection
from cardsvc.verification.counting import CountingConnection
from cardsvc.verification.extent import Extent, read_extent
from cardsvc.verification.verdict import ReadStats

log = logging.getLogger(__name__)

CHIPKEY_SIZE = 91  # DER SubjectPublicKeyInfo of a P-256 key (RFC 5480), the profile's chip key
MIN_LOOKAHEAD = 16
DEFAULT_BUDGET = 0.03  # padding a reader may read, as a share of the bytes read exactly (design §6: ≤ 5%)
MAX_RECORDS = 254

TerminalKeys = Callable[[str, str], bytes]
"""``keys(role, card_number)`` → the per-card key of a key-store role (e.g. ``ceremony.card_key``)."""


class ProblemKind(StrEnum):
    NOT_ACTIVATED = "not_activated"  # the permit ADF is not ACTIVATED: personalization incomplete
    UNREADABLE = "unreadable"  # the card refused or did not answer
    MALFORMED = "malformed"  # the bytes do not have the structure the file must have
    TERMINAL_REJECTED = "terminal_rejected"  # the card refused our counter key
    CARD_CRYPTOGRAM = "card_cryptogram"  # the card's cryptogram is wrong: it lacks the key
    NO_KEY = "no_key"  # this terminal has no key for the protected file
    NO_CHIP_KEY = "no_chip_key"  # the chip has no key to answer INTERNAL AUTHENTICATE with (6A88)


@dataclass(frozen=True, slots=True)
class ReadProblem:
    step: str  # file name, or "select", "chip_auth", "terminal_auth"
    kind: ProblemKind
    reason: str


@dataclass(frozen=True, slots=True)
class CardRead:
    """The exact bytes of every file read, the chip's answer to our challenge, and what went wrong."""

    layout_id: str
    files: Mapping[str, bytes]  # transparent EF name → its data (no padding)
    fids: Mapping[str, int]  # EF name → file identifier (what EF.SOD lists)
    records: Mapping[str, tuple[bytes, ...]] = field(default_factory=lambda: MappingProxyType({}))
    chip_challenge: bytes | None = None
    chip_signature: bytes | None = None
    problems: tuple[ReadProblem, ...] = ()
    stats: ReadStats = field(default_factory=ReadStats)

    def problem(self, step: str) -> ReadProblem | None:
        return next((p for p in self.problems if p.step == step), None)


def read_key_name(ef: EfDecl) -> str | None:
    """The layout key READ needs ("key:counter" → "counter"); None when reading is free."""
    rule = ef.access.get("read", "never")
    return next((p[4:] for p in rule.split("+") if p.startswith("key:")), None)


def _single_object(ef: EfDecl) -> bool:
    return ef.content is Content.EMPTY or (ef.content is Content.PERMIT and len(ef.fields) == 1)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


class PermitReader:
    """One read of one card. ``read()`` returns a ``CardRead`` and never raises a card's failure."""

    def __init__(self, source: Connection | CardSession, layout: Layout, *, keys: TerminalKeys | None = None,
                 chip_key_ref: int = CHIP_KEY_REF, cipher: SymmetricCipher | None = None,
                 budget: float = DEFAULT_BUDGET, chip_challenge: bytes | None = None) -> None:
        if isinstance(source, CardSession):
            self.wire = CountingConnection(source.connection)
            self.session = CardSession(self.wire, extended=source.extended, chaining=source.chaining,
                                       le_cache=source.pipeline.cache)
        else:
            self.wire = CountingConnection(source)
            self.session = CardSession(self.wire)
        self.layout = layout
        self.keys = keys
        self.chip_key_ref = chip_key_ref
        self.cipher = cipher or layout_suite(layout).cipher  # the role keys' cipher on the card
        self.budget = budget
        self.challenge = chip_challenge if chip_challenge is not None else new_challenge()
        if len(self.challenge) != CHALLENGE_LENGTH:
            raise ValueError(f"chip_challenge: {len(self.challenge)} bytes, expected {CHALLENGE_LENGTH}")
        self.df = layout.df(PERMIT_DF)
        self.efs = [ef for ef in layout.efs if ef.parent == PERMIT_DF]
        self._files: dict[str, bytes] = {}
        self._records: dict[str, tuple[bytes, ...]] = {}
        self._problems: list[ReadProblem] = []
        self._exact = 0  # bytes of one-object files and records: read with no padding at all
        self._read = 0  # file bytes the card returned
        self._overread = 0
        self.link_error: CardError | None = None  # why the read stopped early, for callers that retry

    # -- the whole read ----------------------------------------------------------------------------
    def read(self) -> CardRead:
        start = time.perf_counter()
        signature: bytes | None = None
        try:
            if self._select():
                protected = [ef for ef in self.efs if read_key_name(ef) is not None]
                free = [ef for ef in self.efs if read_key_name(ef) is None]
                # One-object files and records first: exact reads, and they size the padding budget.
                free.sort(key=lambda ef: (not (ef.structure.is_record or _single_object(ef)), ef.sfi))
                for ef in free:
                    self._read_ef(ef)
                signature = self._chip_auth()
                for ef in protected:
                    self._read_protected(ef)
        except CardError as exc:  # the link itself failed (card pulled, reader gone)
            self.link_error = exc
            self._problem("card", ProblemKind.UNREADABLE, _describe(exc))
        elapsed = time.perf_counter() - start
        stored = sum(len(c) for c in self._files.values()) + sum(
            len(r) for rs in self._records.values() for r in rs)
        stats = ReadStats(self.wire.apdus, self.wire.command_bytes, self.wire.response_bytes, self._read,
                          stored, elapsed)
        log.debug("read permit: %d APDUs, %d file bytes read for %d stored, %.1f ms", stats.apdus,
                  stats.file_bytes_read, stats.file_bytes_stored, elapsed * 1000)
        return CardRead(self.layout.id, MappingProxyType(dict(self._files)),
                        MappingProxyType({ef.name: ef.fid for ef in self.efs}),
                        MappingProxyType(dict(self._records)), self.challenge, signature,
                        tuple(self._problems), stats)

    def _problem(self, step: str, kind: ProblemKind, reason: str) -> None:
        log.info("read %s: %s (%s)", step, kind.value, reason)
        self._problems.append(ReadProblem(step, kind, reason))

    # -- steps -------------------------------------------------------------------------------------
    def _select(self) -> bool:
        try:
            fcp = Fcp.parse(self.session.select_aid(self.df.aid, fci=True))
        except TlvError as exc:
            self._problem("select", ProblemKind.MALFORMED, f"FCP of the permit application: {_describe(exc)}")
            return False
        except (ApduError, MalformedResponseError, ValueError) as exc:
            self._problem("select", ProblemKind.UNREADABLE, _describe(exc))
            return False
        if fcp.lifecycle is not LifeCycle.ACTIVATED:
            state = fcp.lifecycle.name if fcp.lifecycle is not None else "unknown"
            self._problem("select", ProblemKind.NOT_ACTIVATED,
                          f"permit application is {state}, not ACTIVATED: personalization incomplete")
            return False
        return True

    def _lookahead(self, ef: EfDecl) -> int:
        remaining = sum(1 for e in self.efs if not e.structure.is_record and not _single_object(e)
                        and e.name not in self._files)
        slack = int(self.budget * self._exact) - self._overread
        return max(MIN_LOOKAHEAD, slack // max(1, remaining))

    def _read_ef(self, ef: EfDecl, *, protected: bool = False) -> None:
        """Read one EF; `protected`: under the SM layer `_read_protected` put into the session."""
        try:
            if ef.structure.is_record:
                if protected:
                    raise ValueError(f"EF {ef.name}: protected record files are not supported")
                records = self._read_records(ef)
                self._records[ef.name] = records
                self._exact += sum(len(r) for r in records)
                return
            extent = self._read_transparent(ef)
        except TlvError as exc:
            self._problem(ef.name, ProblemKind.MALFORMED, _describe(exc))
            return
        except (ApduError, MalformedResponseError, SecurityError, ValueError) as exc:
            self._problem(ef.name, ProblemKind.UNREADABLE, _describe(exc))
            return
        self._files[ef.name] = extent.content
        if _single_object(ef):
            self._exact += len(extent.content)
        self._overread += extent.overread

    def _read_transparent(self, ef: EfDecl) -> Extent:
        single = _single_object(ef)
        lookahead = self._lookahead(ef)
        first_call = [True]

        def read(offset: int, length: int) -> bytes:
            sfi = ef.sfi if first_call[0] else None  # later reads address the now-current EF
            first_call[0] = False
            # Under SM the session's pipeline holds the SM layer below AdaptiveLe: Le adaptation (6700)
            # and 61xx work for protected reads exactly as for plain ones.
            data = self.session.read_binary(offset=offset, length=length, sfi=sfi)
            self._read += len(data)
            return data

        first = CHIPKEY_SIZE if ef.name == CHIPKEY_EF else None  # one command instead of header + rest
        return read_extent(read, ef.capacity, single=single, lookahead=lookahead, first=first)

    def _read_records(self, ef: EfDecl) -> tuple[bytes, ...]:
        records: list[bytes] = []
        limit = min(ef.records or MAX_RECORDS, MAX_RECORDS)
        for number in range(1, limit + 1):
            response = self.session.pipeline.send(read_record(number, le=self.session.max_le, sfi=ef.sfi))
            if response.sw == SW.RECORD_NOT_FOUND:
                break
            if response.sw == SW.FILE_NOT_FOUND and number == 1 and ef.content is Content.CHANGES:
                break  # a card made before its layout declared the change file (ZZ Art.14): none recorded
            if response.sw != SW.OK:
                raise ApduError.from_sw(response.sw, response.data, f"READ RECORD {number}")
            self._read += len(response.data)
            records.append(response.data)
        return tuple(records)

    def _chip_auth(self) -> bytes | None:
        try:
            command = internal_authenticate_command(self.challenge, self.chip_key_ref)
            response = self.session.send(command, context="INTERNAL AUTHENTICATE")
        except (ApduError, MalformedResponseError) as exc:
            # ISO 7816-4 6A88 "referenced data not found": an activated permit always has its chip key
            missing = isinstance(exc, ApduError) and exc.sw == SW.REFERENCED_DATA_NOT_FOUND
            self._problem("chip_auth", ProblemKind.NO_CHIP_KEY if missing else ProblemKind.UNREADABLE,
                          _describe(exc))
            return None
        return response.data

    def _read_protected(self, ef: EfDecl) -> None:
        name = read_key_name(ef)
        assert name is not None
        decl = self.layout.keys.get(name)
        card_number = self._card_number()
        if decl is None or self.keys is None or card_number is None:
            why = ("no terminal keys given" if self.keys is None else
                   "card number unknown (EF.CARD unreadable)" if card_number is None else f"no key {name}")
            self._problem(ef.name, ProblemKind.NO_KEY, why)
            return
        try:
            role_key = self.keys(key_store_role(decl.role), card_number)
        except (CardError, ValueError, KeyError) as exc:  # the key store cannot give this card's key
            self._problem(ef.name, ProblemKind.NO_KEY, _describe(exc))
            return
        with ExitStack() as stack:
            try:
                stack.enter_context(secure_session(self.session, role_key, decl.ref, self.cipher))
            except (ApduError, MalformedResponseError, SecurityError, ValueError) as exc:
                kind = (ProblemKind.TERMINAL_REJECTED if isinstance(exc, TerminalKeyRejected) else
                        ProblemKind.CARD_CRYPTOGRAM if isinstance(exc, CardCryptogramError) else
                        ProblemKind.UNREADABLE)
                self._problem("terminal_auth", kind, _describe(exc))
                self._problem(ef.name, ProblemKind.UNREADABLE, "terminal authentication failed")
                return
            self._read_ef(ef, protected=True)  # under SM: the session's pipeline holds the SM layer

    def _card_number(self) -> str | None:
        content = self._files.get(CARD_EF)
        if content is None:
            return None
        try:
            value = fields_codec(self.layout, CARD_EF).decode(content).values.get("card_number")
        except CardError:
            return None
        return value if isinstance(value, str) else None


def read_card(source: Connection | CardSession, layout: Layout, *, keys: TerminalKeys | None = None,
              chip_key_ref: int = CHIP_KEY_REF, cipher: SymmetricCipher | None = None,
              budget: float = DEFAULT_BUDGET) -> CardRead:
    """Read the permit on the card behind ``source`` (see the module docstring)."""
    return PermitReader(source, layout, keys=keys, chip_key_ref=chip_key_ref, cipher=cipher,
                        budget=budget).read()
