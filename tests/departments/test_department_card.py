"""Issue 16 item 1 on a virtual card: each department writes, updates and reads each of its declared
records under its own per-card key with secure messaging; every other department's key is refused by the
card; an altered record is reported, never returned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from applets.fs import DedicatedFile, TransparentEf
from cardsvc.departments.card import DepartmentCard, department_key_name, record_ef_parent
from cardsvc.departments.record import DepartmentRecordError, record_efs, slot_size
from cardsvc.iso7816.commands import update_binary
from cardsvc.iso7816.errors import ApduError
from cardsvc.issuance.keys import StationKeys
from cardsvc.layout import Layout, builtin_layout
from cardsvc.security.errors import AuthenticationError
from cardsvc.security.kdf import key_store_role
from cardsvc.security.mutual_auth import secure_session
from cardsvc.security.suite import layout_suite
from cardsvc.session import CardSession
from cardsvc.verification.verdict import Check, Outcome
from cardsvc.verification.verifier import verify_card
from simulator import VirtualCard
from simulator.transport import InProcessConnection
from tests.departments.support import departments_with_records, issued_card, sample_values
from tests.issuance_support import Registry, make_station_keys


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_station_keys(tmp_path_factory.mktemp("keystore"))


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    r = Registry()
    yield r
    r.close()


def session(card: VirtualCard) -> CardSession:
    return CardSession(InProcessConnection(card))


def test_layouts_declare_the_articles_records() -> None:
    """ZZ Art.21(6)/(7)/(2)-(3) and SMX Art.21: every department record names the article it serves."""
    zz = {ef.name: ef.serves for ef in builtin_layout("zz").efs if ef.serves}
    assert zz == {"education_enrolment": "ZZ Art.21(6)", "public_rental_eligibility": "ZZ Art.21(7)",
                  "fp_health_services": "ZZ Art.21(2)-(3)"}
    smx = {ef.name: ef.serves for ef in builtin_layout("smx").efs if ef.serves}
    assert set(smx.values()) == {"SMX Art.21(1)", "SMX Art.21(2)", "SMX Art.21(3)", "SMX Art.21 ¶1"}


@pytest.mark.parametrize("layout_id", ["zz", "smx"])
def test_write_update_read_each_record(keys: StationKeys, registry: Registry, layout_id: str) -> None:
    layout = builtin_layout(layout_id)
    card = issued_card(keys, registry, layout, 1)
    for department in departments_with_records(layout):
        for ef in record_efs(layout, department):
            dept = DepartmentCard(session(card), layout, department, keys.card_key)
            blank = dept.read(ef.name)
            assert blank.values is None and blank.seq == 0 and blank.intact, ef.name
            first = dept.write(ef.name, sample_values(ef, 1))
            assert (first.seq, first.replaced_seq) == (1, 0)
            assert dept.read(ef.name).values == sample_values(ef, 1)
            second = dept.write(ef.name, sample_values(ef, 2))  # an update goes to the other slot
            assert second.seq == 2 and second.slot != first.slot
            again = DepartmentCard(session(card), layout, department, keys.card_key).read(ef.name)
            assert again.values == sample_values(ef, 2) and again.seq == 2 and again.intact


def test_counter_verdict_unchanged_by_department_records(keys: StationKeys, registry: Registry) -> None:
    layout = builtin_layout("zz")
    card = issued_card(keys, registry, layout, 2)
    before = verify_card(InProcessConnection(card), layout, keys.trust(), None, keys=keys.card_key)
    for department in departments_with_records(layout):
        for ef in record_efs(layout, department):
            DepartmentCard(session(card), layout, department, keys.card_key).write(ef.name, sample_values(ef, 3))
    card.power_on()
    after = verify_card(InProcessConnection(card), layout, keys.trust(), None, keys=keys.card_key)
    passed = {c.check for c in before.checks if c.outcome is Outcome.PASS}
    assert passed >= {Check.READ, Check.PASSIVE_AUTH, Check.CHIP_AUTH}, before.summary()  # no status list here
    assert after.result == before.result and after.display == before.display
    assert [(c.check, c.outcome) for c in after.checks] == [(c.check, c.outcome) for c in before.checks]


def _try_with_other_key(card: VirtualCard, layout: Layout, keys: StationKeys, target: str, other: str,
                        own_ref: bool) -> None:
    """Select `target`'s ADF and write its record authenticated with `other`'s per-card key (under the
    other department's key reference, or under the target's own reference)."""
    s = session(card)
    ef = record_efs(layout, target)[0]
    card_number = DepartmentCard(s, layout, target, keys.card_key).card_number
    other_decl = layout.keys[department_key_name(layout, other)]
    ref = layout.keys[department_key_name(layout, target)].ref if own_ref else other_decl.ref
    s.select_aid(layout.df(record_ef_parent(layout, target)).aid)
    with secure_session(s, keys.card_key(key_store_role(other_decl.role), card_number), ref,
                        layout_suite(layout).cipher):
        s.send(update_binary(bytes(slot_size(ef)), sfi=ef.sfi), context="UPDATE BINARY other department")


@pytest.mark.parametrize("layout_id", ["zz", "smx"])
def test_card_refuses_every_other_departments_key(keys: StationKeys, registry: Registry, layout_id: str) -> None:
    layout = builtin_layout(layout_id)
    card = issued_card(keys, registry, layout, 3)
    all_departments = [df.department for df in layout.dfs if df.department]
    for target in departments_with_records(layout):
        ef = record_efs(layout, target)[0]
        DepartmentCard(session(card), layout, target, keys.card_key).write(ef.name, sample_values(ef, 5))
        for other in all_departments:
            if other == target:
                continue
            for own_ref in (False, True):
                with pytest.raises((ApduError, AuthenticationError)):
                    _try_with_other_key(card, layout, keys, target, other, own_ref)
                card.power_on()
        # No authentication at all: plain UPDATE BINARY refused too.
        s = session(card)
        s.select_aid(layout.df(record_ef_parent(layout, target)).aid)
        with pytest.raises(ApduError):
            s.send(update_binary(bytes(8), sfi=ef.sfi), context="plain UPDATE BINARY")
        # The record is untouched by all of it.
        got = DepartmentCard(session(card), layout, target, keys.card_key).read(ef.name)
        assert got.values == sample_values(ef, 5) and got.intact


def _ef_bytes(card: VirtualCard, layout: Layout, department: str, fid: int) -> bytearray:
    adf = card.state.mf.child(layout.df(record_ef_parent(layout, department)).fid)
    assert isinstance(adf, DedicatedFile)
    ef = adf.child(fid)
    assert isinstance(ef, TransparentEf)
    return ef.data


@pytest.mark.parametrize("layout_id", ["zz", "smx"])
def test_altered_record_is_reported(keys: StationKeys, registry: Registry, layout_id: str) -> None:
    layout = builtin_layout(layout_id)
    card = issued_card(keys, registry, layout, 4)
    for department in departments_with_records(layout):
        for ef in record_efs(layout, department):
            dept = DepartmentCard(session(card), layout, department, keys.card_key)
            written = dept.write(ef.name, sample_values(ef, 7))
            data = _ef_bytes(card, layout, department, ef.fid)
            at = written.slot * slot_size(ef) + 7  # a byte of the record's body
            data[at] ^= 0x01
            got = DepartmentCard(session(card), layout, department, keys.card_key).read(ef.name)
            assert not got.intact and got.values is None, ef.name
            assert [p.slot for p in got.problems] == [written.slot]
            assert "MAC" in got.problems[0].reason


def test_bad_values_name_the_field(keys: StationKeys, registry: Registry) -> None:
    layout = builtin_layout("zz")
    card = issued_card(keys, registry, layout, 5)
    dept = DepartmentCard(session(card), layout, "housing", keys.card_key)
    with pytest.raises(DepartmentRecordError) as e:
        dept.write("public_rental_eligibility", {"eligible": "1", "landlord": "x"})
    assert e.value.field == "landlord"
    with pytest.raises(DepartmentRecordError) as e:
        dept.write("public_rental_eligibility", {"eligible": "12"})
    assert e.value.field == "eligible"
    with pytest.raises(DepartmentRecordError) as e:
        dept.write("education_enrolment", {"school": "x"})  # another department's record
    assert e.value.field == "record"
