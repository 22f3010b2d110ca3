"""Judging a read (no card): genuine, the tamper matrix, clone, issuer trust, status, validity, audit."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardsvc.issuance.keys import StationKeys
from cardsvc.layout import Layout, builtin_layout
from cardsvc.rules.status import SuspensionReason
from cardsvc.security import ceremony
from cardsvc.security.pki import RevokedEntry, TrustStore, build_crl
from cardsvc.security.suite import GM
from cardsvc.status_list.model import ListStatus
from cardsvc.verification import (
    AuditRecord,
    Check,
    CheckResult,
    Outcome,
    Result,
    Station,
    Verdict,
    verify_read,
)
from cardsvc.verification.assess import validity
from tests.verify_support import NOW, TODAY, BrokenStatus, FixedStatus, HostCard, host_card, make_keys, permit_for

SIGNED = ("card", "visible", "machine", "photo", "chipkey")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module", params=["zz", "smx"])
def card(request: pytest.FixtureRequest, keys: StationKeys) -> HostCard:
    layout = builtin_layout(request.param)
    return host_card(layout, permit_for(layout, 21, endorsements=3), keys)


def judge(card: HostCard, keys: StationKeys, **kw: object) -> Verdict:
    read = kw.pop("read", None) or card.read()
    trust = kw.pop("trust", None) or keys.trust()
    status = kw.pop("status", FixedStatus())
    kw.setdefault("today", TODAY)
    return verify_read(read, card.layout, trust, status, now=kw.pop("now", NOW), **kw)  # type: ignore[arg-type]


def flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= (offset * 7) % 255 + 1
    return bytes(out)


def offsets(n: int, every: int) -> Iterator[int]:
    """Every offset of a small file; of a large one the first and last 64 and every `every`-th."""
    if n <= 600:
        yield from range(n)
        return
    yield from sorted({*range(64), *range(n - 64, n), *range(0, n, every)})


def test_a_genuine_card_passes_every_check(card: HostCard, keys: StationKeys) -> None:
    verdict = judge(card, keys)
    assert verdict.result is Result.GENUINE_VALID, verdict.summary()
    assert all(c.outcome is Outcome.PASS for c in verdict.checks)
    assert {c.check for c in verdict.checks} == set(Check)
    assert verdict.card_number == card.permit.card_number
    assert verdict.display["name"] == card.permit.name and verdict.photo == card.permit.photo
    assert len(verdict.endorsements) == len(card.permit.endorsements)


@pytest.mark.parametrize("name", [*SIGNED, "sod"])
def test_tamper_matrix_one_altered_byte_at_every_offset(card: HostCard, keys: StationKeys, name: str) -> None:
    content = card.files[name]
    seen: set[Result] = set()
    for offset in offsets(len(content), 41):
        verdict = judge(card, keys, read=card.read(files={**card.files, name: flip(content, offset)}))
        assert verdict.result is Result.TAMPERED, (name, offset, verdict.summary())
        seen.add(verdict.result)
    assert seen == {Result.TAMPERED}


def test_tamper_matrix_on_endorsement_records(card: HostCard, keys: StationKeys) -> None:
    assert card.records, "the sample carries endorsements"
    for number, record in enumerate(card.records):
        for offset in range(0, len(record), 3):
            records = list(card.records)
            records[number] = flip(record, offset)
            verdict = judge(card, keys, read=card.read(records=tuple(records)))
            assert verdict.result is Result.TAMPERED, (number, offset, verdict.summary())
            assert verdict.check(Check.ENDORSEMENTS).outcome is Outcome.FAIL


def test_endorsements_cannot_be_reordered_or_dropped_into_another_card(card: HostCard, keys: StationKeys) -> None:
    if len(card.records) >= 2:
        swapped = (card.records[1], card.records[0], *card.records[2:])
        assert judge(card, keys, read=card.read(records=swapped)).result is Result.TAMPERED
    other = host_card(card.layout, permit_for(card.layout, 77, endorsements=3), keys)
    if other.records:
        assert judge(card, keys, read=card.read(records=other.records[:1])).result is Result.TAMPERED


def test_a_chip_without_the_key_is_a_clone(card: HostCard, keys: StationKeys) -> None:
    verdict = judge(card, keys, read=card.read(chip_key=ec.generate_private_key(ec.SECP256R1())))
    assert verdict.result is Result.CLONED
    assert verdict.check(Check.PASSIVE_AUTH).outcome is Outcome.PASS


def test_a_malformed_chip_answer_is_unreadable_not_genuine(card: HostCard, keys: StationKeys) -> None:
    read = replace(card.read(), chip_signature=b"\x01" * 10)
    assert judge(card, keys, read=read).result is Result.UNREADABLE
    read = replace(card.read(), chip_signature=None)
    verdict = judge(card, keys, read=read)
    assert verdict.result is Result.UNREADABLE and verdict.check(Check.CHIP_AUTH).outcome is Outcome.NOT_RUN


def test_a_file_not_read_fails_closed(card: HostCard, keys: StationKeys) -> None:
    files = {k: v for k, v in card.files.items() if k != "machine"}
    verdict = judge(card, keys, read=card.read(files=files))
    assert verdict.result is Result.UNREADABLE
    assert verdict.check(Check.PASSIVE_AUTH).outcome is Outcome.NOT_RUN
    assert verdict.check(Check.STATUS).outcome is Outcome.NOT_RUN


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_keys(tmp_path_factory.mktemp("foreign"))


def test_a_card_signed_under_another_root_is_untrusted(card: HostCard, keys: StationKeys,
                                                       foreign: StationKeys) -> None:
    forged = host_card(card.layout, card.permit, foreign)
    assert judge(forged, keys).result is Result.UNTRUSTED_ISSUER


def test_a_document_signer_of_another_authority_cannot_issue(card: HostCard, keys: StationKeys) -> None:
    other = next(a for a in card.layout.authorities if a.code != card.permit.authority.code)
    files = dict(card.files)
    fids = {n: card.layout.ef(n).fid for n in SIGNED}
    files["sod"] = keys.sign_sod(other.code, {fids[n]: files[n] for n in SIGNED})
    verdict = judge(card, keys, read=card.read(files=files))
    assert verdict.result is Result.UNTRUSTED_ISSUER and verdict.check(Check.DATA).outcome is Outcome.FAIL


def test_a_security_object_that_leaves_out_a_file_vouches_for_nothing(card: HostCard, keys: StationKeys) -> None:
    files = dict(card.files)
    fids = {n: card.layout.ef(n).fid for n in SIGNED if n != "visible"}
    files["sod"] = keys.sign_sod(card.permit.authority.code, {fids[n]: files[n] for n in fids})
    assert judge(card, keys, read=card.read(files=files)).result is Result.TAMPERED


def _trust_with_crl(keys: StationKeys, revoked: list[x509.Certificate], at: dt.datetime) -> TrustStore:
    store = keys.store
    root = store.certificate(ceremony.ROOT)
    crl = build_crl(store.private_key(ceremony.ROOT), root, [RevokedEntry(c.serial_number, at) for c in revoked],
                    number=1000, this_update=at)
    signers = [store.certificate(n) for n in store.names("certs") if n != ceremony.ROOT]
    return TrustStore([root], [crl], signers, suite=GM)


def test_signer_revoked_expired_and_revocation_unknown(card: HostCard, keys: StationKeys) -> None:
    signer = keys.store.certificate(f"ds-{card.permit.authority.code}")
    revoked = _trust_with_crl(keys, [signer], NOW - dt.timedelta(hours=1))
    assert judge(card, keys, trust=revoked).result is Result.SIGNER_REVOKED
    later = signer.not_valid_after_utc + dt.timedelta(days=1)
    assert judge(card, keys, now=later).result is Result.SIGNER_EXPIRED
    no_crl = TrustStore([keys.store.certificate(ceremony.ROOT)], [], [], suite=GM)
    assert judge(card, keys, trust=no_crl).result is Result.REVOCATION_UNKNOWN


def test_a_revoked_endorsement_signer_is_its_own_verdict(card: HostCard, keys: StationKeys) -> None:
    if not card.records:
        pytest.skip("no endorsement")
    code = card.permit.endorsements[0].authority.code
    revoked = _trust_with_crl(keys, [keys.store.certificate(f"es-{code}")], NOW - dt.timedelta(hours=1))
    verdict = judge(card, keys, trust=revoked)
    assert verdict.result is Result.SIGNER_REVOKED and verdict.check(Check.ENDORSEMENTS).outcome is Outcome.FAIL


@pytest.mark.parametrize(("status", "reason", "expected"), [
    (ListStatus.LOST, None, Result.LOST),
    (ListStatus.SUSPENDED, SuspensionReason.FALSE_MATERIALS, Result.SUSPENDED),
    (ListStatus.SUSPENDED, SuspensionReason.ENDORSEMENT_OVERDUE, Result.SUSPENDED),
    (ListStatus.REVOKED_REPLACED, None, Result.REVOKED),
    (ListStatus.REVOKED_RENEWED, None, Result.REVOKED),
    (ListStatus.REVOKED_CORRECTED, None, Result.REVOKED),
    (ListStatus.CANCELLED, None, Result.CANCELLED),
])
def test_every_status_has_its_own_verdict(card: HostCard, keys: StationKeys, status: ListStatus,
                                          reason: SuspensionReason | None, expected: Result) -> None:
    verdict = judge(card, keys, status=FixedStatus(status, reason))
    assert verdict.result is expected
    if reason is not None:
        assert reason.value in verdict.check(Check.STATUS).detail and "SMX Art.19" in verdict.check(Check.STATUS).detail


@pytest.mark.parametrize("source", [None, BrokenStatus(), FixedStatus(fresh=False)])
def test_unknown_or_stale_status_fails_closed(card: HostCard, keys: StationKeys, source: object) -> None:
    verdict = judge(card, keys, status=source)
    assert verdict.result is Result.STATUS_UNKNOWN and not verdict.genuine_valid


def test_a_stale_list_still_reports_a_lost_card(card: HostCard, keys: StationKeys) -> None:
    assert judge(card, keys, status=FixedStatus(ListStatus.LOST, fresh=False)).result is Result.LOST


@pytest.mark.parametrize("layout_id", ["smx", "zz"])
def test_validity_boundary_per_city(layout_id: str) -> None:
    layout = builtin_layout(layout_id)
    until = dt.date(2026, 3, 1)
    assert validity(layout, until, (), until - dt.timedelta(days=1)).outcome is Outcome.PASS
    on_day = validity(layout, until, (), until)
    assert on_day.result is Result.EXPIRED and "1 day" not in on_day.detail
    late = validity(layout, until, (), dt.date(2026, 9, 1))
    beyond = validity(layout, until, (), dt.date(2026, 9, 2))
    assert late.result is beyond.result is Result.EXPIRED
    if layout_id == "smx":  # SMX Art.18: ≤ 6 months overdue a late endorsement restores use
        assert "restores use" in late.detail and "register anew" in beyond.detail
    else:  # ZZ Art.13: no limit stated
        assert "needs endorsement" in late.detail and "needs endorsement" in beyond.detail


def test_validity_follows_the_latest_endorsement(card: HostCard, keys: StationKeys) -> None:
    if not card.permit.endorsements:
        pytest.skip("no endorsement")
    latest = max(card.permit.endorsements, key=lambda e: e.date).valid_until
    assert judge(card, keys, today=latest - dt.timedelta(days=1)).result is Result.GENUINE_VALID
    expired = judge(card, keys, today=latest)
    assert expired.result is Result.EXPIRED and latest.isoformat() in expired.check(Check.VALIDITY).detail


def test_audit_records_who_when_which_card_and_the_verdict_without_personal_data(card: HostCard,
                                                                                keys: StationKeys) -> None:
    seen: list[AuditRecord] = []
    verdict = judge(card, keys, station=Station("ZZ-COUNTER-07", "clerk42"), audit_hook=seen.append,
                    status=FixedStatus(ListStatus.LOST))
    (entry,) = seen
    assert (entry.station_id, entry.operator, entry.at, entry.card_number, entry.result) == (
        "ZZ-COUNTER-07", "clerk42", NOW, card.permit.card_number, Result.LOST.value)
    line = entry.line() + verdict.summary()
    for personal in (card.permit.name, card.permit.citizen_id, card.permit.residence_address):
        assert personal not in line


def test_a_failing_audit_hook_does_not_hide_the_verdict(card: HostCard, keys: StationKeys) -> None:
    def broken(_: AuditRecord) -> None:
        raise RuntimeError("audit database down")

    assert judge(card, keys, audit_hook=broken).result is Result.GENUINE_VALID


def test_the_verdict_fails_closed() -> None:
    assert Verdict.decide(()).result is Result.UNREADABLE
    not_run = CheckResult.not_run(Check.STATUS, Result.STATUS_UNKNOWN, "no list")
    assert Verdict.decide((CheckResult.passed(Check.READ), not_run)).result is Result.STATUS_UNKNOWN
    worst = Verdict.decide((CheckResult.failed(Check.VALIDITY, Result.EXPIRED, "x"),
                            CheckResult.failed(Check.CHIP_AUTH, Result.CLONED, "y")))
    assert worst.result is Result.CLONED


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_malformed_read_raises_out_of_the_verifier(card: HostCard, keys: StationKeys, data: st.DataObject) -> None:
    files = dict(card.files)
    name = data.draw(st.sampled_from(sorted(files)))
    mode = data.draw(st.sampled_from(["truncate", "garbage", "splice"]))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    content = files[name]
    if mode == "truncate":
        files[name] = content[: rng.randrange(len(content) + 1)]
    elif mode == "garbage":
        files[name] = data.draw(st.binary(max_size=300))
    else:
        at = rng.randrange(len(content) + 1)
        files[name] = content[:at] + data.draw(st.binary(min_size=1, max_size=20)) + content[at:]
    # Garbage records (fewer records only make a card look older: EF.ENDORSE is append-only on the card).
    records = data.draw(st.lists(st.binary(max_size=80), min_size=1, max_size=2)) if data.draw(st.booleans()) else None
    read = card.read(files=files, records=tuple(records) if records is not None else None)
    verdict = judge(card, keys, read=read)
    if files[name] != content or records is not None:
        assert verdict.result in {Result.TAMPERED, Result.UNREADABLE}, verdict.summary()


def test_today_defaults_to_the_date_in_china(card: HostCard, keys: StationKeys) -> None:
    verdict = verify_read(card.read(), card.layout, keys.trust(), FixedStatus(), now=NOW)
    assert verdict.verified_at == NOW and NOW.date() + dt.timedelta(days=1) >= TODAY


def _layouts() -> list[Layout]:
    return [builtin_layout("zz"), builtin_layout("smx")]


def test_host_cards_carry_endorsements_in_both_layouts(keys: StationKeys) -> None:
    for layout in _layouts():
        assert any(host_card(layout, permit_for(layout, s, endorsements=3), keys).records for s in range(20, 24))


def _unused(path: Path) -> None:  # keeps Path imported for type hints in fixtures
    del path
