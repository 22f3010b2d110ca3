"""Validation of a permit against a city layout: every rule names the field and the reason.

`validate_permit` collects every broken rule into one PermitInvalid; rules that depend on a field that
is already broken (e.g. birth date vs. an unreadable citizen ID) are skipped rather than repeated.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from PIL import Image, UnidentifiedImageError

from cardsvc.errors import FieldError, FieldProblem
from cardsvc.layout.codec import endorsement_values, fields_codec, permit_values
from cardsvc.layout.errors import FieldValueError
from cardsvc.layout.schema import Content, FieldDecl, Layout
from cardsvc.permit.citizen_id import CitizenId, parse_citizen_id
from cardsvc.permit.errors import PermitInvalid
from cardsvc.permit.gb import ETHNICITIES, MARITAL_STATUS, RESIDENCE_REASONS, Sex
from cardsvc.permit.model import Permit
from cardsvc.permit.permit_number import check_card_number, make_card_number, parse_permit_number
from cardsvc.permit.record import PermitRecord, PermitRecordError, dump_permit, load_permit

MIDDLE_DOT = "\u00b7"  # the separator of minority names (e.g. 买买提·艾力)
_DOT_LOOKALIKES = {"\u2022": "BULLET", "\u30fb": "KATAKANA MIDDLE DOT", "\uff0e": "FULLWIDTH FULL STOP",
                   "\u2027": "HYPHENATION POINT", "\uff65": "HALFWIDTH KATAKANA MIDDLE DOT",
                   "\u22c5": "DOT OPERATOR", "\u0387": "GREEK ANO TELEIA", ".": "FULL STOP"}
_PHONE = re.compile(r"^(1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-?[0-9]{7,8})$")  # mobile or area code + number
ADULT_AGE = 18


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def validate_permit(permit: Permit, layout: Layout, today: date, *, card_allocated: bool = True) -> None:
    """Raise PermitInvalid listing every problem; return None when the permit is valid for `layout`.

    `card_allocated=False` at application intake: the card number is allocated when the job starts, so
    an empty one is expected then (every other rule applies at every door)."""
    problems = _Problems()
    if not card_allocated:
        if permit.card_number:
            problems.add("card_number", "is allocated when the issuance job starts, not at intake")
        permit = replace(permit, card_number=_placeholder_card_number(layout))
    _check_encodable(permit, layout, problems)
    _check_capacity(permit, layout, problems)
    cid = _citizen_id(permit.citizen_id, "citizen_id", problems)
    _check_person(permit, cid, today, problems)
    _check_issue(permit, layout, today, problems)
    _check_optional(permit, problems)
    _check_guardian(permit, layout, cid, problems)
    _check_photo(permit, layout, problems)
    _check_endorsements(permit, layout, today, problems)
    if problems.items:
        raise PermitInvalid(tuple(problems.items))


class _Problems:
    def __init__(self) -> None:
        self.items: list[FieldProblem] = []
        self._fields: set[str] = set()

    def add(self, field: str, reason: str) -> None:
        if field not in self._fields:  # one problem per field: the first is the one to fix
            self._fields.add(field)
            self.items.append(FieldProblem(field, reason))

    def has(self, field: str) -> bool:
        return field in self._fields


def _citizen_id(text: str, field: str, problems: _Problems) -> CitizenId | None:
    try:
        return parse_citizen_id(text, field)
    except FieldError as exc:
        problems.add(exc.field, exc.reason)
        return None


def _check_text(field: str, text: str, problems: _Problems, *, name: bool = False) -> None:
    if not text.strip():
        problems.add(field, "must not be empty")
    elif text != text.strip():
        problems.add(field, "has leading or trailing spaces")
    for ch, label in _DOT_LOOKALIKES.items():
        if name and ch in text:
            problems.add(field, f"uses {label} U+{ord(ch):04X} as a separator; minority names use "
                                f"MIDDLE DOT U+00B7")
    if name and MIDDLE_DOT in text and (text.startswith(MIDDLE_DOT) or text.endswith(MIDDLE_DOT)
                                        or MIDDLE_DOT * 2 in text):
        problems.add(field, "a middle dot must stand between two name parts")


def _check_encodable(permit: Permit, layout: Layout, problems: _Problems) -> None:
    """Every value through every placement's field codec: charset, digits, lengths that fit the layout."""
    try:
        values = permit_values(permit, layout)
    except FieldValueError as exc:
        problems.add(exc.field, exc.reason)
        return
    for field, placements in layout.permit_fields().items():
        value = values.get(field)
        if value is None or field.startswith("layout."):
            continue
        for ef, decl in placements:
            _encode_one(layout, ef.name, decl, value, field, problems)
    for text_field in ("name", "household_address", "residence_address", "authority.name"):
        value = values[text_field]
        assert isinstance(value, str)
        _check_text(text_field, value, problems, name=text_field == "name")
    for opt in ("service_place",):
        opt_value = values.get(opt)
        if isinstance(opt_value, str):
            _check_text(opt, opt_value, problems)
    depts = {df.department: df.name for df in layout.dfs if df.department}
    for app in permit.applications:
        ef_name = next((ef.name for ef in layout.department_efs() if ef.parent == depts.get(app.department)),
                       None)
        if ef_name is None:
            problems.add(f"applications.{app.department}", f"layout {layout.id} has no such department")
            continue
        decls = {f.field: f for f in layout.ef(ef_name).fields}
        for item, item_value in app.items:
            path = f"applications.{app.department}.{item}"
            if item not in decls:
                problems.add(path, f"department {app.department} declares no item {item!r}")
            else:
                _encode_one(layout, ef_name, decls[item], item_value, path, problems)


def _encode_one(layout: Layout, ef_name: str, decl: FieldDecl, value: object, field: str,
                problems: _Problems) -> None:
    codec = next(c for c in fields_codec(layout, ef_name).codecs if c.decl is decl)
    try:
        codec.encode(value)  # type: ignore[arg-type]
    except FieldValueError as exc:
        problems.add(field, exc.reason)


def _check_person(permit: Permit, cid: CitizenId | None, today: date, problems: _Problems) -> None:
    if permit.birth_date > today:
        problems.add("birth_date", f"{permit.birth_date} is in the future")
    if permit.ethnicity not in ETHNICITIES:
        problems.add("ethnicity", f"{permit.ethnicity!r} is not a GB/T 3304 ethnicity code")
    if permit.sex not in (Sex.MALE, Sex.FEMALE):
        problems.add("sex", f"{int(permit.sex)} ({permit.sex.label}) cannot be printed on a permit; "
                            f"GB 11643 numbers carry male or female")
    if cid is None:
        return
    if cid.birth_date != permit.birth_date:
        problems.add("birth_date", f"{permit.birth_date} disagrees with the citizen ID ({cid.birth_date})")
    if not problems.has("sex") and cid.sex != permit.sex:
        problems.add("sex", f"{permit.sex.label} disagrees with the citizen ID ({cid.sex.label})")


def _check_issue(permit: Permit, layout: Layout, today: date, problems: _Problems) -> None:
    auth = permit.authority
    known = layout.authority_name(auth.code)
    if known is None:
        problems.add("authority.code", f"{auth.code} is not an issuing authority of {layout.layout.city} "
                                       f"(GB/T 2260 county codes in layout {layout.id})")
    elif known != auth.name:
        problems.add("authority.name", f"{auth.name!r} is not the name of authority {auth.code} ({known!r})")
    if permit.issue_date > today:
        problems.add("issue_date", f"{permit.issue_date} is in the future")
    if permit.issue_date < permit.birth_date:
        problems.add("issue_date", f"{permit.issue_date} is before the birth date")
    if permit.valid_until <= permit.issue_date:
        problems.add("valid_until", f"{permit.valid_until} is not after the issue date {permit.issue_date}")
    try:
        number = parse_permit_number(permit.permit_number)
    except FieldError as exc:
        problems.add(exc.field, exc.reason)
    else:
        if number.authority_code != auth.code:
            problems.add("permit_number", f"authority part {number.authority_code} differs from the "
                                          f"issuing authority {auth.code}")
        elif number.year > permit.issue_date.year:  # allocated at acceptance, on or before the issue day
            problems.add("permit_number", f"year part {number.year} is after the issue year "
                                          f"{permit.issue_date.year}")
    try:
        check_card_number(permit.card_number, layout.card_number.prefix, layout.card_number.serial_digits)
    except FieldError as exc:
        problems.add(exc.field, exc.reason)


def _check_optional(permit: Permit, problems: _Problems) -> None:
    if permit.marital_status is not None and permit.marital_status not in MARITAL_STATUS:
        problems.add("marital_status", f"{permit.marital_status!r} is not a GB/T 2261.2 marital status code")
    if permit.residence_reason is not None and permit.residence_reason not in RESIDENCE_REASONS:
        problems.add("residence_reason", f"{permit.residence_reason!r} is not a reason code "
                                         f"({', '.join(RESIDENCE_REASONS)})")
    if permit.contact is not None and not _PHONE.match(permit.contact):
        problems.add("contact", f"{permit.contact!r} is not a mobile (11 digits) or fixed-line number")


def _check_guardian(permit: Permit, layout: Layout, cid: CitizenId | None, problems: _Problems) -> None:
    """SMX Art.10: "未满16周岁的未成年人和行动不便的老年人、残疾人等，**可以**由其监护人、近亲属代为申领" —
    a guardian (under-16s) or agent (elderly, disabled adults) is optional and may be recorded for either;
    the person recorded must be an adult with a valid citizen ID ("提供委托人、代办人的合法有效身份证件").
    ZZ states no guardian rule (ZZ Art.10: under-16s "可以自愿申领"). Shown in the registry, never on the card."""
    guardian = permit.guardian
    if guardian is None:
        return
    gid = _citizen_id(guardian.citizen_id, "guardian.citizen_id", problems)
    _check_text("guardian.name", guardian.name, problems, name=True)
    if gid is None:
        return
    if cid is not None and gid.number == cid.number:
        problems.add("guardian.citizen_id", "is the holder's own citizen ID")
    elif age_on(gid.birth_date, permit.issue_date) < ADULT_AGE:
        problems.add("guardian.citizen_id", f"guardian or agent is under {ADULT_AGE} at the issue date")


def _photo_decl(layout: Layout) -> FieldDecl:
    return layout.permit_fields()["photo"][0][1]


def _check_photo(permit: Permit, layout: Layout, problems: _Problems) -> None:
    decl = _photo_decl(layout)
    if problems.has("photo"):
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(permit.photo)) as img:
                fmt, (width, height) = img.format, img.size
                img.load()  # decode fully: a truncated or corrupt JPEG fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        problems.add("photo", f"is not a readable image ({type(exc).__name__})")
        return
    if fmt != "JPEG":
        problems.add("photo", f"must be JPEG, got {fmt}")
    elif (decl.max_width and width > decl.max_width) or (decl.max_height and height > decl.max_height):
        problems.add("photo", f"{width}x{height} pixels exceed the layout's {decl.max_width}x{decl.max_height}")


def _check_endorsements(permit: Permit, layout: Layout, today: date, problems: _Problems) -> None:
    ef = next((e for e in layout.efs if e.content is Content.ENDORSEMENTS), None)
    if ef is None:
        if permit.endorsements:
            problems.add("endorsements", f"layout {layout.id} has no endorsement EF")
        return
    assert ef.records is not None
    if len(permit.endorsements) > ef.records:
        problems.add("endorsements", f"{len(permit.endorsements)} endorsements exceed the {ef.records} records")
    codec = fields_codec(layout, ef.name)
    previous = permit.issue_date
    for i, e in enumerate(permit.endorsements):
        path = f"endorsements[{i}]"
        for c in codec.codecs:
            value = endorsement_values(e)[c.decl.field]
            if value is not None:
                try:
                    c.encode(value)
                except FieldValueError as exc:
                    problems.add(f"{path}.{c.decl.field}", exc.reason)
        if e.date < previous:
            problems.add(f"{path}.date", f"{e.date} is before {'the previous endorsement' if i else 'issue'} "
                                         f"({previous})")
        elif e.date > today:
            problems.add(f"{path}.date", f"{e.date} is in the future")
        if e.valid_until <= e.date:
            problems.add(f"{path}.valid_until", f"{e.valid_until} is not after the endorsement date {e.date}")
        known = layout.authority_name(e.authority.code)
        if known is None:
            problems.add(f"{path}.authority.code", f"{e.authority.code} is not an authority of layout {layout.id}")
        elif known != e.authority.name:
            problems.add(f"{path}.authority.name", f"{e.authority.name!r} is not the name of {e.authority.code}")
        _check_text(f"{path}.residence_address", e.residence_address, problems)
        previous = e.date


def _placeholder_card_number(layout: Layout) -> str:
    """A well-formed card number standing in for the one allocated later, so the encodability and
    capacity checks run over every other field at intake."""
    return make_card_number(layout.card_number.prefix, 0, layout.card_number.serial_digits)


def _endorsement_decls(layout: Layout, content: Content = Content.ENDORSEMENTS
                       ) -> tuple[str, dict[str, FieldDecl]] | None:
    ef = next((e for e in layout.efs if e.content is content), None)
    return None if ef is None else (ef.name, {f.field: f for f in ef.fields})


def _check_capacity(permit: Permit, layout: Layout, problems: _Problems) -> None:
    """Issue 12 capacity: a value that is written again later (the residence address in every endorsement
    record, SMX Art.16-17 / ZZ Art.13-14) must fit that record too, or the registry would commit an
    endorsement the card cannot hold."""
    for content in (Content.ENDORSEMENTS, Content.CHANGES):  # ZZ Art.14: a change record writes it too
        decls = _endorsement_decls(layout, content)
        if decls is None:
            continue
        ef_name, fields = decls
        for field in ("residence_address", "service_place"):
            value = getattr(permit, field)
            if value is None or field not in fields or problems.has(field):
                continue
            before = len(problems.items)
            _encode_one(layout, ef_name, fields[field], value, field, problems)
            if len(problems.items) > before:  # say why a value the permit file takes is refused
                last = problems.items[-1]
                problems.items[-1] = FieldProblem(field, f"{last.reason} in the record {ef_name}, where later "
                                                         "endorsements or changes write it")


def validate_endorsement_data(layout: Layout, data: Mapping[str, Any], *, prefix: str = "",
                              content: Content = Content.ENDORSEMENTS) -> None:
    """Data an endorsement or address change writes to the card (SMX Art.16-17, ZZ Art.13-14), or with
    `content` CHANGES a change registration (ZZ Art.14, the service place): each value through the record's
    codec, plus the text rules; PermitInvalid names the field."""
    problems = _Problems()
    decls = _endorsement_decls(layout, content)
    if decls is None:
        if content is Content.ENDORSEMENTS:
            problems.add(f"{prefix}endorsement", f"layout {layout.id} has no endorsement EF")
        else:  # e.g. SMX: its card holds no service place (SMX Art.14)
            problems.add(f"{prefix}{next(iter(data), 'service_place')}",
                         f"layout {layout.id} has no change-registration EF for it")
        raise PermitInvalid(tuple(problems.items))
    ef_name, fields = decls
    for key, value in data.items():
        field = f"{prefix}{key}"
        if key not in fields:
            problems.add(field, f"is not a field of the endorsement record {ef_name} (layout {layout.id})")
        elif not isinstance(value, str):
            problems.add(field, f"must be text, got {type(value).__name__}")
        else:
            _check_text(field, value, problems)
            if not problems.has(field):
                _encode_one(layout, ef_name, fields[key], value, field, problems)
    if problems.items:
        raise PermitInvalid(tuple(problems.items))


# ZZ Art.27 "持证人发现本人的信息不真实、不准确的，可以提供证明材料向公安机关申请变更、更正": the holder's
# own information. Issue data (numbers, authority, dates), endorsements and department data are not
# corrected this way: they are the authorities' records.
CORRECTABLE = frozenset({"name", "sex", "ethnicity", "birth_date", "citizen_id", "photo", "household_address",
                         "residence_address", "service_place", "marital_status", "residence_reason", "contact",
                         "guardian"})


def apply_correction(permit: Permit, changes: Mapping[str, Any], layout: Layout, today: date) -> Permit:
    """The permit with `changes` (stored-record JSON values) applied, validated as a whole (ZZ Art.27).

    Unknown or non-correctable field names and invalid values raise (FieldError / PermitInvalid naming
    the field); nothing is returned for the caller to write unless the corrected permit validates."""
    if not changes:
        raise FieldError("changes", "nothing to correct")
    for key in changes:
        if key not in CORRECTABLE:
            known = key in PermitRecord.model_fields
            raise FieldError(f"changes.{key}", "is issue data, not corrected on request (ZZ Art.27)" if known
                             else f"is not a field of the permit record; correctable: {', '.join(sorted(CORRECTABLE))}")
    try:
        corrected = load_permit({**dump_permit(permit), **changes})
    except PermitRecordError as exc:
        raise FieldError(f"changes.{exc.field}", exc.reason) from None
    try:
        # The stored record may not name a card (its cards are the registry's Card rows).
        validate_permit(corrected, layout, today, card_allocated=bool(corrected.card_number))
    except PermitInvalid as exc:
        raise PermitInvalid(tuple(FieldProblem(f"changes.{p.field}" if p.field.split(".")[0] in changes
                                               else p.field, p.reason) for p in exc.problems)) from None
    return corrected
