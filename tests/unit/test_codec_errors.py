"""Decoding names the EF, offset and tag of malformed data; unknown tags are kept and reported."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from cardsvc.iso7816.tlv import encode_tlv
from cardsvc.layout.codec import decode_contents, decode_image, encode_permit
from cardsvc.layout.errors import FieldValueError, ImageDecodeError
from cardsvc.layout.image import CardImage
from cardsvc.layout.loader import builtin_layout
from cardsvc.permit.model import DepartmentData, Endorsement
from cardsvc.samples import generate_permit, synthetic_photo

TODAY = date(2026, 11, 23)
SMX = builtin_layout("smx")
ZZ = builtin_layout("zz")
PHOTO = synthetic_photo(random.Random(2), width=60, height=80)
PERMIT = generate_permit(SMX, random.Random(4), today=TODAY, photo=PHOTO, minor=False)
IMAGE = encode_permit(PERMIT, SMX)
VISIBLE = IMAGE.file("visible").content or b""


def with_visible(content: bytes) -> CardImage:
    return IMAGE.replace_file("visible", content=content)


def decode_error(image: CardImage, layout: object = SMX) -> ImageDecodeError:
    with pytest.raises(ImageDecodeError) as err:
        decode_image(image, layout)  # type: ignore[arg-type]
    return err.value


def test_truncated_value_names_offset_and_tag() -> None:
    err = decode_error(with_visible(VISIBLE[:-1]))
    assert (err.file, err.offset, err.tag) == ("visible", len(VISIBLE) - 7, 0x5F24)
    assert str(err) == (f"EF visible: malformed TLV at offset {len(VISIBLE) - 7} in tag 5F24: "
                        f"value of 4 bytes runs past the end (3 bytes left)")


def test_trailing_garbage_is_rejected() -> None:
    err = decode_error(with_visible(VISIBLE + b"\x00"))
    assert (err.offset, err.tag) == (len(VISIBLE), None)
    assert "tag byte 00 is not a valid first tag byte" in str(err)


def test_overlong_length_field() -> None:
    err = decode_error(with_visible(VISIBLE + bytes.fromhex("DF7F84000000010000")))
    assert (err.offset, err.tag) == (len(VISIBLE) + 2, 0xDF7F)
    assert "length field of 4 bytes is more than 3" in str(err)


def test_unknown_tags_from_a_newer_version_are_kept_and_reported() -> None:
    extra = encode_tlv(0xDF7F, b"v2 data")
    decoded = decode_image(with_visible(VISIBLE + extra), SMX)
    assert decoded.permit == PERMIT
    (unknown,) = decoded.unknown_tags
    assert (unknown.file, unknown.tag, unknown.value, unknown.offset) == ("visible", 0xDF7F, b"v2 data", len(VISIBLE))
    assert str(unknown) == f"EF visible: unknown tag DF7F (7 bytes) at offset {len(VISIBLE)}"


def test_newer_layout_version_is_reported() -> None:
    card = IMAGE.file("card").content or b""
    newer = card.replace(bytes.fromhex("DF32020001"), bytes.fromhex("DF32020002"))
    assert newer != card
    assert decode_image(IMAGE.replace_file("card", content=newer), SMX).card_layout_version == 2


def test_duplicate_tag() -> None:
    first = VISIBLE[: 3 + VISIBLE[2]]  # 5F20 L name
    err = decode_error(with_visible(VISIBLE + first))
    assert (err.offset, err.tag) == (len(VISIBLE), 0x5F20)
    assert str(err).endswith("tag repeated")


def test_bad_field_value_names_field_and_tag() -> None:
    pos = VISIBLE.index(bytes.fromhex("5F2B04"))
    bad = VISIBLE[: pos + 3] + bytes.fromhex("19901315") + VISIBLE[pos + 7:]
    err = decode_error(with_visible(bad))
    assert (err.offset, err.tag) == (pos, 0x5F2B)
    assert str(err) == f"EF visible: malformed TLV at offset {pos} in tag 5F2B: field birth_date: date 19901315 " \
                       f"is not a calendar date"


def test_missing_required_field() -> None:
    name_len = 3 + VISIBLE[2]
    err = decode_error(with_visible(VISIBLE[name_len:]))
    assert "required field name is missing" in str(err) and err.file == "visible"


def test_malformed_endorsement_record_names_the_record() -> None:
    permit = replace(PERMIT, endorsements=(Endorsement(date(2026, 1, 1), "三门峡", date(2027, 1, 1),
                                                       PERMIT.authority),))
    image = encode_permit(permit, SMX)
    records = image.file("endorse").records or ()
    err = decode_error(image.replace_file("endorse", records=(records[0][:-2],)))
    assert err.file == "endorse record 1" and err.tag == 0xDF08


def test_zz_copies_of_a_field_must_agree() -> None:
    permit = generate_permit(ZZ, random.Random(4), today=TODAY, photo=PHOTO)
    image = encode_permit(permit, ZZ)
    visible = image.file("visible").content or b""
    old = permit.residence_address.encode("utf-8")
    new = ("X" * len(old)).encode("ascii")
    err = decode_error(image.replace_file("visible", content=visible.replace(old, new)), ZZ)
    assert "field residence_address differs from its copy in EF" in str(err)


def test_image_of_another_layout() -> None:
    err = decode_error(IMAGE, ZZ)
    assert str(err) == "EF card: malformed TLV at offset 0: image is layout 'smx', not 'zz'"


def test_wrong_shapes_in_contents() -> None:
    with pytest.raises(ImageDecodeError, match="a transparent EF has bytes, not records"):
        decode_contents({"card": (b"",)}, SMX)
    with pytest.raises(ImageDecodeError, match="file content missing"):
        decode_contents({}, SMX)


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"name": "买" * 30}, "name", "60 bytes exceed the layout's limit of 48"),
    ({"contact": "电话"}, "contact", "character '电' is not printable ASCII"),
    ({"ethnicity": "5"}, "ethnicity", "must be exactly 2 digits, got '5'"),
    ({"photo": b"GIF89a"}, "photo", "JPEG must start with SOI marker FFD8"),
    ({"applications": (DepartmentData("bank", ()),)}, "applications.bank", "layout smx has no such department"),
    ({"applications": (DepartmentData("education", (("school", "学" * 60),)),)},
     "applications.education.school", "120 bytes exceed the layout's limit of 96"),
    ({"endorsements": (PERMIT.endorsements or (Endorsement(date(2026, 1, 1), "a", date(2027, 1, 1),
                                                            PERMIT.authority),)) * 21},
     "endorsements", "21 endorsements exceed the 20 records of EF endorse"),
])
def test_encode_errors_name_the_field(change: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(FieldValueError) as err:
        encode_permit(replace(PERMIT, **change), SMX)  # type: ignore[arg-type]
    assert (err.value.field, err.value.reason) == (field, reason)


def test_unknown_tag_in_a_record_names_the_record() -> None:
    e = Endorsement(date(2026, 1, 1), "三门峡", date(2027, 1, 1), PERMIT.authority)
    image = encode_permit(replace(PERMIT, endorsements=(e, e)), SMX)
    records = image.file("endorse").records or ()
    newer = (records[0], records[1] + encode_tlv(0xDF5A, b"\x01"))
    decoded = decode_image(image.replace_file("endorse", records=newer), SMX)
    assert decoded.permit.endorsements == (e, e)
    assert [(u.file, u.record, u.tag, u.offset) for u in decoded.unknown_tags] == [
        ("endorse", 2, 0xDF5A, len(records[1]))]
