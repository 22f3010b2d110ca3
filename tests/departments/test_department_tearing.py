"""Power lost at every APDU of a department write (issue 16, design §7): the card holds the previous
record intact or the new one complete, never a mix; the next write repairs a torn slot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cardsvc.departments.card import DepartmentCard
from cardsvc.departments.record import decode_record, encode_slot, next_slot, record_efs, slot_size
from cardsvc.issuance.keys import StationKeys
from cardsvc.layout import builtin_layout
from cardsvc.security.suite import layout_suite
from cardsvc.session import CardSession
from cardsvc.transport.errors import CardRemovedError
from simulator import TearingConnection, When
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


@pytest.mark.parametrize("when", [When.MIDDLE, When.AFTER])
@pytest.mark.parametrize("layout_id", ["zz", "smx"])
def test_power_lost_at_every_department_write_apdu(keys: StationKeys, registry: Registry, layout_id: str,
                                                   when: When) -> None:
    layout = builtin_layout(layout_id)
    card = issued_card(keys, registry, layout, 10)
    for department in departments_with_records(layout):
        for ef in record_efs(layout, department):
            old, new = sample_values(ef, 1), sample_values(ef, 2)
            # Reference: the commands of one update (EF.CARD, select, authenticate, read, write).
            DepartmentCard(CardSession(InProcessConnection(card)), layout, department,
                           keys.card_key).write(ef.name, old)
            reference = TearingConnection(card)
            DepartmentCard(CardSession(reference), layout, department, keys.card_key).write(ef.name, old)
            assert reference.sent >= 6
            for cut in range(reference.sent):
                with pytest.raises(CardRemovedError):
                    DepartmentCard(CardSession(TearingConnection(card, cut, when)), layout, department,
                                   keys.card_key).write(ef.name, new)
                card.power_on()
                got = DepartmentCard(CardSession(InProcessConnection(card)), layout, department,
                                     keys.card_key).read(ef.name)
                assert got.values in (old, new), (ef.name, cut, got)
                # Put the old record back for the next cut (also proves a write after a tear works).
                back = DepartmentCard(CardSession(InProcessConnection(card)), layout, department,
                                      keys.card_key)
                back.write(ef.name, old)
                assert back.read(ef.name).values == old
                # The last command is the write itself: torn mid-way (MIDDLE) it never shows the new one
                # half-done; completed (AFTER) the new record is whole.
                if cut == reference.sent - 1 and when is When.AFTER:
                    assert got.values == new, (ef.name, cut)
                # A slot left half-written (old and new pages mixed) is reported, never returned.
                assert got.intact or [p.slot for p in got.problems] != [got.slot], (ef.name, cut)


def test_a_slot_of_mixed_pages_is_reported_and_the_previous_record_kept() -> None:
    """What a MIDDLE cut leaves when the new record spans pages: the first page new, the rest old."""
    layout = builtin_layout("zz")
    ef = layout.ef("education_enrolment")
    key, cipher = bytes(range(16)), layout_suite(layout).cipher
    size = slot_size(ef)
    old = {"child_name": "甲" * 10, "school": "郑州市第一中学附属小学郑州市第一中学附属", "enrolled_on": "20240901"}
    new = {"child_name": "乙" * 10, "school": "郑州市第二中学附属小学郑州市第二中学附属", "enrolled_on": "20250901"}
    current = encode_slot(layout, ef, old, 3, key, cipher)
    older = encode_slot(layout, ef, old, 2, key, cipher)
    written = encode_slot(layout, ef, new, 4, key, cipher)
    assert size > 64 and any(written[64:])  # the new record really spans two pages
    content = current + written[:64] + older[64:]  # slot 0 = record 3, slot 1 torn
    got = decode_record(layout, ef, content, key, cipher)
    assert got.values == old and got.seq == 3 and got.slot == 0
    assert [p.slot for p in got.problems] == [1]
    # The next write goes to the torn slot, never over the current record.
    assert next_slot(got) == 1
