"""The layout schema: a city's card profile as validated data (pydantic, the edge where TOML comes in).

A layout is the file tree (FIDs, SFIs, structure, sizes), the access rules per file and operation, the
TLV tag and encoding of every field, which EFs are visible, the AIDs, the department applications,
the keys by name, and the city rules. Cross-checks (duplicate FIDs/SFIs, unknown keys, fields that
cannot fit) run in `Layout`'s model validator so a bad file never loads. The entry models live in
`cardsvc.layout.entries` (importable from here too); the cross-entry rules in `cardsvc.layout.checks`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, model_validator

from cardsvc.layout.checks import check_layout
from cardsvc.layout.entries import (
    AuthorityDecl,
    CardNumberFormat,
    Content,
    DfDecl,
    EfDecl,
    Example,
    FieldDecl,
    KeyDecl,
    LayoutInfo,
    ReservedApplication,
    Structure,
    _Strict,
)
from cardsvc.rules.city import CityRules


class Layout(_Strict):
    layout: LayoutInfo
    card_number: CardNumberFormat
    authorities: list[AuthorityDecl] = Field(min_length=1)
    keys: dict[str, KeyDecl]
    mf: DfDecl
    dfs: list[DfDecl] = Field(default_factory=list)
    efs: list[EfDecl]
    reserved_applications: list[ReservedApplication] = Field(default_factory=list)
    rules: CityRules
    _compiled: dict[str, object] = PrivateAttr(default_factory=dict)
    _directory: Path | None = PrivateAttr(default=None)  # where the loader found it (its face is relative)

    def compiled_cache(self) -> dict[str, object]:
        """Per-layout cache for compiled codecs (the schema itself is immutable)."""
        return self._compiled

    @model_validator(mode="before")
    @classmethod
    def _rules_know_their_city(cls, data: Any) -> Any:
        """The rules carry the city's id and GB/T 2260 code from [layout], so they are written once."""
        if isinstance(data, dict) and isinstance(data.get("layout"), dict) and isinstance(data.get("rules"), dict):
            info = data["layout"]
            data = {**data, "rules": {**data["rules"], "city": info.get("id"), "city_code": info.get("city_code")}}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Layout:
        check_layout(self)
        return self

    # Convenience lookups used by the codec and by other packages.
    @property
    def id(self) -> str:
        return self.layout.id

    @property
    def version(self) -> int:
        return self.layout.version

    def ef(self, name: str) -> EfDecl:
        for ef in self.efs:
            if ef.name == name:
                return ef
        raise KeyError(f"layout {self.id} has no EF {name!r}")

    def df(self, name: str) -> DfDecl:
        if name == "mf":
            return self.mf
        for df in self.dfs:
            if df.name == name:
                return df
        raise KeyError(f"layout {self.id} has no DF {name!r}")

    def department_efs(self) -> list[EfDecl]:
        return [ef for ef in self.efs if ef.content is Content.DEPARTMENT]

    def department_of(self, ef: EfDecl) -> str:
        dept = self.df(ef.parent).department
        assert dept is not None
        return dept

    def permit_fields(self) -> dict[str, list[tuple[EfDecl, FieldDecl]]]:
        """Permit field name → every (EF, field) placing it (a field may be in several EFs, ZZ Art.8)."""
        cached = self._compiled.get("<permit_fields>")
        if isinstance(cached, dict):
            return cached
        out: dict[str, list[tuple[EfDecl, FieldDecl]]] = {}
        for ef in self.efs:
            if ef.content is Content.PERMIT:
                for f in ef.fields:
                    out.setdefault(f.field, []).append((ef, f))
        self._compiled["<permit_fields>"] = out
        return out

    def visible_fields(self) -> frozenset[str]:
        return frozenset(f.field for ef in self.efs if ef.visible for f in ef.fields)

    def charset_of(self, f: FieldDecl) -> str:
        return f.charset or self.layout.charset

    @property
    def directory(self) -> Path | None:
        """The layouts directory this layout was loaded from (None when built from a string)."""
        return self._directory

    def face_path(self) -> Path | None:
        """The printed face's file (`face = "faces/<city>.toml"`, relative to the layouts directory)."""
        if self.layout.face is None or self._directory is None:
            return None
        return self._directory / self.layout.face

    def authority_name(self, code: str) -> str | None:
        return next((a.name for a in self.authorities if a.code == code), None)


__all__ = ["CardNumberFormat", "Content", "DfDecl", "EfDecl", "Example", "FieldDecl", "KeyDecl", "Layout",
           "ReservedApplication", "Structure"]
