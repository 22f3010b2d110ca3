"""permit -> card image -> permit is exact for both city layouts (hypothesis over generated permits)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cardsvc.iso7816.fcp import EfOp, Fcp, FileStructure
from cardsvc.layout.codec import decode_endorsement, decode_image, encode_endorsement, encode_permit
from cardsvc.layout.errors import FieldValueError
from cardsvc.layout.loader import builtin_layout
from cardsvc.permit.model import Permit
from cardsvc.permit.validate import validate_permit
from cardsvc.samples import generate_permit, photo_of_size, synthetic_photo

TODAY = date(2026, 11, 23)
LAYOUTS = {lid: builtin_layout(lid) for lid in ("smx", "zz")}


@given(seed=st.integers(0, 2**32 - 1), layout_id=st.sampled_from(sorted(LAYOUTS)))
@settings(max_examples=80, deadline=None)
def test_generated_permits_round_trip_exactly(seed: int, layout_id: str) -> None:
    layout = LAYOUTS[layout_id]
    permit = generate_permit(layout, random.Random(seed), today=TODAY)
    validate_permit(permit, layout, TODAY)
    image = encode_permit(permit, layout)
    decoded = decode_image(image, layout)
    assert decoded.permit == replace(permit, guardian=None)  # issue 12: the guardian is registry-only
    assert decoded.unknown_tags == ()
    assert decoded.card_layout_version == layout.version
    assert encode_permit(decoded.permit, layout) == image  # canonical: same permit, same bytes


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn")), min_size=1, max_size=20)
BASE = {lid: generate_permit(layout, random.Random(5), today=TODAY, minor=False,
                             photo=synthetic_photo(random.Random(5), width=60, height=80))
        for lid, layout in LAYOUTS.items()}


@given(layout_id=st.sampled_from(sorted(LAYOUTS)), name=_TEXT, household=_TEXT, residence=_TEXT)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_any_encodable_text_round_trips(layout_id: str, name: str, household: str, residence: str) -> None:
    """Arbitrary Unicode (rare characters, middle dots, emoji, RTL) survives whenever it fits."""
    layout = LAYOUTS[layout_id]
    permit = replace(BASE[layout_id], name=name, household_address=household, residence_address=residence)
    try:
        image = encode_permit(permit, layout)
    except FieldValueError:
        assume(False)
        raise
    assert decode_image(image, layout).permit == permit


@pytest.mark.parametrize("layout_id", sorted(LAYOUTS))
def test_rare_and_minority_names(layout_id: str) -> None:
    layout = LAYOUTS[layout_id]
    for name in ("买买提·艾力", "王𠈌", "䶮", "阿依古丽·吐尔逊", "𪚥𪚥"):
        permit = replace(BASE[layout_id], name=name)
        assert decode_image(encode_permit(permit, layout), layout).permit.name == name


@pytest.mark.parametrize("layout_id", sorted(LAYOUTS))
def test_card_image_is_easy_to_walk(layout_id: str) -> None:
    layout = LAYOUTS[layout_id]
    image = encode_permit(BASE[layout_id], layout)
    files = list(image)
    assert files[0].path == (0x3F00,) and files[0].is_df
    paths = {f.path for f in files}
    for f in files:
        assert f.parent_path in paths or f.path == (0x3F00,)  # parents come first
        assert Fcp.parse(f.fcp_bytes) == f.fcp
        if not f.is_df:
            assert f.sfi is not None  # every EF has an SFI (design §4)
            assert (f.records is not None) == f.fcp.structure.is_record
    machine = image.file("machine")
    assert machine.path == (0x3F00, 0x1001, 0x0003)
    assert machine.fcp.security is not None
    assert machine.fcp.security.condition(EfOp.READ).key_ref == layout.keys["counter"].ref
    endorse = image.file("endorse").fcp.security
    assert endorse is not None and endorse.condition(EfOp.WRITE).sm
    assert endorse.condition(EfOp.UPDATE).never
    permit_df = image.file("permit")
    assert permit_df.aid == layout.df("permit").aid and permit_df.fcp.structure is FileStructure.DF
    assert image.by_path((0x3F00, 0x2F00)).name == "dir"
    assert image.data_size == sum(len(f.content or b"") + sum(map(len, f.records or ())) for f in files)


def test_zz_dir_lists_the_reserved_bank_application() -> None:
    image = encode_permit(BASE["zz"], LAYOUTS["zz"])
    records = image.file("dir").records
    assert records is not None
    assert any(bytes.fromhex("4F08A000000333010101") in r for r in records)
    assert len(records) == 1 + len(LAYOUTS["zz"].dfs)


def test_applications_order_does_not_change_the_bytes() -> None:
    layout = LAYOUTS["zz"]
    permit = generate_permit(layout, random.Random(11), today=TODAY)
    reordered = replace(permit, applications=tuple(reversed(permit.applications)))
    assert reordered == permit
    assert encode_permit(reordered, layout) == encode_permit(permit, layout)


def test_endorsement_record_and_its_signed_part() -> None:
    layout = LAYOUTS["smx"]
    permit = next(p for p in (generate_permit(layout, random.Random(s), today=TODAY) for s in range(100))
                  if any(e.signature for e in p.endorsements))
    e = next(e for e in permit.endorsements if e.signature)
    record = encode_endorsement(e, layout)
    signed = encode_endorsement(e, layout, signed_part=True)
    assert record.startswith(signed) and record[len(signed):len(signed) + 2] == bytes.fromhex("DF42")
    assert decode_endorsement(record, layout, 1) == e


def test_benchmark_photo_size() -> None:
    photo = photo_of_size(random.Random(1), 15_000)
    assert 12_000 <= len(photo) <= 15_000
    permit: Permit = replace(BASE["zz"], photo=photo)
    validate_permit(permit, LAYOUTS["zz"], TODAY)
