"""Cross-entry consistency of a layout (called by Layout's validator; raises ValueError with the entry)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from cardsvc.layout.access import security_attributes
from cardsvc.layout.entries import (
    AuthorityDecl,
    Content,
    DfDecl,
    EfDecl,
    FieldDecl,
    KeyDecl,
    LayoutInfo,
    ReservedApplication,
)
from cardsvc.layout.vocabulary import PERMIT_FIELDS

_RESERVED_FIDS = {0x3F00: "MF", 0x3FFF: "path escape", 0xFFFF: "reserved"}  # ISO 7816-4 §7.2.1


class LayoutParts(Protocol):
    """What the cross-checks read of a `cardsvc.layout.schema.Layout` (which passes itself), declared
    here so that the schema imports its checks and not the other way round."""

    @property
    def layout(self) -> LayoutInfo: ...
    @property
    def keys(self) -> Mapping[str, KeyDecl]: ...
    @property
    def authorities(self) -> Sequence[AuthorityDecl]: ...
    @property
    def mf(self) -> DfDecl: ...
    @property
    def dfs(self) -> Sequence[DfDecl]: ...
    @property
    def efs(self) -> Sequence[EfDecl]: ...
    @property
    def reserved_applications(self) -> Sequence[ReservedApplication]: ...
    def df(self, name: str) -> DfDecl: ...
    def permit_fields(self) -> dict[str, list[tuple[EfDecl, FieldDecl]]]: ...


def check_layout(layout: LayoutParts) -> None:
    keys = {name: k.ref for name, k in layout.keys.items()}
    _check_keys(layout)
    if layout.mf.fid != 0x3F00:
        raise ValueError(f"mf: FID must be 3F00, got {layout.mf.fid:04X}")
    df_names = {"mf"}
    mf_children: dict[int, str] = {}
    aids: dict[bytes, str] = {}
    for df in [layout.mf, *layout.dfs]:
        where = f"DF {df.name}"
        _sec(where, df.access, keys, is_df=True)
        if df.aid in aids:
            raise ValueError(f"{where}: AID {df.aid.hex().upper()} already used by {aids[df.aid]}")
        aids[df.aid] = df.name
        if df is layout.mf:
            continue
        if df.name in df_names:
            raise ValueError(f"{where}: duplicate DF name")
        df_names.add(df.name)
        _claim_fid(mf_children, df.fid, where, "MF")
    for app in layout.reserved_applications:
        if app.aid in aids:
            raise ValueError(f"reserved application {app.label}: AID already used by {aids[app.aid]}")
    fids: dict[str, dict[int, str]] = {"mf": mf_children}
    sfis: dict[str, dict[int, str]] = {}
    ef_names: set[str] = set()
    for ef in layout.efs:
        where = f"EF {ef.name}"
        if ef.name in ef_names:
            raise ValueError(f"{where}: duplicate EF name")
        ef_names.add(ef.name)
        if ef.parent not in df_names:
            raise ValueError(f"{where}: parent {ef.parent!r} is not a declared DF")
        _claim_fid(fids.setdefault(ef.parent, {}), ef.fid, where, ef.parent)
        taken = sfis.setdefault(ef.parent, {})
        if ef.sfi in taken:
            raise ValueError(f"{where}: duplicate SFI {ef.sfi} in {ef.parent} (also {taken[ef.sfi]})")
        taken[ef.sfi] = ef.name
        _sec(where, ef.access, keys, is_df=False)
        if (ef.content in (Content.DEPARTMENT, Content.DEPARTMENT_RECORD)
                and layout.df(ef.parent).department is None):
            raise ValueError(f"{where}: department content must sit in a department DF")
    _check_departments(layout)
    _check_placement(layout)
    prefix = layout.layout.city_code[:4]
    for auth in layout.authorities:
        if not auth.code.startswith(prefix) or auth.code == layout.layout.city_code:
            raise ValueError(f"authority {auth.code}: not a county-level code of city {layout.layout.city_code}")
    try:
        "".encode(layout.layout.charset)
    except LookupError:
        raise ValueError(f"layout.charset: unknown charset {layout.layout.charset!r}") from None
    for ef in layout.efs:
        for f in ef.fields:
            if f.charset:
                try:
                    "".encode(f.charset)
                except LookupError:
                    raise ValueError(f"EF {ef.name} field {f.field}: unknown charset {f.charset!r}") from None


def _check_keys(layout: LayoutParts) -> None:
    refs: dict[int, str] = {}
    for name, key in layout.keys.items():
        if key.ref in refs:
            raise ValueError(f"key {name}: reference {key.ref} already used by key {refs[key.ref]}")
        refs[key.ref] = name


def _claim_fid(taken: dict[int, str], fid: int, where: str, parent: str) -> None:
    if fid in _RESERVED_FIDS:
        raise ValueError(f"{where}: FID {fid:04X} is reserved ({_RESERVED_FIDS[fid]})")
    if fid in taken:
        raise ValueError(f"{where}: duplicate FID {fid:04X} in {parent} (also {taken[fid]})")
    taken[fid] = where


def _sec(where: str, access: dict[str, str], keys: dict[str, int], is_df: bool) -> None:
    try:
        security_attributes(access, keys, is_df)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _check_departments(layout: LayoutParts) -> None:
    roles = {k.role: name for name, k in layout.keys.items()}
    seen: set[str] = set()
    for df in layout.dfs:
        if df.department is None:
            continue
        if df.department in seen:
            raise ValueError(f"DF {df.name}: department {df.department} declared twice")
        seen.add(df.department)
        own_key = roles.get(f"department:{df.department}")
        if own_key is None:
            raise ValueError(f"DF {df.name}: no key with role department:{df.department}")
        # No department reads another's data (design §4): its EFs may name only its own key.
        for ef in layout.efs:
            if ef.parent != df.name:
                continue
            for op, cond in ef.access.items():
                for part in cond.split("+"):
                    if part.startswith("key:") and part[4:] != own_key:
                        raise ValueError(f"EF {ef.name}: {op} names key {part[4:]}, not the department's "
                                         f"own key {own_key}")
        if sum(1 for ef in layout.efs if ef.parent == df.name and ef.content is Content.DEPARTMENT) != 1:
            raise ValueError(f"DF {df.name}: a department DF holds exactly one department data EF")


def _check_placement(layout: LayoutParts) -> None:
    placed = layout.permit_fields()
    missing = [name for name, (_, _, required) in PERMIT_FIELDS.items() if required and name not in placed]
    if missing:
        raise ValueError(f"required permit fields not placed in any EF: {', '.join(missing)}")
    for content in (Content.ENDORSEMENTS, Content.CHANGES):
        if sum(1 for ef in layout.efs if ef.content is content) > 1:
            raise ValueError(f"at most one {content.value} EF")
    _check_endorsement_capacity(layout, placed)
    for ef in layout.efs:
        if ef.content is not Content.PERMIT:
            continue
        for f in ef.fields:
            for other_ef, other in placed[f.field]:
                if other.tag != f.tag and other_ef is not ef:
                    raise ValueError(f"EF {ef.name}: field {f.field} uses tag {f.tag:02X} but EF "
                                     f"{other_ef.name} uses {other.tag:02X}; one field, one tag")


# Holder data an endorsement record repeats (authority names are the layout's own, checked with it).
WRITTEN_BY_ENDORSEMENTS = frozenset({"residence_address", "service_place"})


def _check_endorsement_capacity(layout: LayoutParts,
                                placed: dict[str, list[tuple[EfDecl, FieldDecl]]]) -> None:
    """Issue 12: a value written again by later endorsements (the residence address, SMX Art.16-17 /
    ZZ Art.13-14) must fit the endorsement record wherever the permit takes it, or the registry would
    record an endorsement the card cannot hold."""
    for ef in layout.efs:
        if ef.content not in (Content.ENDORSEMENTS, Content.CHANGES):  # ZZ Art.14: a change record too
            continue
        for f in ef.fields:
            if f.max_length is None or f.field not in WRITTEN_BY_ENDORSEMENTS or f.field not in placed:
                continue
            for permit_ef, decl in placed[f.field]:
                if decl.max_length is not None and decl.max_length > f.max_length:
                    raise ValueError(f"EF {permit_ef.name}: field {f.field} takes {decl.max_length} bytes but the "
                                     f"endorsement record EF {ef.name} only {f.max_length}; later endorsements "
                                     "could not write it")
