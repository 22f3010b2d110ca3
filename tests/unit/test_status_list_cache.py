"""Counter-side status cache: freshness, staleness beyond the limit, rollback, persistence, online first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.permit.permit_number import make_card_number
from cardsvc.rules.status import SuspensionReason
from cardsvc.security.errors import SignatureInvalidError
from cardsvc.security.pki import Authority, RevokedEntry, SignerRole, TrustStore, build_crl, issue_signer, make_root_ca
from cardsvc.security.suite import GM
from cardsvc.status_list import (
    ListStatus,
    OnlineStatus,
    StatusEntry,
    StatusList,
    StatusListCache,
    StatusListCacheError,
    StatusListFormatError,
    StatusListIssuerError,
    StatusListRollbackError,
    StatusSource,
    StatusStaleError,
    StatusUnavailableError,
    sign_status_list,
)

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=30)
MAX_AGE = dt.timedelta(hours=24)  # what a city profile would supply


def card(serial: int) -> str:
    return make_card_number("4112", serial, 10)


class Pki:
    """Root CA and a Hubin document signer, generated at test time."""

    def __init__(self) -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = make_root_ca(self.root_key, "河南省居住证根证书", START)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert: x509.Certificate = issue_signer(self.root_key, self.root, self.key.public_key(),
                                                   Authority("411202", "三门峡市公安局湖滨分局"),
                                                   SignerRole.DOCUMENT, START)

    def trust(self, revoked: tuple[x509.Certificate, ...] = ()) -> TrustStore:
        crl = build_crl(self.root_key, self.root, [RevokedEntry(c.serial_number, START) for c in revoked], 1,
                        NOW - dt.timedelta(days=1))
        return TrustStore([self.root], [crl], [self.cert], suite=GM)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


def signed(pki: Pki, sequence: int, issued_at: dt.datetime = NOW - dt.timedelta(hours=1),
           entries: tuple[StatusEntry, ...] | None = None, issuer: str = "411200") -> bytes:
    if entries is None:
        entries = (StatusEntry(card(1), ListStatus.LOST),
                   StatusEntry(card(2), ListStatus.SUSPENDED, SuspensionReason.CROSS_COUNTY_MOVE))
    status_list = StatusList.build(issuer, sequence, issued_at, issued_at + dt.timedelta(hours=12), entries)
    return sign_status_list(status_list, pki.key, pki.cert)


def cache(pki: Pki, path: Path, **kwargs: object) -> StatusListCache:
    return StatusListCache(path, pki.trust(), MAX_AGE, now=NOW, **kwargs)  # type: ignore[arg-type]


def test_lookup_from_fresh_list(pki: Pki, tmp_path: Path) -> None:
    c = cache(pki, tmp_path / "status.cose")
    c.update(signed(pki, 1), NOW)
    lost = c.lookup(card(1), NOW)
    assert (lost.status, lost.reason, lost.source) == (ListStatus.LOST, None, StatusSource.CACHED_LIST)
    assert lost.sequence == 1
    assert lost.fresh and lost.age == dt.timedelta(hours=1)
    assert lost.list_issued_at == NOW - dt.timedelta(hours=1)
    suspended = c.lookup(card(2), NOW)
    assert suspended.status is ListStatus.SUSPENDED and suspended.reason is SuspensionReason.CROSS_COUNTY_MOVE
    assert c.lookup(card(3), NOW).status is ListStatus.ACTIVE  # not listed


def test_stale_beyond_limit_is_reported(pki: Pki, tmp_path: Path) -> None:
    c = cache(pki, tmp_path / "status.cose")
    c.update(signed(pki, 1), NOW)
    at_limit = c.lookup(card(1), NOW - dt.timedelta(hours=1) + MAX_AGE)
    assert at_limit.fresh and at_limit.past_next_update  # promised update missed, still within the limit
    later = NOW + MAX_AGE
    stale = c.lookup(card(1), later)
    assert not stale.fresh
    assert stale.status is ListStatus.LOST  # still answered, but marked
    assert stale.age == MAX_AGE + dt.timedelta(hours=1)
    with pytest.raises(StatusStaleError, match="old"):
        stale.require_fresh()
    assert c.lookup(card(1), NOW).require_fresh().fresh


def test_newer_list_replaces_and_persists(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "status.cose"
    c = cache(pki, path)
    c.update(signed(pki, 1), NOW)
    c.update(signed(pki, 2, entries=(StatusEntry(card(3), ListStatus.CANCELLED),)), NOW)
    assert c.lookup(card(1), NOW).status is ListStatus.ACTIVE
    reopened = cache(pki, path)
    assert reopened.current is not None and reopened.current.sequence == 2
    assert reopened.lookup(card(3), NOW).status is ListStatus.CANCELLED
    assert [p.name for p in path.parent.iterdir()] == ["status.cose"]  # no temporary file left behind


def test_rollback_refused(pki: Pki, tmp_path: Path) -> None:
    c = cache(pki, tmp_path / "status.cose")
    c.update(signed(pki, 5), NOW)
    with pytest.raises(StatusListRollbackError, match="older"):
        c.update(signed(pki, 4), NOW)
    # Same sequence, different content: equivocation, refused.
    with pytest.raises(StatusListRollbackError, match="different list"):
        c.update(signed(pki, 5, entries=()), NOW)
    # Same content signed again (ECDSA signatures differ): accepted as the same list.
    assert c.update(signed(pki, 5), NOW).sequence == 5
    assert c.lookup(card(1), NOW).status is ListStatus.LOST
    # A rollback survives a restart: the cached sequence comes back from disk.
    with pytest.raises(StatusListRollbackError):
        cache(pki, tmp_path / "status.cose").update(signed(pki, 3), NOW)


def test_bad_update_keeps_the_old_list(pki: Pki, tmp_path: Path) -> None:
    c = cache(pki, tmp_path / "status.cose")
    c.update(signed(pki, 1), NOW)
    blob = bytearray(signed(pki, 2, entries=()))
    blob[-5] ^= 0xFF
    with pytest.raises(SignatureInvalidError):
        c.update(bytes(blob), NOW)
    assert c.lookup(card(1), NOW).status is ListStatus.LOST


def test_tampered_cache_file_detected(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "status.cose"
    cache(pki, path).update(signed(pki, 1), NOW)
    data = bytearray(path.read_bytes())
    data[40] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(StatusListCacheError, match="no longer verifies"):
        cache(pki, path)


def test_signer_revoked_since_caching(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "status.cose"
    cache(pki, path).update(signed(pki, 1), NOW)
    with pytest.raises(StatusListCacheError):
        StatusListCache(path, pki.trust(revoked=(pki.cert,)), MAX_AGE, now=NOW)


def test_issuer_pinned(pki: Pki, tmp_path: Path) -> None:
    c = cache(pki, tmp_path / "status.cose", issuer="411200")
    with pytest.raises(StatusListIssuerError):
        c.update(signed(pki, 1, issuer="410000"), NOW)  # Hubin's signer is inside Henan, but not our registry
    assert c.current is None


def test_online_preferred_then_fallback(pki: Pki, tmp_path: Path) -> None:
    calls: list[str] = []
    reachable = True

    def online(card_number: str) -> OnlineStatus:
        calls.append(card_number)
        if not reachable:
            raise ConnectionError("registry unreachable")
        return OnlineStatus(ListStatus.CANCELLED, None, NOW - dt.timedelta(seconds=2))

    c = cache(pki, tmp_path / "status.cose", online=online)
    c.update(signed(pki, 1), NOW)
    answer = c.lookup(card(1), NOW)
    assert (answer.status, answer.source, answer.fresh) == (ListStatus.CANCELLED, StatusSource.ONLINE, True)
    assert answer.age == dt.timedelta(seconds=2) and answer.sequence is None
    reachable = False
    fallback = c.lookup(card(1), NOW)
    assert (fallback.status, fallback.source) == (ListStatus.LOST, StatusSource.CACHED_LIST)
    assert calls == [card(1), card(1)]


def test_nothing_available(pki: Pki, tmp_path: Path) -> None:
    def down(card_number: str) -> OnlineStatus:
        raise TimeoutError

    with pytest.raises(StatusUnavailableError):
        cache(pki, tmp_path / "a.cose").lookup(card(1), NOW)
    with pytest.raises(StatusUnavailableError):
        cache(pki, tmp_path / "b.cose", online=down).lookup(card(1), NOW)


def test_online_answer_checked(pki: Pki, tmp_path: Path) -> None:
    c = cache(pki, tmp_path / "status.cose",
              online=lambda n: OnlineStatus(ListStatus.SUSPENDED, None, NOW))
    with pytest.raises(StatusListFormatError, match="SUSPENDED"):
        c.lookup(card(1), NOW)


def test_bad_arguments_named(pki: Pki, tmp_path: Path) -> None:
    c = cache(pki, tmp_path / "status.cose")
    c.update(signed(pki, 1), NOW)
    with pytest.raises(StatusListFormatError, match="card_number"):
        c.lookup("12345", NOW)
    with pytest.raises(StatusListFormatError, match="now"):
        c.lookup(card(1), NOW.replace(tzinfo=None))
    with pytest.raises(StatusListFormatError, match="max_age"):
        StatusListCache(tmp_path / "x", pki.trust(), dt.timedelta(0))
