"""Every validation rule: a bad input and the exact problem it gets (field and reason)."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from cardsvc.errors import FieldProblem
from cardsvc.layout.loader import builtin_layout, parse_layout
from cardsvc.layout.schema import Layout
from cardsvc.permit.citizen_id import make_citizen_id
from cardsvc.permit.errors import PermitInvalid
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Authority, DepartmentData, Endorsement, Guardian, Permit
from cardsvc.permit.permit_number import make_card_number, make_permit_number
from cardsvc.permit.validate import validate_permit
from cardsvc.samples import synthetic_photo

TODAY = date(2026, 6, 1)
SMX = builtin_layout("smx")
ZZ = builtin_layout("zz")
PHOTO = synthetic_photo(random.Random(7), width=120, height=160)
HUBIN = Authority("411202", "三门峡市公安局湖滨分局")
BORN = date(1990, 1, 15)
CID = make_citizen_id("411202", BORN, 11)  # odd sequence: male


def base(**changes: object) -> Permit:
    permit = Permit(
        name="买买提·艾力", sex=Sex.MALE, ethnicity="05", birth_date=BORN, citizen_id=CID, photo=PHOTO,
        household_address="新疆乌鲁木齐市天山区人民路1号", residence_address="三门峡市湖滨区崤山路8号",
        permit_number=make_permit_number("411202", 2025, 42), authority=HUBIN, issue_date=date(2025, 3, 1),
        valid_until=date(2026, 3, 1), card_number=make_card_number("4112", 42, 8),
        service_place="三门峡市第一人民医院", marital_status="20", residence_reason="01", contact="13800000000",
        endorsements=(Endorsement(date(2026, 2, 10), "三门峡市湖滨区崤山路8号", date(2027, 3, 1), HUBIN),),
        applications=(DepartmentData("education", (("school", "三门峡一中"),)),),
    )
    return replace(permit, **changes)  # type: ignore[arg-type]


def problems(permit: Permit, layout: Layout = SMX) -> tuple[FieldProblem, ...]:
    with pytest.raises(PermitInvalid) as err:
        validate_permit(permit, layout, TODAY)
    return err.value.problems


def one(field: str, reason: str) -> tuple[FieldProblem, ...]:
    return (FieldProblem(field, reason),)


def test_base_permit_is_valid() -> None:
    validate_permit(base(), SMX, TODAY)
    assert "姓名" not in repr(base()) and base().name not in repr(base())  # repr hides personal data


def jpeg(width: int, height: int, fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 180, 160)).save(out, fmt)
    return out.getvalue()


MINOR_BORN = date(2015, 5, 5)
MINOR_CID = make_citizen_id("411202", MINOR_BORN, 12)
GUARDIAN = Guardian(make_citizen_id("411202", date(1985, 2, 2), 31), "王芳")
PNG_MAGIC = jpeg(10, 10, "PNG")


@pytest.mark.parametrize(("changes", "expected"), [
    # GB 11643 citizen ID: length, check character, consistency with birth date and sex.
    ({"citizen_id": CID[:-1]}, one("citizen_id", "must be 18 characters (GB 11643), got 17")),
    ({"citizen_id": CID[:-1] + ("0" if CID[-1] != "0" else "1")},
     one("citizen_id", f"check character must be {CID[-1]!r} (ISO 7064 MOD 11-2), got "
                       f"{'0' if CID[-1] != '0' else '1'!r}")),
    ({"citizen_id": make_citizen_id("411202", date(1990, 1, 16), 11)},
     one("birth_date", "1990-01-15 disagrees with the citizen ID (1990-01-16)")),
    ({"citizen_id": make_citizen_id("411202", BORN, 12)}, one("sex", "男 disagrees with the citizen ID (女)")),
    ({"citizen_id": make_citizen_id("990000", BORN, 11)},
     one("citizen_id", "region code 990000: 99 is not a GB/T 2260 province code")),
    # GB/T 2261.1 sex and GB/T 3304 ethnicity.
    ({"sex": Sex.NOT_STATED}, one("sex", "9 (未说明的性别) cannot be printed on a permit; GB 11643 numbers "
                                         "carry male or female")),
    ({"ethnicity": "57"}, one("ethnicity", "'57' is not a GB/T 3304 ethnicity code")),
    # Dates.
    ({"birth_date": date(2027, 1, 1), "citizen_id": make_citizen_id("411202", date(2027, 1, 1), 11),
      "issue_date": date(2027, 1, 2), "valid_until": date(2028, 1, 2), "endorsements": (),
      "permit_number": make_permit_number("411202", 2027, 42), "guardian": GUARDIAN},
     (FieldProblem("birth_date", "2027-01-01 is in the future"),
      FieldProblem("issue_date", "2027-01-02 is in the future"))),
    ({"valid_until": date(2025, 3, 1)}, one("valid_until", "2025-03-01 is not after the issue date 2025-03-01")),
    # GB/T 2260 authority codes of the city.
    ({"authority": Authority("410105", "郑州市公安局金水分局"),
      "permit_number": make_permit_number("410105", 2025, 42)},
     one("authority.code", "410105 is not an issuing authority of 三门峡市 (GB/T 2260 county codes in layout smx)")),
    ({"authority": Authority("411202", "湖滨分局")},
     one("authority.name", "'湖滨分局' is not the name of authority 411202 ('三门峡市公安局湖滨分局')")),
    # Permit number with its own check character, matching authority and year.
    ({"permit_number": make_permit_number("411202", 2025, 42)[:-1] + "7"},
     one("permit_number", "check character must be 'X' (ISO 7064 MOD 11-2), got '7'")),
    ({"permit_number": make_permit_number("411203", 2025, 42)},
     one("permit_number", "authority part 411203 differs from the issuing authority 411202")),
    # The year part is the acceptance year: never after the issue year (a number of 2024 issued in 2025 is
    # an application accepted in December and issued in January, cardsvc.permit.permit_number).
    ({"permit_number": make_permit_number("411202", 2026, 42)},
     one("permit_number", "year part 2026 is after the issue year 2025")),
    ({"card_number": make_card_number("4101", 42, 8)},
     one("card_number", "must start with the layout prefix '4112'")),
    # Lengths that fit the layout, text the charset can carry, the middle dot.
    ({"name": "买" * 25}, one("name", "50 bytes exceed the layout's limit of 48")),
    ({"name": "买买提•艾力"}, one("name", "uses BULLET U+2022 as a separator; minority names use MIDDLE DOT U+00B7")),
    ({"name": "买买提・艾力"},
     one("name", "uses KATAKANA MIDDLE DOT U+30FB as a separator; minority names use MIDDLE DOT U+00B7")),
    ({"name": "·艾力"}, one("name", "a middle dot must stand between two name parts")),
    ({"name": " 王伟"}, one("name", "has leading or trailing spaces")),
    ({"name": "王\u0007伟"}, one("name", "control character U+0007 is not allowed in text")),
    ({"residence_address": ""}, one("residence_address", "must not be empty")),
    # Optional ZZ Art.33 fields.
    ({"marital_status": "11"}, one("marital_status", "'11' is not a GB/T 2261.2 marital status code")),
    ({"residence_reason": "07"}, one("residence_reason", "'07' is not a reason code (01, 02, 03, 04, 05, 06, 99)")),
    ({"contact": "12345"}, one("contact", "'12345' is not a mobile (11 digits) or fixed-line number")),
    ({"contact": "1380000000０"}, one("contact", "character '０' is not printable ASCII")),
    # Photo: a real JPEG within the layout's byte and pixel limits.
    ({"photo": b"\xff\xd8not a jpeg\xff\xd9"},
     one("photo", "is not a readable image (UnidentifiedImageError)")),
    ({"photo": PNG_MAGIC}, one("photo", "JPEG must start with SOI marker FFD8")),
    ({"photo": jpeg(481, 100)}, one("photo", "481x100 pixels exceed the layout's 480x640")),
    ({"photo": b"\xff\xd8" + bytes(32000) + b"\xff\xd9"},
     one("photo", "32004 bytes exceed the layout's limit of 32000")),
    # Guardian or agent (SMX Art.10 "可以由其监护人、近亲属代为申领": optional; issue 12 changed this rule,
    # a minor without a guardian and an adult's agent are valid, see test_guardian_optional_agent_recordable).
    ({"guardian": Guardian(GUARDIAN.citizen_id, "王芳\u2022")},
     one("guardian.name", "uses BULLET U+2022 as a separator; minority names use MIDDLE DOT U+00B7")),
    ({"birth_date": MINOR_BORN, "citizen_id": MINOR_CID, "sex": Sex.FEMALE, "marital_status": None,
      "guardian": Guardian(MINOR_CID, "王芳")}, one("guardian.citizen_id", "is the holder's own citizen ID")),
    ({"birth_date": MINOR_BORN, "citizen_id": MINOR_CID, "sex": Sex.FEMALE, "marital_status": None,
      "guardian": Guardian(make_citizen_id("411202", date(2010, 1, 1), 31), "王芳")},
     one("guardian.citizen_id", "guardian or agent is under 18 at the issue date")),
    ({"birth_date": MINOR_BORN, "citizen_id": MINOR_CID, "sex": Sex.FEMALE, "marital_status": None,
      "guardian": Guardian(GUARDIAN.citizen_id[:-1], "王芳")},
     one("guardian.citizen_id", "must be 18 characters (GB 11643), got 17")),
    # Endorsements.
    ({"endorsements": (Endorsement(date(2025, 2, 1), "三门峡市湖滨区崤山路8号", date(2026, 3, 1), HUBIN),)},
     one("endorsements[0].date", "2025-02-01 is before issue (2025-03-01)")),
    ({"endorsements": (Endorsement(date(2026, 2, 10), "三门峡市湖滨区崤山路8号", date(2026, 2, 10), HUBIN),)},
     one("endorsements[0].valid_until", "2026-02-10 is not after the endorsement date 2026-02-10")),
    ({"endorsements": (Endorsement(date(2026, 2, 10), "地址" * 30, date(2027, 3, 1), HUBIN),)},
     one("endorsements[0].residence_address", "120 bytes exceed the layout's limit of 96")),
    ({"endorsements": (Endorsement(date(2026, 2, 10), "三门峡市", date(2027, 3, 1),
                                   Authority("410105", "郑州市公安局金水分局")),)},
     one("endorsements[0].authority.code", "410105 is not an authority of layout smx")),
    ({"endorsements": (Endorsement(date(2026, 7, 10), "三门峡市", date(2027, 3, 1), HUBIN),)},
     one("endorsements[0].date", "2026-07-10 is in the future")),
    # Department application data.
    ({"applications": (DepartmentData("bank", (("x", "1"),)),)},
     one("applications.bank", "layout smx has no such department")),
    ({"applications": (DepartmentData("education", (("grade", "1"),)),)},
     one("applications.education.grade", "department education declares no item 'grade'")),
    ({"applications": (DepartmentData("education", (("enrolment_year", "24"),)),)},
     one("applications.education.enrolment_year", "must be exactly 4 digits, got '24'")),
])
def test_rule(changes: dict[str, object], expected: tuple[FieldProblem, ...]) -> None:
    assert problems(base(**changes)) == expected


@pytest.mark.parametrize(("year", "issued", "ok"), [
    (2025, date(2025, 12, 31), True),  # accepted and issued in the same year
    (2025, date(2026, 1, 1), True),  # accepted in December, issued on 1 January (SMX Art.12: within 15 days)
    (2026, date(2025, 12, 31), False),  # a number from the year after its issue
])
def test_permit_number_year_is_the_acceptance_year(year: int, issued: date, ok: bool) -> None:
    """The number is allocated at acceptance (SMX Art.11), the issue day is the first card's (SMX Art.14):
    the year part is never after the issue year (cardsvc.permit.permit_number)."""
    permit = base(permit_number=make_permit_number("411202", year, 42), issue_date=issued,
                  valid_until=date(issued.year + 1, issued.month, issued.day), endorsements=())
    if ok:
        validate_permit(permit, SMX, date(2026, 6, 1))
    else:
        with pytest.raises(PermitInvalid) as err:
            validate_permit(permit, SMX, date(2026, 6, 1))
        assert err.value.problems == one("permit_number", f"year part {year} is after the issue year {issued.year}")


def test_rare_characters_need_a_charset_that_has_them() -> None:
    name = "王𠈌"  # CJK Extension B: in GB 18030 and UTF-8, not in GBK
    validate_permit(base(name=name), SMX, TODAY)
    gbk = parse_layout(SMX_TEXT.replace('charset = "gb18030"', 'charset = "gbk"'))
    assert problems(base(name=name), gbk) == one("name", "character '𠈌' (U+2020C) cannot be encoded in gbk")


def test_field_the_layout_does_not_carry() -> None:
    ly = parse_layout(LY_TEXT)
    assert problems(base(), ly)[0] == FieldProblem("service_place", "layout ly has no place for this field")


def test_all_problems_are_reported_together() -> None:
    found = problems(base(ethnicity="00", contact="x", marital_status="99"))
    assert [p.field for p in found] == ["ethnicity", "marital_status", "contact"]


def test_zz_permit_is_valid_under_zz_rules() -> None:
    zz_auth = Authority("410105", "郑州市公安局金水分局")
    permit = base(authority=zz_auth, permit_number=make_permit_number("410105", 2025, 1),
                  card_number=make_card_number("4101", 1, 10), endorsements=(),
                  applications=(DepartmentData("public_security", (("police_station", "金水路派出所"),)),))
    validate_permit(permit, ZZ, TODAY)


ROOT = Path(__file__).resolve().parents[2]
SMX_TEXT = (ROOT / "layouts" / "sanmenxia.toml").read_text(encoding="utf-8")
LY_TEXT = (ROOT / "tests" / "fixtures" / "layouts" / "luoyang.toml").read_text(encoding="utf-8")


def test_reprs_hide_personal_data() -> None:
    permit = base(guardian=GUARDIAN)
    text = repr(permit) + repr(permit.guardian) + repr(permit.endorsements) + repr(permit.applications)
    for secret in (permit.name, permit.citizen_id, GUARDIAN.citizen_id, "崤山路", "三门峡一中"):
        assert secret not in text
    assert permit.permit_number in text


def test_guardian_optional_agent_recordable() -> None:
    """SMX Art.10: "未满16周岁的未成年人和行动不便的老年人、残疾人等，可以由其监护人、近亲属代为申领居住证" —
    可以 (may): a minor may apply without a guardian; an adult's agent may be recorded."""
    minor = base(birth_date=MINOR_BORN, citizen_id=MINOR_CID, sex=Sex.FEMALE, marital_status=None)
    validate_permit(minor, SMX, TODAY)
    validate_permit(replace(minor, guardian=GUARDIAN), SMX, TODAY)
    validate_permit(base(guardian=GUARDIAN), SMX, TODAY)  # agent of an adult
