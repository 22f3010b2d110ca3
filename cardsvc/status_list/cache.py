"""Counter-side status: an online lookup when it answers, else the latest verified list cached on disk.

The cache keeps the signed bytes exactly as published, so every load re-verifies the signature and the
signer (a file edited on disk, or a signer revoked since, is caught). It never goes back to an older
sequence number (rollback) and never accepts a second, different list under the same number. Every answer
says where it came from and how old its basis is; a basis older than `max_age` (the city profile's limit)
is answered with `fresh=False`, never passed off as current.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cardsvc.rules.status import SuspensionReason
from cardsvc.security.errors import SignedDataError
from cardsvc.security.pki import SignerRole, TrustStore
from cardsvc.status_list.codec import verify_status_list
from cardsvc.status_list.errors import (
    StatusListCacheError,
    StatusListError,
    StatusListFormatError,
    StatusListIssuerError,
    StatusListRollbackError,
    StatusStaleError,
    StatusUnavailableError,
)
from cardsvc.status_list.model import ListStatus, StatusEntry, StatusList, check_card_number

log = logging.getLogger(__name__)


class StatusSource(StrEnum):
    ONLINE = "online"
    CACHED_LIST = "cached_list"


@dataclass(frozen=True, slots=True)
class Binding:
    """What only the online registry knows about a card (design §7): the chip it was issued to and how
    many endorsement records it should hold (written to the card; recorded, some maybe still pending)."""

    chip_key_sha256: bytes | None  # SHA-256 of the EF.CHIPKEY bytes recorded; None: no chip recorded
    endorsements_written: int
    endorsements_recorded: int


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
    blob: bytes  # the signed bytes as stored on disk
    status_list: StatusList
    index: dict[str, StatusEntry]


class StatusListCache:
    """The latest verified status list of one registry, kept at `path`.

    `max_age`: the city profile's limit on the age of the status basis. `issuer`: if given, lists of any
    other registry are refused. `online`: a callable preferred over the list; any exception it raises
    (network down, timeout, HTTP error) falls back to the cached list.
    """

    def __init__(self, path: Path, trust: TrustStore, max_age: dt.timedelta, *, issuer: str | None = None,
                 online: OnlineLookup | None = None, role: SignerRole = SignerRole.DOCUMENT,
                 now: dt.datetime | None = None) -> None:
        if max_age <= dt.timedelta(0):
            raise StatusListFormatError(f"max_age: must be positive, got {max_age}")
        self._path = Path(path)
        self._trust = trust
        self._max_age = max_age
        self._issuer = issuer
        self._online = online
        self._role = role
        self._lock = threading.Lock()
        # One reference swapped as a whole, so a lookup never pairs a new list with an old index.
        self._state: _Cached | None = None
        if self._path.exists():
            self._load(_aware(now or dt.datetime.now(dt.UTC), "now"))

    @property
    def current(self) -> StatusList | None:
        state = self._state
        return state.status_list if state else None

    def _load(self, now: dt.datetime) -> None:
        try:
            blob = self._path.read_bytes()
        except OSError as exc:
            raise StatusListCacheError(f"cache {self._path}: cannot read ({exc.strerror})") from exc
        try:
            status_list = self._verify(blob, now)
        except (StatusListError, SignedDataError) as exc:
            raise StatusListCacheError(f"cache {self._path}: stored list no longer verifies: {exc}") from exc
        self._set(blob, status_list)

    def _verify(self, blob: bytes, now: dt.datetime) -> StatusList:
        status_list = verify_status_list(blob, self._trust, now, self._role)
        if self._issuer is not None and status_list.issuer != self._issuer:
            raise StatusListIssuerError(f"list issued by {status_list.issuer}, this cache takes {self._issuer}")
        return status_list

    def _set(self, blob: bytes, status_list: StatusList) -> None:
        self._state = _Cached(blob, status_list, status_list.index())

    def update(self, blob: bytes, now: dt.datetime) -> StatusList:
        """Verify a fetched list and keep it if it is newer; returns the list now in force."""
        now = _aware(now, "now")
        status_list = self._verify(blob, now)
        with self._lock:
            if self._state is not None:
                cached = self._state.status_list
                if status_list.sequence < cached.sequence:
                    raise StatusListRollbackError(
                        f"sequence {status_list.sequence} is older than the cached {cached.sequence}")
                if status_list.sequence == cached.sequence:
                    if blob != self._state.blob and status_list != cached:
                        raise StatusListRollbackError(
                            f"a different list under the cached sequence number {cached.sequence}")
                    return cached
            _atomic_write(self._path, blob)
            self._set(blob, status_list)
        log.info("status list %s #%d installed: %d entries, next update %s", status_list.issuer,
                 status_list.sequence, len(status_list.entries), status_list.next_update.isoformat())
        return status_list

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
        status_list = state.status_list
        entry = state.index.get(card_number)
        age = now - status_list.issued_at
        answer = StatusAnswer(
            status=entry.status if entry else ListStatus.ACTIVE,
            reason=entry.reason if entry else None,
            list_issued_at=status_list.issued_at, age=age, fresh=self._is_fresh(age),
            source=StatusSource.CACHED_LIST, sequence=status_list.sequence, next_update=status_list.next_update)
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
