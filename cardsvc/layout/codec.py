"""Permit + layout → card image, and card image + layout → permit.

The mapping between the permit model and the layout's field names lives here; the bytes are made by
the compiled EF codecs (efcodec.py). Same permit, same layout → same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from cardsvc.iso7816.fcp import Fcp, FileStructure, LifeCycle
from cardsvc.layout.access import security_attributes
from cardsvc.layout.efcodec import (
    Decoded,
    FieldsCodec,
    UnknownTag,
    decode_dir_record,
    encode_dir_record,
)
from cardsvc.layout.errors import FieldValueError, ImageDecodeError
from cardsvc.layout.fields import Value
from cardsvc.layout.image import CardFile, CardImage
from cardsvc.layout.schema import Content, DfDecl, EfDecl, Layout, Structure
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Authority, Change, DepartmentData, Endorsement, Permit

log = logging.getLogger(__name__)  # sizes and layout ids only: never field values (design §7)

_STRUCTURE = {
    Structure.TRANSPARENT: FileStructure.TRANSPARENT,
    Structure.LINEAR_FIXED: FileStructure.LINEAR_FIXED,
    Structure.LINEAR_VARIABLE: FileStructure.LINEAR_VARIABLE,
    Structure.CYCLIC: FileStructure.CYCLIC,
}


@dataclass(frozen=True, slots=True)
class DecodedPermit:
    permit: Permit
    unknown_tags: tuple[UnknownTag, ...]  # data objects of a newer layout version, kept and reported
    card_layout_version: int | None  # as written in EF.CARD, when the layout places it


def fields_codec(layout: Layout, ef_name: str) -> FieldsCodec:
    """The compiled codec of one EF, compiled once per layout object."""
    cache = layout.compiled_cache()
    codec = cache.get(ef_name)
    if not isinstance(codec, FieldsCodec):
        codec = cache[ef_name] = FieldsCodec(layout.ef(ef_name), layout.layout.charset)
    return codec


# ---------------------------------------------------------------- permit <-> field values

def permit_values(permit: Permit, layout: Layout) -> dict[str, Value | None]:
    """The permit as layout field names → values (None = absent)."""
    # The guardian or agent (SMX Art.10) is registry-only, never on the card (issue 12): not a card value.
    values: dict[str, Value | None] = {
        "name": permit.name, "sex": str(int(permit.sex)), "ethnicity": permit.ethnicity,
        "birth_date": permit.birth_date, "citizen_id": permit.citizen_id, "photo": permit.photo,
        "household_address": permit.household_address, "residence_address": permit.residence_address,
        "permit_number": permit.permit_number, "authority.code": permit.authority.code,
        "authority.name": permit.authority.name, "issue_date": permit.issue_date,
        "valid_until": permit.valid_until, "card_number": permit.card_number,
        "service_place": permit.service_place, "marital_status": permit.marital_status,
        "residence_reason": permit.residence_reason, "contact": permit.contact,
        "layout.id": layout.id, "layout.version": None,
    }
    placed = layout.permit_fields()
    if "layout.version" in placed:
        decl = placed["layout.version"][0][1]
        width = decl.digits or decl.max_length or 1
        values["layout.version"] = f"{layout.version:0{width}d}"
    for name, value in values.items():
        if value is not None and name not in placed and not name.startswith("layout."):
            raise FieldValueError(name, f"layout {layout.id} has no place for this field")
    return values


def endorsement_values(e: Endorsement) -> dict[str, Value | None]:
    return {"date": e.date, "residence_address": e.residence_address, "valid_until": e.valid_until,
            "authority.code": e.authority.code, "authority.name": e.authority.name,
            "signature": e.signature or None}


def encode_endorsement(e: Endorsement, layout: Layout, *, signed_part: bool = False) -> bytes:
    """The record appended to EF.ENDORSE (padded with '00' in a fixed-length record EF);
    `signed_part` gives the canonical bytes without the signature and padding: what is signed."""
    values = endorsement_values(e)
    if signed_part:
        values["signature"] = None
    ef = _endorse_ef(layout)
    raw = fields_codec(layout, ef.name).encode(values)
    return raw if signed_part else _pad_record(ef, raw)


def decode_endorsement(record: bytes, layout: Layout, number: int | None = None) -> Endorsement:
    ef = _endorse_ef(layout)
    decoded = fields_codec(layout, ef.name).decode(record, number, padded=_fixed_records(ef))
    return _endorsement(decoded, ef.name, number)


# Record type prepended to a change record's bytes when it is signed (not stored): a signature over one
# record type never verifies as the other, whatever file a record is moved to.
CHANGE_SIGNED_PREFIX = bytes.fromhex("DF400143")  # DF40 'C': change registration (ZZ Art.14)


def change_values(c: Change) -> dict[str, Value | None]:
    return {"date": c.date, "changed_on": c.changed_on, "service_place": c.service_place,
            "authority.code": c.authority_code, "signature": c.signature or None}


def changes_ef(layout: Layout) -> EfDecl | None:
    """The layout's change-registration EF (ZZ Art.14), if it declares one."""
    return next((ef for ef in layout.efs if ef.content is Content.CHANGES), None)


def encode_change(c: Change, layout: Layout, *, signed_part: bool = False) -> bytes:
    """The record appended to the changes EF; `signed_part`: the bytes without the signature and padding."""
    ef = changes_ef(layout)
    if ef is None:
        raise FieldValueError("service_place", f"layout {layout.id} has no change-registration EF")
    values = change_values(c)
    if signed_part:
        values["signature"] = None
    raw = fields_codec(layout, ef.name).encode(values)
    return raw if signed_part else _pad_record(ef, raw)


def decode_change(record: bytes, layout: Layout, number: int | None = None) -> Change:
    ef = changes_ef(layout)
    if ef is None:
        raise FieldValueError("service_place", f"layout {layout.id} has no change-registration EF")
    v = fields_codec(layout, ef.name).decode(record, number, padded=_fixed_records(ef)).values
    where = ef.name + (f" record {number}" if number else "")
    sig = v.get("signature", b"")
    return Change(date=_d(_require(v, "date", where, date)), changed_on=_d(_require(v, "changed_on", where, date)),
                  service_place=str(_require(v, "service_place", where, str)),
                  authority_code=str(_require(v, "authority.code", where, str)),
                  signature=sig if isinstance(sig, bytes) else b"")


def _fixed_records(ef: EfDecl) -> bool:
    return ef.structure in (Structure.LINEAR_FIXED, Structure.CYCLIC)


def _pad_record(ef: EfDecl, raw: bytes) -> bytes:
    """Fixed-length records are written whole: pad with '00' (ISO 7816-4 §6.3 allows it between DOs)."""
    assert ef.record_length is not None
    return raw.ljust(ef.record_length, b"\x00") if _fixed_records(ef) else raw


def _endorse_ef(layout: Layout) -> EfDecl:
    for ef in layout.efs:
        if ef.content is Content.ENDORSEMENTS:
            return ef
    raise FieldValueError("endorsements", f"layout {layout.id} has no endorsement EF")


# ---------------------------------------------------------------- encode

def encode_permit(permit: Permit, layout: Layout) -> CardImage:
    """Build the card image. Raises FieldValueError naming the field a value does not fit.

    Validate first (cardsvc.permit.validate) for the full set of rules; this only enforces what the
    bytes need (types, encodings, lengths, counts)."""
    values = permit_values(permit, layout)
    departments = {df.department for df in layout.dfs if df.department}
    for app in permit.applications:
        if app.department not in departments:
            raise FieldValueError(f"applications.{app.department}", f"layout {layout.id} has no such department")
    files: list[CardFile] = []
    for skeleton, ef in _skeleton(layout):
        if ef is None:
            files.append(skeleton)
        else:
            content, records = _ef_body(ef, layout, permit, values)
            files.append(CardFile(skeleton.name, skeleton.path, skeleton.fcp, content, records))
    image = CardImage(layout.id, layout.version, tuple(files))
    log.debug("encoded card image: layout %s v%d, %d files, %d data bytes", layout.id, layout.version,
              len(image), image.data_size)
    return image


def _skeleton(layout: Layout) -> list[tuple[CardFile, EfDecl | None]]:
    """The file tree with FCPs, in creation order (parents first); built once per layout."""
    cache = layout.compiled_cache()
    cached = cache.get("<skeleton>")
    if isinstance(cached, list):
        return cached
    keys = {name: k.ref for name, k in layout.keys.items()}
    tree: list[tuple[CardFile, EfDecl | None]] = []
    for df in [layout.mf, *layout.dfs]:
        path = (layout.mf.fid,) if df is layout.mf else (layout.mf.fid, df.fid)
        tree.append((CardFile(df.name, path, _df_fcp(df, keys)), None))
        for ef in (e for e in layout.efs if e.parent == df.name):
            tree.append((CardFile(ef.name, (*path, ef.fid), _ef_fcp(ef, keys)), ef))
    cache["<skeleton>"] = tree
    return tree


def _df_fcp(df: DfDecl, keys: Mapping[str, int]) -> Fcp:
    return Fcp(df.fid, FileStructure.DF, df_name=df.aid, lifecycle=LifeCycle.ACTIVATED,
               security=security_attributes(df.access, keys, is_df=True))


def _ef_fcp(ef: EfDecl, keys: Mapping[str, int]) -> Fcp:
    return Fcp(ef.fid, _STRUCTURE[ef.structure], size=ef.capacity, record_length=ef.record_length,
               record_count=ef.records, sfi=ef.sfi, lifecycle=LifeCycle.ACTIVATED,
               security=security_attributes(ef.access, keys, is_df=False))


def _ef_body(ef: EfDecl, layout: Layout, permit: Permit,
             values: Mapping[str, Value | None]) -> tuple[bytes | None, tuple[bytes, ...] | None]:
    if ef.content is Content.PERMIT:
        mine = {f.field: values[f.field] for f in ef.fields}
        return _fit(ef, fields_codec(layout, ef.name).encode(mine)), None
    if ef.content is Content.DEPARTMENT:
        app = permit.application(layout.department_of(ef))
        items = dict(app.items) if app else {}
        try:
            return _fit(ef, fields_codec(layout, ef.name).encode(items)), None
        except FieldValueError as exc:
            raise FieldValueError(f"applications.{layout.department_of(ef)}.{exc.field}", exc.reason) from None
    if ef.content is Content.ENDORSEMENTS:
        assert ef.records is not None
        if len(permit.endorsements) > ef.records:
            raise FieldValueError("endorsements", f"{len(permit.endorsements)} endorsements exceed the "
                                  f"{ef.records} records of EF {ef.name}")
        records = tuple(encode_endorsement(e, layout) for e in permit.endorsements)
        return None, records
    if ef.content is Content.DIR:
        apps = [(df.aid, df.label) for df in layout.dfs]
        apps += [(a.aid, a.label) for a in layout.reserved_applications]
        records = tuple(_pad_record(ef, encode_dir_record(aid, label)) for aid, label in apps)
        assert ef.record_length is not None and ef.records is not None
        if len(records) > ef.records or any(len(r) > ef.record_length for r in records):
            raise FieldValueError(ef.name, "application templates do not fit EF.DIR")
        return None, records
    if ef.content is Content.STATIC:
        assert ef.data is not None
        return ef.data, None
    return (None, ()) if ef.structure.is_record else (b"", None)


def _fit(ef: EfDecl, content: bytes) -> bytes:
    if len(content) > ef.capacity:  # unreachable when the schema's fit check holds; kept as a guard
        raise FieldValueError(ef.name, f"{len(content)} bytes exceed the file size {ef.capacity}")
    return content


# ---------------------------------------------------------------- decode

def decode_image(image: CardImage, layout: Layout) -> DecodedPermit:
    if image.layout_id != layout.id:
        raise ImageDecodeError("card", f"image is layout {image.layout_id!r}, not {layout.id!r}", 0)
    contents: dict[str, bytes | Sequence[bytes]] = {}
    for ef in layout.efs:
        try:
            f = image.file(ef.name)
        except KeyError:
            raise ImageDecodeError(ef.name, "file missing from the card image", 0) from None
        body = f.records if ef.structure.is_record else f.content
        if body is None:
            raise ImageDecodeError(ef.name, "file has no content", 0)
        contents[ef.name] = body
    return decode_contents(contents, layout)


def decode_contents(contents: Mapping[str, bytes | Sequence[bytes]], layout: Layout) -> DecodedPermit:
    """Decode from EF contents by EF name (as a reader gets them: bytes, or the records of a record EF)."""
    merged: dict[str, Value] = {}
    origin: dict[str, str] = {}
    unknown: list[UnknownTag] = []
    endorsements: list[Endorsement] = []
    applications: list[DepartmentData] = []
    for ef in layout.efs:
        body = contents.get(ef.name)
        if body is None:
            if ef.content in (Content.STATIC, Content.EMPTY, Content.DIR, Content.DEPARTMENT_RECORD, Content.CHANGES):
                continue
            raise ImageDecodeError(ef.name, "file content missing", 0)
        if ef.content is Content.PERMIT:
            decoded = fields_codec(layout, ef.name).decode(_transparent(ef, body))
            unknown += decoded.unknown
            for name, value in decoded.values.items():
                if name in merged and merged[name] != value:
                    raise ImageDecodeError(ef.name, f"field {name} differs from its copy in EF {origin[name]}",
                                           0, ef.fields[[f.field for f in ef.fields].index(name)].tag)
                merged[name], origin[name] = value, ef.name
        elif ef.content is Content.DEPARTMENT:
            decoded = fields_codec(layout, ef.name).decode(_transparent(ef, body))
            unknown += decoded.unknown
            if decoded.values:
                items = tuple((k, str(v)) for k, v in decoded.values.items())
                applications.append(DepartmentData(layout.department_of(ef), items))
        elif ef.content is Content.ENDORSEMENTS:
            codec = fields_codec(layout, ef.name)
            for number, record in enumerate(_records(ef, body), start=1):
                decoded = codec.decode(record, number, padded=_fixed_records(ef))
                unknown += decoded.unknown
                endorsements.append(_endorsement(decoded, ef.name, number))
        elif ef.content is Content.CHANGES:  # signed records of their own: cardsvc.verification.endorsements
            for number, record in enumerate(_records(ef, body), start=1):
                decode_change(record, layout, number)
        elif ef.content is Content.DIR:
            for number, record in enumerate(_records(ef, body), start=1):
                decode_dir_record(record, ef.name, number, padded=_fixed_records(ef))
    permit, version = _permit(merged, origin, layout, tuple(endorsements), tuple(applications))
    if unknown:
        log.info("layout %s: %d unknown data objects kept (card layout version %s)", layout.id, len(unknown),
                 version)
    return DecodedPermit(permit, tuple(unknown), version)


def _transparent(ef: EfDecl, body: bytes | Sequence[bytes]) -> bytes:
    if not isinstance(body, bytes | bytearray):
        raise ImageDecodeError(ef.name, "a transparent EF has bytes, not records", 0)
    if len(body) > ef.capacity:
        raise ImageDecodeError(ef.name, f"{len(body)} bytes exceed the file size {ef.capacity}", ef.capacity)
    return bytes(body)


def _records(ef: EfDecl, body: bytes | Sequence[bytes]) -> Sequence[bytes]:
    if isinstance(body, bytes | bytearray):
        raise ImageDecodeError(ef.name, "a record EF has records, not bytes", 0)
    assert ef.records is not None and ef.record_length is not None
    if len(body) > ef.records:
        raise ImageDecodeError(ef.name, f"{len(body)} records exceed the {ef.records} of the file", 0)
    for i, r in enumerate(body, start=1):
        if len(r) > ef.record_length:
            raise ImageDecodeError(f"{ef.name} record {i}", f"{len(r)} bytes exceed the record length "
                                   f"{ef.record_length}", ef.record_length)
    return body


def _require(values: Mapping[str, Value], name: str, where: str, kind: type) -> object:
    if name not in values:
        raise ImageDecodeError(where, f"required field {name} is missing", 0)
    value = values[name]
    if not isinstance(value, kind):
        raise ImageDecodeError(where, f"field {name} has the wrong type", 0)
    return value


def _opt_str(values: Mapping[str, Value], name: str) -> str | None:
    value = values.get(name)
    return value if isinstance(value, str) else None


def _endorsement(decoded: Decoded, file: str, number: int | None) -> Endorsement:
    v = decoded.values
    where = file + (f" record {number}" if number else "")
    sig = v.get("signature", b"")
    return Endorsement(
        date=_d(_require(v, "date", where, date)),
        residence_address=str(_require(v, "residence_address", where, str)),
        valid_until=_d(_require(v, "valid_until", where, date)),
        authority=Authority(str(_require(v, "authority.code", where, str)),
                            str(_require(v, "authority.name", where, str))),
        signature=sig if isinstance(sig, bytes) else b"",
    )


def _d(value: object) -> date:
    assert isinstance(value, date)
    return value


def _permit(v: Mapping[str, Value], origin: Mapping[str, str], layout: Layout,
            endorsements: tuple[Endorsement, ...],
            applications: tuple[DepartmentData, ...]) -> tuple[Permit, int | None]:
    def where(name: str) -> str:
        return origin.get(name) or layout.permit_fields()[name][0][0].name

    def req_s(name: str) -> str:
        return str(_require(v, name, where(name), str))

    def req_d(name: str) -> date:
        return _d(_require(v, name, where(name), date))

    if "layout.id" in v and v["layout.id"] != layout.id:
        raise ImageDecodeError(where("layout.id"), f"card carries layout {v['layout.id']!r}, not {layout.id!r}", 0)
    version = int(str(v["layout.version"])) if "layout.version" in v else None
    photo = _require(v, "photo", where("photo"), bytes)
    assert isinstance(photo, bytes)
    try:
        sex = Sex(int(req_s("sex")))
    except ValueError:
        raise ImageDecodeError(where("sex"), f"sex code {v['sex']!r} is not a GB/T 2261.1 code", 0) from None
    permit = Permit(
        name=req_s("name"), sex=sex, ethnicity=req_s("ethnicity"), birth_date=req_d("birth_date"),
        citizen_id=req_s("citizen_id"), photo=photo, household_address=req_s("household_address"),
        residence_address=req_s("residence_address"), permit_number=req_s("permit_number"),
        authority=Authority(req_s("authority.code"), req_s("authority.name")),
        issue_date=req_d("issue_date"), valid_until=req_d("valid_until"), card_number=req_s("card_number"),
        service_place=_opt_str(v, "service_place"), marital_status=_opt_str(v, "marital_status"),
        residence_reason=_opt_str(v, "residence_reason"), contact=_opt_str(v, "contact"),
        endorsements=endorsements, applications=applications,
    )
    return permit, version
