"""Counter verification against the in-process virtual card, personalized by the issuance pipeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from applets.fs import DedicatedFile, RecordEf, TransparentEf
from applets.security.module import install
from cardsvc.issuance.jobs import make_plan
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.personalize import personalize
from cardsvc.layout import Layout, builtin_layout
from cardsvc.permit.model import Permit
from cardsvc.rules.status import SuspensionReason
from cardsvc.security import ceremony
from cardsvc.session import CardSession
from cardsvc.status_list import StatusEntry, StatusList, StatusListCache, sign_status_list
from cardsvc.status_list.model import ListStatus
from cardsvc.verification import Check, Outcome, ProblemKind, Result, Verdict, read_card, verify_card
from simulator import VirtualCard, build_atr
from simulator.transport import CardMuteError, InProcessConnection
from tests.issuance_support import blank_card
from tests.verify_support import NOW, TODAY, FixedStatus, make_keys, permit_for

SIGNED = ("card", "visible", "machine", "photo", "chipkey", "sod")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_keys(tmp_path_factory.mktemp("keys"))


def issue(layout: Layout, permit: Permit, keys: StationKeys, card: VirtualCard | None = None) -> VirtualCard:
    card = card or blank_card()
    plan = make_plan(permit, layout, keys)
    personalize(CardSession(InProcessConnection(card)), plan, keys, permit.authority.code)
    card.power_on()
    return card


@pytest.fixture(scope="module", params=["zz", "smx"])
def issued(request: pytest.FixtureRequest, keys: StationKeys) -> tuple[Layout, Permit, VirtualCard]:
    layout = builtin_layout(request.param)
    permit = permit_for(layout, 37, photo_bytes=15_000, endorsements=3)
    return layout, permit, issue(layout, permit, keys)


def verify(card: VirtualCard, layout: Layout, keys: StationKeys, **kw: object) -> Verdict:
    card.power_on()
    connection = kw.pop("connection", None) or InProcessConnection(card)
    status, terminal, today = kw.pop("status", FixedStatus()), kw.pop("terminal", keys.card_key), kw.pop("today", TODAY)
    return verify_card(connection, layout, keys.trust(), status, keys=terminal,  # type: ignore[arg-type]
                       now=NOW, today=today, **kw)  # type: ignore[arg-type]


def ef_of(card: VirtualCard, layout: Layout, name: str) -> TransparentEf | RecordEf:
    adf = card.state.mf.child(layout.df("permit").fid)
    assert isinstance(adf, DedicatedFile)
    node = adf.child(layout.ef(name).fid)
    assert isinstance(node, TransparentEf | RecordEf)
    return node


def test_a_genuine_card_is_genuine_and_read_lean(issued: tuple[Layout, Permit, VirtualCard],
                                                 keys: StationKeys) -> None:
    layout, permit, card = issued
    verdict = verify(card, layout, keys)
    assert verdict.result is Result.GENUINE_VALID, verdict.summary()
    assert verdict.display["card_number"] == permit.card_number and verdict.photo == permit.photo
    stats = verdict.stats
    assert stats is not None
    # Extended length: SELECT, 2 per one-object file, records + 1, two small files, chip, auth, SM read.
    assert stats.apdus <= 12 + len(permit.endorsements) + 4, stats
    assert stats.file_bytes_read <= 1.05 * stats.file_bytes_stored, stats


def test_short_apdus_read_no_byte_twice_and_stay_within_the_byte_budget(keys: StationKeys) -> None:
    layout = builtin_layout("zz")
    permit = permit_for(layout, 32, photo_bytes=15_000)
    short_atr = build_atr(bytes((0x80, 0x73, 0xF6, 0x21, 0x80)))  # chaining, no extended length
    card = VirtualCard(blank_card().state, atr=short_atr)
    install(card.os)
    card = issue(layout, permit, keys, card)
    assert not CardSession(InProcessConnection(card)).extended
    verdict = verify(card, layout, keys)
    assert verdict.result is Result.GENUINE_VALID, verdict.summary()
    assert verdict.stats is not None and verdict.stats.file_bytes_read <= 1.05 * verdict.stats.file_bytes_stored
    assert verdict.stats.apdus >= verdict.stats.file_bytes_stored // 256  # ≤ 256 bytes per short answer


def test_a_small_buffer_card_verifies_with_its_protected_file_read_under_sm(keys: StationKeys) -> None:
    """READ BINARY with Ne above the card's 192-byte buffer answers 6700, and under SM so does a read whose
    protected answer (plain data + 17..33 bytes of SM objects) would not fit. The plain reads teach the
    reader Le 192; EF.MACHINE's long address is then asked for in one protected read too big for the
    buffer, and that read must step its Le down through the same pipeline (AdaptiveLe above the SM
    layer), each try newly wrapped, instead of resending a protected command the card has seen."""
    layout = builtin_layout("zz")
    address = "河南省郑州市金水区" + "花园路" * 13 + "1号"  # 50 characters, 148 bytes of UTF-8
    # Issue 12: the residence address is capped at the endorsement record's 90 bytes; the household
    # address is the long EF.MACHINE field now.
    permit = replace(permit_for(layout, 33, photo_bytes=2_000), household_address=address)
    card = issue(layout, permit, keys, VirtualCard(blank_card().state, max_le=192))
    verdict = verify(card, layout, keys)
    assert verdict.result is Result.GENUINE_VALID, verdict.summary()
    assert verdict.display["household_address"] == address  # a field of EF.MACHINE, read under SM


@pytest.mark.parametrize("name", SIGNED)
def test_tamper_matrix_on_the_card(issued: tuple[Layout, Permit, VirtualCard], keys: StationKeys, name: str) -> None:
    layout, _, card = issued
    ef = ef_of(card, layout, name)
    assert isinstance(ef, TransparentEf)
    used = len(read_card(InProcessConnection(card), layout, keys=keys.card_key).files[name])
    for offset in sorted({0, 1, 2, 3, used // 2, used - 2, used - 1, *range(5, used, max(1, used // 12))}):
        before = ef.data[offset]
        ef.data[offset] ^= 0x5A
        try:
            verdict = verify(card, layout, keys)
        finally:
            ef.data[offset] = before
        assert verdict.result is Result.TAMPERED, (name, offset, verdict.summary())


def test_an_altered_endorsement_record_on_the_card(issued: tuple[Layout, Permit, VirtualCard],
                                                   keys: StationKeys) -> None:
    layout, permit, card = issued
    ef = ef_of(card, layout, "endorse")
    assert isinstance(ef, RecordEf) and permit.endorsements
    record = ef.record(1)
    assert record is not None
    for offset in range(0, len(record), 9):
        record[offset] ^= 0x21
        try:
            verdict = verify(card, layout, keys)
        finally:
            record[offset] ^= 0x21
        assert verdict.result is Result.TAMPERED, (offset, verdict.summary())


def test_a_clone_with_every_file_copied_but_another_chip_key(issued: tuple[Layout, Permit, VirtualCard],
                                                             keys: StationKeys) -> None:
    layout, permit, original = issued
    clone = issue(layout, permit, keys)  # same data and keys, but the chip made its own key pair
    for name in SIGNED:
        ef_of(clone, layout, name).data[:] = ef_of(original, layout, name).data  # type: ignore[union-attr]
    assert verify(original, layout, keys).result is Result.GENUINE_VALID
    verdict = verify(clone, layout, keys)
    assert verdict.result is Result.CLONED, verdict.summary()
    assert verdict.check(Check.PASSIVE_AUTH).outcome is Outcome.PASS


def test_a_card_torn_before_its_commit_point_is_never_genuine(keys: StationKeys) -> None:
    layout = builtin_layout("smx")
    permit = permit_for(layout, 33)
    plan = make_plan(permit, layout, keys)
    card = blank_card()
    session = CardSession(InProcessConnection(card))
    personalize(session, plan, keys, permit.authority.code)
    adf = card.state.mf.child(layout.df("permit").fid)
    assert adf is not None
    from cardsvc.iso7816.fcp import LifeCycle

    adf.lifecycle = LifeCycle.INITIALISATION  # every byte written, the final ACTIVATE not yet done
    verdict = verify(card, layout, keys)
    assert verdict.result is Result.UNREADABLE and "personalization incomplete" in verdict.check(Check.READ).detail


def test_a_wrong_counter_key_cannot_read_the_protected_file(issued: tuple[Layout, Permit, VirtualCard],
                                                            keys: StationKeys) -> None:
    layout, _, card = issued
    read = read_card(InProcessConnection(card), layout, keys=lambda role, number: bytes(16))
    problem = read.problem("terminal_auth")
    assert problem is not None and problem.kind is ProblemKind.TERMINAL_REJECTED and "machine" not in read.files
    verdict = verify(card, layout, keys, terminal=lambda role, number: bytes(16))
    assert verdict.result is Result.UNREADABLE and not verdict.genuine_valid
    card.power_on()  # the retry counter was decremented once; a right key resets it
    assert verify(card, layout, keys).result is Result.GENUINE_VALID


def test_statuses_from_a_signed_status_list(issued: tuple[Layout, Permit, VirtualCard], keys: StationKeys,
                                            tmp_path: Path) -> None:
    layout, permit, card = issued
    code = permit.authority.code
    name = ceremony.signer_name(ceremony.SignerRole.DOCUMENT, code)
    cache = StatusListCache(tmp_path / "status.cbor", keys.trust(), dt.timedelta(hours=24))
    expected = {ListStatus.LOST: Result.LOST, ListStatus.SUSPENDED: Result.SUSPENDED,
                ListStatus.REVOKED_REPLACED: Result.REVOKED, ListStatus.CANCELLED: Result.CANCELLED}
    for sequence, (status, result) in enumerate(expected.items(), start=1):
        reason = SuspensionReason.CROSS_COUNTY_MOVE if status is ListStatus.SUSPENDED else None
        listing = StatusList.build(code, sequence, NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=23),
                                   [StatusEntry(permit.card_number, status, reason)])
        cache.update(sign_status_list(listing, keys.store.private_key(name), keys.store.certificate(name)), NOW)
        assert verify(card, layout, keys, status=cache).result is result


class FuzzingConnection:
    """Passes APDUs to the card; at response number `at` mutates the answer as `mutate` says."""

    def __init__(self, inner: InProcessConnection, at: int, mutate: Callable[[bytes, int], tuple[bytes, int]]):
        self.inner = inner
        self.at = at
        self.mutate = mutate
        self.count = 0

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.inner.transmit(apdu)
        self.count += 1
        return self.mutate(data, sw) if self.count == self.at else (data, sw)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> FuzzingConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _mutation(draw: st.DrawFn) -> Callable[[bytes, int], tuple[bytes, int]]:
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "sw", "empty", "mute", "garbage"]))
    where = draw(st.integers(0, 2**16))
    junk = draw(st.binary(min_size=1, max_size=40))
    sw = draw(st.sampled_from([0x6282, 0x6700, 0x6982, 0x6A82, 0x6A83, 0x6B00, 0x6C10, 0x6110, 0x6F00, 0x9000]))

    def mutate(data: bytes, old_sw: int) -> tuple[bytes, int]:
        if kind == "flip" and data:
            i = where % len(data)
            return data[:i] + bytes((data[i] ^ 0x40,)) + data[i + 1 :], old_sw
        if kind == "truncate":
            return data[: where % (len(data) + 1)], old_sw
        if kind == "extend":
            return data + junk, old_sw
        if kind == "sw":
            return data, sw
        if kind == "mute":
            raise CardMuteError("card pulled")
        if kind == "garbage":
            return junk, old_sw
        return b"", old_sw

    return mutate


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.integers(1, 18), mutate=st.composite(_mutation)())
def test_no_malformed_response_raises_out_of_the_verifier(issued: tuple[Layout, Permit, VirtualCard],
                                                          keys: StationKeys, at: int,
                                                          mutate: Callable[[bytes, int], tuple[bytes, int]]) -> None:
    layout, permit, card = issued
    card.power_on()
    verdict = verify(card, layout, keys, connection=FuzzingConnection(InProcessConnection(card), at, mutate))
    # A garbled chip signature is indistinguishable from a clone's; an answer 6A83 "no such record" makes
    # the card look as if its last endorsement were missing (EXPIRED: only ever worse for the holder, as
    # EF.ENDORSE is append-only); every other damage reads as unreadable or tampered; a harmless change
    # (e.g. 6282 for 9000 at a file's end) changes nothing.
    assert verdict.result in {Result.UNREADABLE, Result.TAMPERED, Result.CLONED, Result.EXPIRED,
                              Result.GENUINE_VALID}, verdict.summary()
    if verdict.result is Result.GENUINE_VALID:
        assert verdict.display["card_number"] == permit.card_number and verdict.photo == permit.photo


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from([*SIGNED, "endorse"]), data=st.data())
def test_no_malformed_card_image_raises_out_of_the_verifier(issued: tuple[Layout, Permit, VirtualCard],
                                                            keys: StationKeys, name: str,
                                                            data: st.DataObject) -> None:
    layout, _, card = issued
    ef = ef_of(card, layout, name)
    adf = card.state.mf.child(layout.df("permit").fid)
    assert isinstance(adf, DedicatedFile)
    saved = bytes(ef.data) if isinstance(ef, TransparentEf) else None
    saved_records = [bytearray(r) for r in ef.slots] if isinstance(ef, RecordEf) else None
    action = data.draw(st.sampled_from(["overwrite", "splice", "remove"]))
    unchanged = False  # junk equal to the bytes it overwrote changes nothing
    try:
        if action == "remove":
            del adf.children[ef.fid]
        elif isinstance(ef, TransparentEf):
            at = data.draw(st.integers(0, len(ef.data) - 1))
            junk = data.draw(st.binary(min_size=1, max_size=64))
            if action == "overwrite":
                ef.data[:] = bytes(len(ef.data))
                junk = junk[: len(ef.data)]
                ef.data[: len(junk)] = junk
            else:
                ef.data[at : at + len(junk)] = junk[: len(ef.data) - at]
        elif ef.slots:
            slot = ef.slots[data.draw(st.integers(0, len(ef.slots) - 1))]
            junk = data.draw(st.binary(min_size=1, max_size=len(slot)))
            unchanged = bytes(slot[: len(junk)]) == junk  # e.g. b"\xdf" over a record starting DF41
            slot[: len(junk)] = junk
        verdict = verify(card, layout, keys)
    finally:
        if action == "remove":
            adf.attach(ef)
        if saved is not None:
            ef.data[:] = saved  # type: ignore[union-attr]
        if saved_records is not None:
            ef.slots[:] = saved_records  # type: ignore[union-attr]
    assert verdict.result in {Result.TAMPERED, Result.UNREADABLE, Result.GENUINE_VALID}, verdict.summary()
    if verdict.result is Result.GENUINE_VALID:  # only when the change hit unused space beyond the data
        assert action == "splice" or unchanged


def test_expiry_boundary_per_city_on_the_card(issued: tuple[Layout, Permit, VirtualCard], keys: StationKeys) -> None:
    layout, permit, card = issued
    until = max(permit.endorsements, key=lambda e: e.date).valid_until if permit.endorsements else permit.valid_until
    assert verify(card, layout, keys, today=until - dt.timedelta(days=1)).result is Result.GENUINE_VALID
    due = verify(card, layout, keys, today=until)
    assert due.result is Result.EXPIRED
    late = verify(card, layout, keys, today=until + dt.timedelta(days=150))
    detail = late.check(Check.VALIDITY).detail
    if layout.id == "smx":  # SMX Art.18: within half a year a late endorsement restores use
        assert "restores use" in detail
        beyond = verify(card, layout, keys, today=until + dt.timedelta(days=200)).check(Check.VALIDITY).detail
        assert "register anew" in beyond
    else:  # ZZ Art.13: no limit stated
        assert "needs endorsement" in detail


def test_a_copy_whose_chip_has_no_chip_key_is_a_clone(issued: tuple[Layout, Permit, VirtualCard],
                                                      keys: StationKeys) -> None:
    layout, _, card = issued
    copy = VirtualCard.from_bytes(card.to_bytes())
    for name in [k for k in copy.state.objects if k.endswith(":0E")]:  # the chip key pair (CHIP_KEY_REF 14)
        del copy.state.objects[name]
    verdict = verify(copy, layout, keys)
    assert verdict.result is Result.CLONED and verdict.check(Check.READ).outcome is Outcome.PASS
