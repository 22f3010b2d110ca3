"""Realistic, valid synthetic permits for any layout (tests, demo, benchmarks). No real person's data.

Names include rare characters (CJK Extension A/B) and minority names with the middle dot; citizen ID
numbers use real GB/T 2260 county codes and valid check characters; the photo is a JPEG drawn at run time.
Everything comes from the `random.Random` passed in, so a seed reproduces a permit exactly.
"""

from __future__ import annotations

import io
import random
from datetime import date, timedelta

from PIL import Image, ImageDraw

from cardsvc.layout.schema import Content, EfDecl, Layout
from cardsvc.layout.vocabulary import Encoding
from cardsvc.permit.citizen_id import make_citizen_id
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Authority, DepartmentData, Endorsement, Guardian, Permit
from cardsvc.permit.permit_number import make_card_number, make_permit_number
from cardsvc.permit.validate import age_on

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方")
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉文斌鹏宇浩然思雨欣怡子涵"
_RARE = ("𠈌", "䶮", "𡒄", "堃", "喆", "赟", "昇", "𪚥", "犇", "淼")  # Ext B, Ext A and rarely used ones
# (name, ethnicity code GB/T 3304): minority names, some with the middle dot U+00B7.
_MINORITY = (("买买提·艾力", "05"), ("阿依古丽·吐尔逊", "05"), ("艾合买提·买买提", "05"),
             ("努尔兰·哈森", "17"), ("扎西多吉", "04"), ("巴特尔", "02"), ("乌力吉", "02"),
             ("阿卜杜拉·艾山", "05"), ("其米格", "04"))
# Real GB/T 2260 county-level codes outside the two cities, for household registration.
_HOMETOWNS = (("110105", "北京市朝阳区"), ("310104", "上海市徐汇区"), ("410302", "河南省洛阳市老城区"),
              ("411502", "河南省信阳市浉河区"), ("411102", "河南省漯河市源汇区"), ("650102", "新疆乌鲁木齐市天山区"),
              ("653101", "新疆喀什市"), ("540102", "西藏拉萨市城关区"), ("150102", "内蒙古呼和浩特市新城区"),
              ("640104", "宁夏银川市兴庆区"), ("420102", "湖北省武汉市江岸区"), ("610113", "陕西省西安市雁塔区"))
_STREETS = ("人民路", "建设路", "解放路", "文化路", "黄河路", "崤山路", "大学路", "𠈌园街", "和平街", "陕州大道")
_EMPLOYERS = ("河南某某物流有限公司", "三门峡市第一人民医院", "郑州某科技股份有限公司", "个体工商户", "市第二中学")
_ETHNIC_FOR_HAN_NAMES = ("01", "01", "01", "01", "03", "11", "08")


def synthetic_photo(rng: random.Random, width: int = 240, height: int = 320, quality: int = 80,
                    detail: int = 12) -> bytes:
    """A JPEG portrait-like picture; more `detail` (shapes and noise) gives bigger files (15 KB ≈ 60)."""
    bg = tuple(rng.randrange(160, 256) for _ in range(3))
    img = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(img)
    skin = (rng.randrange(200, 240), rng.randrange(160, 200), rng.randrange(130, 170))
    draw.ellipse((width * 0.25, height * 0.15, width * 0.75, height * 0.6), fill=skin)
    draw.rectangle((width * 0.15, height * 0.62, width * 0.85, height), fill=(rng.randrange(0, 90),) * 3)
    for _ in range(detail):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(2, max(3, width // 10))
        color = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), outline=color)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def photo_of_size(rng: random.Random, target_bytes: int) -> bytes:
    """A synthetic photo close to (not above) `target_bytes`, e.g. 15 KB for the benchmarks."""
    low, high, best = 0, 400, synthetic_photo(random.Random(rng.random()), detail=0)
    seed = rng.random()
    while low <= high:
        mid = (low + high) // 2
        photo = synthetic_photo(random.Random(seed), detail=mid, quality=90)
        if len(photo) <= target_bytes:
            best, low = photo, mid + 1
        else:
            high = mid - 1
    return best


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def _name(rng: random.Random, charset: str) -> tuple[str, str]:
    if rng.random() < 0.2:
        name, ethnicity = rng.choice(_MINORITY)
        return name, ethnicity
    surname = rng.choice(_COMPOUND_SURNAMES) if rng.random() < 0.05 else rng.choice(_SURNAMES)
    given = "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
    if rng.random() < 0.25:
        rare = rng.choice(_RARE)
        if _encodable(rare, charset):
            given = given[:-1] + rare if len(given) > 1 else given + rare
    return surname + given, rng.choice(_ETHNIC_FOR_HAN_NAMES)


def _address(rng: random.Random, prefix: str, charset: str) -> str:
    street = rng.choice(_STREETS)
    if not _encodable(street, charset):
        street = "人民路"
    return f"{prefix}{street}{rng.randint(1, 299)}号"


def _department_items(rng: random.Random, ef: EfDecl, charset: str) -> tuple[tuple[str, str], ...]:
    items = []
    for f in ef.fields:
        if rng.random() < 0.3:
            continue
        if f.encoding is Encoding.NUMERIC:
            assert f.digits is not None
            value = "".join(rng.choice("0123456789") for _ in range(f.digits))
        elif f.encoding is Encoding.ASCII:
            assert f.max_length is not None
            value = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-")
                            for _ in range(rng.randint(1, min(f.max_length, 16))))
        else:
            value = rng.choice(_EMPLOYERS)
        items.append((f.field, value))
    return tuple(items)


def generate_permit(layout: Layout, rng: random.Random, *, today: date, photo: bytes | None = None,
                    minor: bool | None = None, max_endorsements: int = 3) -> Permit:
    """A permit that passes cardsvc.permit.validate.validate_permit(permit, layout, today)."""
    charset = layout.layout.charset
    placed = layout.permit_fields()
    is_minor = rng.random() < 0.1 if minor is None else minor
    name, ethnicity = _name(rng, charset)
    if not _encodable(name, charset):
        name, ethnicity = "王" + rng.choice(_GIVEN), "01"
    issue = today - timedelta(days=rng.randint(0, 3 * 365))
    if is_minor:
        born = issue - timedelta(days=rng.randint(365, 15 * 365))
    else:
        born = issue - timedelta(days=rng.randint(17 * 365, 70 * 365))
    hometown_code, hometown = rng.choice(_HOMETOWNS)
    seq = rng.randint(1, 999)
    citizen_id = make_citizen_id(hometown_code, born, seq)
    sex = 1 if seq % 2 else 2
    authority = rng.choice(layout.authorities)
    auth = Authority(authority.code, authority.name)
    residence = _address(rng, layout.layout.city, charset)
    guardian = None
    if is_minor or age_on(born, issue) < layout.rules.guardian_age:  # SMX Art.10: a guardian applies (optional)
        g_born = born - timedelta(days=rng.randint(20 * 365, 40 * 365))
        guardian = Guardian(make_citizen_id(hometown_code, g_born, rng.randint(1, 999)), _name(rng, charset)[0])
    endorse_ef = next((ef for ef in layout.efs if ef.content is Content.ENDORSEMENTS), None)
    signed = endorse_ef is not None and any(f.field == "signature" for f in endorse_ef.fields)
    initial_residence = residence
    endorsements: list[Endorsement] = []
    anniversary = layout.rules.validity.add_to(issue)
    while endorse_ef is not None and len(endorsements) < max_endorsements:
        day = anniversary - timedelta(days=rng.randint(0, 20))
        if day > today:
            break
        if rng.random() < 0.3:
            residence = _address(rng, layout.layout.city, charset)  # moved within the city (SMX Art.17)
        e_auth = rng.choice(layout.authorities)
        signature = rng.randbytes(rng.randint(68, 72)) if signed and rng.random() < 0.5 else b""
        endorsements.append(Endorsement(day, residence, layout.rules.validity.add_to(anniversary),
                                        Authority(e_auth.code, e_auth.name), signature))
        anniversary = layout.rules.validity.add_to(anniversary)
    applications: list[DepartmentData] = []
    for ef in layout.efs:
        if ef.content is Content.DEPARTMENT and rng.random() < 0.5:
            items = _department_items(rng, ef, charset)
            if items:
                applications.append(DepartmentData(layout.department_of(ef), items))
    serial_digits = layout.card_number.serial_digits
    return Permit(
        name=name, sex=Sex(sex), ethnicity=ethnicity, birth_date=born,
        citizen_id=citizen_id[:-1] + citizen_id[-1].lower() if rng.random() < 0.05 else citizen_id,
        photo=photo if photo is not None else synthetic_photo(rng, detail=rng.randint(0, 20)),
        household_address=hometown + _address(rng, "", charset)[:6],
        residence_address=initial_residence,
        permit_number=make_permit_number(auth.code, issue.year, rng.randint(1, 999_999)),
        authority=auth, issue_date=issue, valid_until=layout.rules.validity.add_to(issue),
        card_number=make_card_number(layout.card_number.prefix, rng.randrange(10**serial_digits), serial_digits),
        service_place=rng.choice(_EMPLOYERS) if "service_place" in placed and rng.random() < 0.8 else None,
        marital_status=rng.choice(("10", "20", "22", "40")) if "marital_status" in placed and not is_minor else None,
        residence_reason=rng.choice(("01", "02", "03", "04")) if "residence_reason" in placed else None,
        contact=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}" if "contact" in placed else None,
        guardian=guardian, endorsements=tuple(endorsements), applications=tuple(applications),
    )
