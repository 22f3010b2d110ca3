"""Compact status list (kind 3) and deltas (kind 4): round trip, golden vector, tamper, gap, rollback, fork,
the former CBOR list still read, and the counter cache applying deltas with the full list as fallback."""

from __future__ import annotations

import datetime as dt
import itertools
import zlib
from array import array
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.permit.permit_number import make_card_number
from cardsvc.qr.signed import sign_with_certificate
from cardsvc.rules.status import SuspensionReason
from cardsvc.security.errors import SignatureInvalidError, SignedDataError
from cardsvc.security.pki import Authority, SignerRole, TrustStore, build_crl, issue_signer, make_root_ca
from cardsvc.security.suite import GM
from cardsvc.status_list import (
    ListStatus,
    StatusDelta,
    StatusEntry,
    StatusIndex,
    StatusList,
    StatusListCache,
    StatusListCacheError,
    StatusListChainError,
    StatusListError,
    StatusListFormatError,
    StatusListGapError,
    StatusListRollbackError,
    open_status_delta,
    open_status_list,
    sign_status_delta,
    sign_status_list,
)
from cardsvc.status_list.codec import encode_payload
from cardsvc.status_list.compact import decode_delta, decode_full, encode_delta, encode_full
from cardsvc.status_list.index import card_key, key_card

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=30)
ISSUED = NOW - dt.timedelta(hours=1)
MAX_AGE = dt.timedelta(hours=24)


def smx(serial: int) -> str:
    return make_card_number("4112", serial, 8)  # the Sanmenxia layout: prefix 4112, 8 serial digits


def zz(serial: int) -> str:
    return make_card_number("4101", serial, 10)  # the Zhengzhou layout: prefix 4101, 10 serial digits


class Pki:
    def __init__(self) -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = make_root_ca(self.root_key, "河南省居住证根证书", START)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = issue_signer(self.root_key, self.root, self.key.public_key(),
                                 Authority("410105", "郑州市公安局金水分局"), SignerRole.DOCUMENT, START)

    def trust(self) -> TrustStore:
        crl = build_crl(self.root_key, self.root, [], 1, NOW - dt.timedelta(days=1))
        return TrustStore([self.root], [crl], [self.cert], suite=GM)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


ENTRIES = (
    StatusEntry(smx(7), ListStatus.LOST),
    StatusEntry(zz(42), ListStatus.SUSPENDED, SuspensionReason.ENDORSEMENT_OVERDUE),
    StatusEntry(smx(1), ListStatus.NOT_ISSUED),
    StatusEntry(zz(3), ListStatus.CANCELLED),
    StatusEntry(smx(99_999_999), ListStatus.SPOILED),
)


def listing(sequence: int = 7, entries: tuple[StatusEntry, ...] = ENTRIES,
            issued_at: dt.datetime = ISSUED) -> StatusIndex:
    return StatusIndex.from_list(StatusList.build("410000", sequence, issued_at,
                                                  issued_at + dt.timedelta(hours=24), entries))


# --- the full list ---------------------------------------------------------------------------------
# Fixed wire vector: the payload of `listing()` (zlib level 9, canonical CBOR). The signature around it
# is ECDSA (randomised); what a counter must decode byte for byte is this.
GOLDEN_FULL = (
    "a8000301663431303030300207031a6b03e470041a6b0535f0050506582978da6364ffcfaca5a0c0b0658bb030e7d7af9326"
    "cd282af2f0f0b0b76764646c6860800300fb2509ef074d78da6367e46033020000820049")
# Decoded by hand (zlib, then byte planes to little-endian uint64): keys 1411200000001, 1411200000007,
# 1411299999999, 141010000000003, 141010000000042; codes 7 (not issued), 1 (lost), 8 (spoiled),
# 6 (cancelled), 0x32 (suspended, SMX Art.19 clause 3); issued 2026-11-23T07:00Z, next update +24 h.


def test_golden_vector() -> None:
    payload = encode_full(listing())
    assert payload.hex() == GOLDEN_FULL
    index = decode_full(cbor2.loads(bytes.fromhex(GOLDEN_FULL)))
    assert [e.card_number for e in index.entries()] == [smx(1), smx(7), smx(99_999_999), zz(3), zz(42)]
    assert index.get(zz(42)) == (ListStatus.SUSPENDED, SuspensionReason.ENDORSEMENT_OVERDUE)


def test_round_trip(pki: Pki) -> None:
    original = listing()
    opened = open_status_list(sign_status_list(original, pki.key, pki.cert), pki.trust(), NOW)
    assert opened.digest == original.digest and len(opened) == 5
    assert opened.to_list() == StatusList.build("410000", 7, ISSUED, ISSUED + dt.timedelta(hours=24), ENTRIES)
    for entry in ENTRIES:
        assert opened.get(entry.card_number) == (entry.status, entry.reason)
    assert opened.get(smx(2)) is None and opened.get(zz(43)) is None  # not listed: active


def test_keys_keep_length_and_leading_zeros() -> None:
    for number in (smx(1), zz(1), make_card_number("0041", 5, 8), smx(0)):
        assert key_card(card_key(number)) == number
    assert card_key(make_card_number("0041", 5, 8)) != card_key(make_card_number("041", 5, 9))
    with pytest.raises(StatusListFormatError, match="card_number"):
        card_key(make_card_number("4112", 1, 18))  # 22-digit body: beyond 64 bits


def test_former_cbor_list_still_read(pki: Pki, tmp_path: Path) -> None:
    former = StatusList.build("410000", 3, ISSUED, ISSUED + dt.timedelta(hours=24), ENTRIES)
    blob = sign_with_certificate(encode_payload(former), pki.key, pki.cert)
    assert open_status_list(blob, pki.trust(), NOW).get(smx(7)) == (ListStatus.LOST, None)
    cache = StatusListCache(tmp_path / "s.cose", pki.trust(), MAX_AGE, now=NOW)
    cache.update(blob, NOW)
    assert cache.lookup(zz(3), NOW).status is ListStatus.CANCELLED


def test_every_bit_flip_is_rejected(pki: Pki) -> None:
    blob = sign_status_list(listing(), pki.key, pki.cert)
    trust = pki.trust()
    for i in range(len(blob)):
        altered = bytearray(blob)
        altered[i] ^= 0x04
        with pytest.raises((StatusListError, SignedDataError)):
            open_status_list(bytes(altered), trust, NOW)


def test_unlisting_a_card_breaks_the_signature(pki: Pki) -> None:
    parts = list(cbor2.loads(sign_status_list(listing(), pki.key, pki.cert)).value)
    payload = dict(cbor2.loads(parts[2]))
    shorter = listing(entries=ENTRIES[1:])  # the lost card removed, re-encoded consistently
    payload.update({k: v for k, v in cbor2.loads(encode_full(shorter)).items() if k in (5, 6, 7)})
    parts[2] = cbor2.dumps(payload, canonical=True)
    with pytest.raises(SignatureInvalidError):
        open_status_list(cbor2.dumps(cbor2.CBORTag(18, parts)), pki.trust(), NOW)


def _payload(**changes: object) -> dict[int, object]:
    value = dict(cbor2.loads(encode_full(listing())))
    for key, item in changes.items():
        value[int(key[1:])] = item
    return value


@pytest.mark.parametrize(("changes", "reason"), [
    ({"k5": 6}, "keys: does not hold exactly 48 bytes"),
    ({"k5": 2**40}, "count"),
    ({"k6": b"junk"}, "keys: not a zlib stream"),
    ({"k6": "text"}, "keys: must be a byte string"),
    ({"k7": zlib.compress(bytes([1, 1, 0, 1, 1]))}, r"entries.codes\[2\]: 0x00"),
    ({"k7": zlib.compress(bytes([1, 1, 2, 1, 1]))}, r"entries.codes\[2\]: 0x02"),  # SUSPENDED, no reason
    ({"k7": zlib.compress(bytes([1, 1, 0x71, 1, 1]))}, r"codes\[2\]"),  # reason on a LOST card
    ({"k6": zlib.compress(bytes(40))}, "not strictly increasing"),
    ({"k1": "41"}, "issuer"),
    ({"k11": 1}, "unknown keys"),
])
def test_decode_errors_name_the_field(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(StatusListFormatError, match=reason):
        decode_full(_payload(**changes))


# --- deltas ----------------------------------------------------------------------------------------
NEXT_ENTRIES = (
    StatusEntry(smx(7), ListStatus.REVOKED_REPLACED),  # changed
    StatusEntry(zz(42), ListStatus.SUSPENDED, SuspensionReason.ENDORSEMENT_OVERDUE),  # unchanged
    StatusEntry(zz(3), ListStatus.CANCELLED),
    StatusEntry(smx(99_999_999), ListStatus.SPOILED),
    StatusEntry(smx(8), ListStatus.NOT_ISSUED),  # new; smx(1) left the list (issued, now active)
)


def test_delta_round_trip_equals_the_full_list(pki: Pki) -> None:
    base, target = listing(7), listing(9, NEXT_ENTRIES, ISSUED + dt.timedelta(minutes=30))
    delta = StatusDelta.between(base, target)
    assert [(key_card(k), c) for k, c in zip(delta.changes.keys, delta.changes.codes, strict=True)] == [
        (smx(1), 0), (smx(7), int(ListStatus.REVOKED_REPLACED)), (smx(8), int(ListStatus.NOT_ISSUED))]
    opened = open_status_delta(sign_status_delta(delta, pki.key, pki.cert), pki.trust(), NOW)
    assert (opened.base_sequence, opened.base_digest, opened.digest) == (7, base.digest, target.digest)
    applied = opened.apply(base)
    assert applied.same_content(target) and applied.digest == target.digest
    assert decode_delta(cbor2.loads(encode_delta(delta))).apply(base).digest == target.digest


def test_delta_gap_rollback_and_fork_detected() -> None:
    first, second, third = listing(7), listing(8, NEXT_ENTRIES), listing(9, ENTRIES[:2])
    with pytest.raises(StatusListGapError, match="starts from sequence 8"):
        StatusDelta.between(second, third).apply(first)  # #8 was missed
    with pytest.raises(StatusListRollbackError):
        StatusDelta.between(first, second).apply(third)  # older than the list held
    with pytest.raises(StatusListRollbackError):
        StatusDelta.between(second, first)
    forked = listing(7, ENTRIES[1:])  # another list under the same sequence number
    with pytest.raises(StatusListChainError, match="fork"):
        StatusDelta.between(forked, second).apply(first)
    bad = StatusDelta.between(first, second)
    with pytest.raises(StatusListChainError, match="does not match"):
        StatusDelta(bad.base_sequence, bad.base_digest, third.digest, bad.changes).apply(first)


def test_delta_decode_errors() -> None:
    value = dict(cbor2.loads(encode_delta(StatusDelta.between(listing(7), listing(9, NEXT_ENTRIES)))))
    with pytest.raises(StatusListFormatError, match="base_digest"):
        decode_delta({**value, 9: b"short"})
    with pytest.raises(StatusListFormatError, match="base_sequence"):
        decode_delta({**value, 8: 9})
    with pytest.raises(StatusListFormatError, match="kind"):
        decode_full(value)  # a delta is never taken for a full list, nor the reverse
    with pytest.raises(StatusListFormatError, match="kind"):
        decode_delta(cbor2.loads(encode_full(listing())))


# --- counter cache ---------------------------------------------------------------------------------
def test_cache_applies_deltas_persists_and_falls_back(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "status.cose"
    lists = [listing(7), listing(8, NEXT_ENTRIES), listing(9, ENTRIES[:2]), listing(10, ())]
    full = [sign_status_list(x, pki.key, pki.cert) for x in lists]
    deltas = {b.sequence: sign_status_delta(StatusDelta.between(b, n), pki.key, pki.cert)
              for b, n in itertools.pairwise(lists)}
    cache = StatusListCache(path, pki.trust(), MAX_AGE, now=NOW)
    with pytest.raises(StatusListGapError):
        cache.apply_delta(deltas[7], NOW)  # nothing held yet
    cache.update(full[0], NOW)
    assert cache.apply_delta(deltas[7], NOW).sequence == 8
    assert cache.lookup(smx(7), NOW).status is ListStatus.REVOKED_REPLACED
    assert cache.lookup(smx(1), NOW).status is ListStatus.ACTIVE
    with pytest.raises(StatusListRollbackError):
        cache.apply_delta(deltas[7], NOW)  # replayed
    # A restart re-verifies the full list and the chain of deltas on disk.
    reopened = StatusListCache(path, pki.trust(), MAX_AGE, now=NOW)
    assert reopened.current is not None and reopened.current.digest == lists[1].digest
    # A gap (delta #9→#10 while #8 is held) falls back to the full list.
    fetched: list[str] = []

    def fetch_delta(sequence: int) -> bytes:
        fetched.append(f"delta {sequence}")
        return deltas[9]

    def fetch_full() -> bytes:
        fetched.append("full")
        return full[3]

    assert reopened.refresh(fetch_delta, fetch_full, NOW).sequence == 10
    assert fetched == ["delta 8", "full"]
    assert not path.with_name("status.cose.deltas").exists()  # the full list starts a new chain
    assert reopened.refresh(lambda s: None, fetch_full, NOW).sequence == 10  # current: nothing fetched
    assert fetched == ["delta 8", "full"]


def test_cache_detects_an_edited_delta_file(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "status.cose"
    first, second = listing(7), listing(8, NEXT_ENTRIES)
    cache = StatusListCache(path, pki.trust(), MAX_AGE, now=NOW)
    cache.update(sign_status_list(first, pki.key, pki.cert), NOW)
    cache.apply_delta(sign_status_delta(StatusDelta.between(first, second), pki.key, pki.cert), NOW)
    sidecar = path.with_name("status.cose.deltas")
    data = bytearray(sidecar.read_bytes())
    data[-3] ^= 0x01
    sidecar.write_bytes(bytes(data))
    with pytest.raises(StatusListCacheError, match="no longer verifies"):
        StatusListCache(path, pki.trust(), MAX_AGE, now=NOW)


def test_merge_at_the_edges() -> None:
    base = listing(7)
    keys = array("Q", sorted([card_key(smx(0)), card_key(smx(1)), card_key(zz(99))]))
    merged = base.merged(keys, bytes([1, 0, 6]), issuer="410000", sequence=8, issued_at=ISSUED,
                         next_update=NOW)
    assert [e.card_number for e in merged.entries()] == [smx(0), smx(7), smx(99_999_999), zz(3), zz(42), zz(99)]
