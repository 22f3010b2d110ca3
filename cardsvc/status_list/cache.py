"""Counter-side status: an online lookup when it answers, else the latest verified list cached on disk.

The cache keeps the signed bytes exactly as published (the full list at `path`, the deltas applied since
in `path` + ".deltas", a CBOR array), so every load re-verifies the signatures, the signer and the delta
chain (a file edited on disk, or a signer revoked since, is caught). It never goes back to an older
sequence number (rollback), never accepts a second, different list under the same number, and applies a
delta only to the exact list it names by sequence and digest; otherwise it takes the full list. Every answer
says where it came from and how old its basis is; a basis older than `max_age` (the city profile's limit)
is answered with `fresh=False`, never passed off as current.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import cbor2

from cardsvc.rules.status import SuspensionReason
from cardsvc.security.errors import SignedDataError
from cardsvc.security.pki import SignerRole, TrustStore
from cardsvc.status_list.compact import open_status_delta, open_status_list
from cardsvc.status_list.errors import (
    StatusListCacheError,
    StatusListError,
    StatusListFormatError,
    StatusListGapError,
    StatusListIssuerError,
    StatusListRollbackError,
    StatusStaleError,
    StatusUnavailableError,
)
from cardsvc.status_list.index import StatusIndex
from cardsvc.status_list.model import ListStatus, check_card_number

log = logging.getLogger(__name__)


class StatusSource(StrEnum):
    ONLINE = "online"
    CACHED_LIST = "cached_list"


@dataclass(frozen=True, slots=True)
class Binding:
    """What only the online registry knows about a card (design §7): the chip it was issued to and how
    many endorsement records, and change records (ZZ Art.14), it should hold (written to the card; recorded,
    some maybe still pending)."""

    chip_key_sha256: bytes | None  # SHA-256 of the EF.CHIPKEY bytes recorded; None: no chip recorded
    endorsements_written: int
    endorsements_recorded: int
    changes_written: int = 0
    changes_recorded: int = 0


@dataclass(frozen=True, slots=True)
class OnlineStatus:
    """What an online registry lookup returns: the status and the registry time it holds for."""

    status: ListStatus
    reason: SuspensionReason | None
    as_of: dt.datetime
    binding: Binding | None = None


OnlineLookup = Callable[[str], OnlineStatus]


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    status: ListStatus
    reason: SuspensionReason | None
    list_issued_at: dt.datetime  # the list's issue time, or the online answer's `as_of`
    age: dt.timedelta  # now - list_issued_at
    fresh: bool  # age within the profile's max_age
    source: StatusSource
    sequence: int | None = None  # list sequence number (None for an online answer)
    next_update: dt.datetime | None = None  # when the registry promised the next list
    binding: Binding | None = None  # online only: the chip and endorsement count the registry holds
    grace: dt.timedelta = dt.timedelta(0)  # how long past next_update the list is still used

    @property
    def stale(self) -> bool:
        """Past the list's own next update (and the grace): its ACTIVE may be out of date (design §7)."""
        return self.next_update is not None and self.list_issued_at + self.age > self.next_update + self.grace

    @property
    def past_next_update(self) -> bool:
        """The registry has (or should have) published a newer list than the one used."""
        return self.next_update is not None and self.list_issued_at + self.age > self.next_update

    def require_fresh(self) -> StatusAnswer:
        if not self.fresh:
            raise StatusStaleError(
                f"status from {self.source.value} issued {self.list_issued_at.isoformat()} is {self.age} old")
        return self


@dataclass(frozen=True, slots=True)
class _Cached:
    blob: bytes  # the signed full list as stored on disk
    deltas: tuple[bytes, ...]  # the signed deltas applied since, in order
    index: StatusIndex  # the list in force: the full list with the deltas applied


class StatusListCache:
    """The latest verified status list of one registry, kept at `path`.

    `max_age`: the city profile's limit on the age of the status basis. `issuer`: if given, lists of any
    other registry are refused; `signer_authority`: if given, lists not signed by that authority's signer
    are refused (a counter pins both from its layout: `scope.list_scope`, design §7). `next_update_grace`:
    how long past its next update a list may still say ACTIVE (shown in the verdict). `online`: a callable
    preferred over the list; any exception it raises (network down, timeout, HTTP error) falls back to the
    cached list.
    """

    def __init__(self, path: Path, trust: TrustStore, max_age: dt.timedelta, *, issuer: str | None = None,
                 signer_authority: str | None = None, next_update_grace: dt.timedelta = dt.timedelta(0),
                 online: OnlineLookup | None = None, role: SignerRole = SignerRole.DOCUMENT,
                 now: dt.datetime | None = None) -> None:
        if max_age <= dt.timedelta(0):
            raise StatusListFormatError(f"max_age: must be positive, got {max_age}")
        self._path = Path(path)
        self._trust = trust
        self._max_age = max_age
        self._issuer = issuer
        self._signer_authority = signer_authority
        if next_update_grace < dt.timedelta(0):
            raise StatusListFormatError(f"next_update_grace: must not be negative, got {next_update_grace}")
        self._grace = next_update_grace
        self._online = online
        self._role = role
        self._lock = threading.Lock()
        # One reference swapped as a whole, so a lookup never pairs a new list with an old index.
        self._state: _Cached | None = None
        if self._path.exists():
            self._load(_aware(now or dt.datetime.now(dt.UTC), "now"))

    @property
    def current(self) -> StatusIndex | None:
        state = self._state
        return state.index if state else None

    @property
    def _deltas_path(self) -> Path:
        return self._path.with_name(self._path.name + ".deltas")

    def _load(self, now: dt.datetime) -> None:
        try:
            blob = self._path.read_bytes()
            deltas_blob = self._deltas_path.read_bytes() if self._deltas_path.exists() else None
        except OSError as exc:
            raise StatusListCacheError(f"cache {self._path}: cannot read ({exc.strerror})") from exc
        try:
            index = self._verify(blob, now)
            deltas = _delta_blobs(deltas_blob) if deltas_blob is not None else ()
            for delta in deltas:
                index = open_status_delta(delta, self._trust, now, self._role,
                                          signer_authority=self._signer_authority).apply(index)
        except (StatusListError, SignedDataError) as exc:
            raise StatusListCacheError(f"cache {self._path}: stored list no longer verifies: {exc}") from exc
        self._state = _Cached(blob, deltas, index)

    def _verify(self, blob: bytes, now: dt.datetime) -> StatusIndex:
        index = open_status_list(blob, self._trust, now, self._role, signer_authority=self._signer_authority)
        if self._issuer is not None and index.issuer != self._issuer:
            raise StatusListIssuerError(f"list issued by {index.issuer}, this cache takes {self._issuer}")
        return index

    def update(self, blob: bytes, now: dt.datetime) -> StatusIndex:
        """Verify a fetched full list and keep it if it is newer; returns the list now in force."""
        now = _aware(now, "now")
        index = self._verify(blob, now)
        with self._lock:
            if self._state is not None:
                cached = self._state.index
                if index.sequence < cached.sequence:
                    raise StatusListRollbackError(
                        f"sequence {index.sequence} is older than the cached {cached.sequence}")
                if index.sequence == cached.sequence:
                    if index.digest != cached.digest:
                        raise StatusListRollbackError(
                            f"a different list under the cached sequence number {cached.sequence}")
                    return cached
            _atomic_write(self._path, blob)
            self._deltas_path.unlink(missing_ok=True)
            self._state = _Cached(blob, (), index)
        log.info("status list %s #%d installed: %d entries, next update %s", index.issuer,
                 index.sequence, len(index), index.next_update.isoformat())
        return index

    def apply_delta(self, blob: bytes, now: dt.datetime) -> StatusIndex:
        """Verify a fetched delta and apply it to the list held. Raises `StatusListGapError` when it does
        not start from that list (or none is held), `StatusListChainError` on a digest mismatch (a fork),
        `StatusListRollbackError` when it is not newer: the caller then takes the full list."""
        now = _aware(now, "now")
        delta = open_status_delta(blob, self._trust, now, self._role, signer_authority=self._signer_authority)
        if self._issuer is not None and delta.changes.issuer != self._issuer:
            raise StatusListIssuerError(f"delta issued by {delta.changes.issuer}, this cache takes {self._issuer}")
        with self._lock:
            state = self._state
            if state is None:
                raise StatusListGapError("delta: no list held to apply it to; fetch the full list")
            index = delta.apply(state.index)
            deltas = (*state.deltas, blob)
            _atomic_write(self._deltas_path, cbor2.dumps(list(deltas)))
            self._state = _Cached(state.blob, deltas, index)
        log.info("status list %s #%d installed from delta #%d: %d changes, %d entries", index.issuer,
                 index.sequence, delta.base_sequence, len(delta.changes), len(index))
        return index

    def refresh(self, fetch_delta: Callable[[int], bytes | None], fetch_full: Callable[[], bytes],
                now: dt.datetime) -> StatusIndex:
        """Bring the list up to date: the delta since the held sequence when there is one that applies,
        else the full list. `fetch_delta(sequence)` returns the signed delta, None when the held list is
        current, or raises (e.g. the registry no longer keeps that base): then the full list is fetched."""
        state = self._state
        if state is not None:
            try:
                blob = fetch_delta(state.index.sequence)
                if blob is None:
                    return state.index
                return self.apply_delta(blob, now)
            except Exception as exc:  # any failure of the delta path means: take the full list
                log.warning("status delta from #%d not applied (%s: %s); fetching the full list",
                            state.index.sequence, type(exc).__name__, exc)
        return self.update(fetch_full(), now)

    def lookup(self, card_number: str, now: dt.datetime) -> StatusAnswer:
        """Status of one card: online if that answers, else from the cached list."""
        now = _aware(now, "now")
        check_card_number(card_number, "card_number")
        if self._online is not None:
            try:
                online = self._online(card_number)
            except Exception as exc:  # any failure of the online path means: use the list
                log.warning("online status lookup failed (%s); falling back to the cached list",
                            type(exc).__name__)
            else:
                return self._online_answer(online, now)
        state = self._state
        if state is None:
            raise StatusUnavailableError("no online answer and no cached status list")
        status_list = state.index
        entry = status_list.get(card_number)
        age = now - status_list.issued_at
        answer = StatusAnswer(
            status=entry[0] if entry else ListStatus.ACTIVE,
            reason=entry[1] if entry else None,
            list_issued_at=status_list.issued_at, age=age, fresh=self._is_fresh(age),
            source=StatusSource.CACHED_LIST, sequence=status_list.sequence, next_update=status_list.next_update,
            grace=self._grace)
        if answer.stale:
            log.warning("status list #%d is past its next update %s", status_list.sequence,
                        status_list.next_update.isoformat())
        if not answer.fresh:
            log.warning("status list #%d is %s old, beyond the limit %s", status_list.sequence, age, self._max_age)
        return answer

    def _online_answer(self, online: OnlineStatus, now: dt.datetime) -> StatusAnswer:
        if not isinstance(online, OnlineStatus):
            raise StatusListFormatError(f"online lookup: returned {type(online).__name__}, not OnlineStatus")
        as_of = _aware(online.as_of, "online.as_of")
        status = ListStatus(online.status)
        if (status is ListStatus.SUSPENDED) != (online.reason is not None):
            raise StatusListFormatError("online lookup: a reason is given exactly when the card is SUSPENDED")
        age = now - as_of
        return StatusAnswer(status, online.reason, as_of, age, self._is_fresh(age), StatusSource.ONLINE,
                            binding=online.binding)

    def _is_fresh(self, age: dt.timedelta) -> bool:
        # A basis from the future (clock skew) is not "fresh" beyond a few minutes either.
        return -dt.timedelta(minutes=5) <= age <= self._max_age


def _delta_blobs(data: bytes) -> tuple[bytes, ...]:
    try:
        value = cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several types on malformed input
        raise StatusListFormatError(f"deltas file: not CBOR ({type(exc).__name__})") from None
    if not isinstance(value, Sequence) or not all(isinstance(v, bytes) for v in value):
        raise StatusListFormatError("deltas file: must be an array of signed deltas")
    return tuple(value)


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None:
        raise StatusListFormatError(f"{field}: must be timezone-aware")
    return value


def _atomic_write(path: Path, data: bytes) -> None:
    """Write-then-rename in the same directory, fsynced, so a crash leaves the old or the new list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
