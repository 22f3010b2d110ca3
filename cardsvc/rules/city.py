"""Per-city rule numbers, each beside the article it comes from.

The layout TOML files will carry the same numbers; `CityRules.from_dict` is the door for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum

from cardsvc.rules.dates import Period
from cardsvc.rules.errors import RuleConfigError, RuleError


class City(StrEnum):
    SMX = "smx"  # 三门峡市 2017 实施办法
    ZZ = "zz"  # 郑州市 2013 暂行办法


@dataclass(frozen=True)
class CityRules:
    city: City
    city_code: str  # GB/T 2260 prefecture code; counties share its first four digits
    # --- application (eligibility) ---
    min_registration: Period | None  # SMX Art.8: 暂住登记满半年; ZZ: none
    requires_ground: bool  # SMX Art.8: one of job / home / school
    permit_min_stay_days: int | None  # ZZ Art.10 ¶2: permit for stays over 30 days
    short_stay_min_days: int | None  # ZZ Art.10 ¶1: stays of 3..30 days register only
    short_stay_register_days: int | None  # ZZ Art.10 ¶1: register within 3 days of arrival
    long_stay_register_days: int | None  # ZZ Art.10 ¶2: register within 7 days of arrival
    mandatory_age: int | None  # ZZ Art.10 ¶2: 年满16周岁 must apply, younger may
    agent_age: int  # SMX Art.10: 未满16周岁 apply through a guardian or close relative
    minor_requires_agent: bool  # SMX Art.10 (read as required for minors); ZZ has no such article
    photos_required: int  # ZZ Art.12(2): 近期免冠1寸照片2张; SMX Art.9 takes the ID photo
    issue_deadline_days: int | None  # SMX Art.12: issue within 15 days of acceptance; ZZ: none
    # --- endorsement and changes ---
    endorsement_window: Period  # SMX Art.16: 前1个月内; ZZ Art.13: 前三十日内
    late_grace: Period | None  # SMX Art.18: 逾期不超过半年; ZZ: no limit stated (None)
    late_restarts_residence_years: bool  # SMX Art.18: 居住年限自补办签注之日起连续计算
    address_change_days: int  # SMX Art.17 ¶1: 15 days (endorse); ZZ Art.14: 7 days (变更登记)
    cross_county_reregisters: bool  # SMX Art.17 ¶2 + Art.19(5); ZZ Art.14 does not distinguish
    # --- fees ---
    card_fee_fen: int  # SMX Art.20 ¶2 / ZZ Art.15: 工本费 for 补领/换领; amount set by provincial policy

    def __post_init__(self) -> None:
        if len(self.city_code) != 6 or not self.city_code.isdigit() or not self.city_code.endswith("00"):
            raise RuleConfigError("city_code", f"must be a 6-digit GB/T 2260 prefecture code, got {self.city_code!r}")
        for name in ("permit_min_stay_days", "short_stay_min_days", "short_stay_register_days",
                     "long_stay_register_days", "mandatory_age", "issue_deadline_days"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise RuleConfigError(name, f"must be >= 0, got {value}")
        for name in ("agent_age", "photos_required", "address_change_days", "card_fee_fen"):
            if getattr(self, name) < 0:
                raise RuleConfigError(name, f"must be >= 0, got {getattr(self, name)}")

    def county_in_city(self, county_code: str) -> bool:
        """Whether a GB/T 2260 county-level code belongs to this city (same first four digits)."""
        return county_code[:4] == self.city_code[:4]

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CityRules:
        """Build from a layout TOML table; periods are tables like {months = 1} or {days = 30}."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RuleConfigError(unknown[0], "unknown city-rules key")
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in data:
                raise RuleConfigError(f.name, "missing")
            values[f.name] = _convert(f.name, str(f.type), data[f.name])
        return cls(**values)  # type: ignore[arg-type]


def _convert(name: str, type_text: str, raw: object) -> object:
    optional = type_text.endswith("| None")
    if raw is None:
        if optional:
            return None
        raise RuleConfigError(name, "must not be empty")
    base = type_text.removesuffix(" | None")
    if base == "City":
        try:
            return City(str(raw))
        except ValueError:
            raise RuleConfigError(name, f"unknown city {raw!r}; known: {[c.value for c in City]}") from None
    if base == "Period":
        return _period(name, raw)
    if base == "bool":
        if not isinstance(raw, bool):
            raise RuleConfigError(name, f"must be true or false, got {raw!r}")
        return raw
    if base == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise RuleConfigError(name, f"must be an integer, got {raw!r}")
        return raw
    if base == "str":
        if not isinstance(raw, str):
            raise RuleConfigError(name, f"must be a string, got {raw!r}")
        return raw
    raise RuleConfigError(name, f"unsupported field type {type_text}")  # pragma: no cover - schema bug


def _period(name: str, raw: object) -> Period:
    if not isinstance(raw, Mapping) or not raw or set(raw) - {"months", "days"}:
        raise RuleConfigError(name, f"must be a table with 'months' and/or 'days', got {raw!r}")
    months, days = raw.get("months", 0), raw.get("days", 0)
    if isinstance(months, bool) or isinstance(days, bool) or not isinstance(months, int) \
            or not isinstance(days, int):
        raise RuleConfigError(name, f"months/days must be integers, got {raw!r}")
    try:
        return Period(months=months, days=days)
    except RuleError as exc:
        raise RuleConfigError(name, exc.reason) from None


SMX_RULES = CityRules(
    city=City.SMX,
    city_code="411200",
    min_registration=Period(months=6),  # SMX Art.8
    requires_ground=True,  # SMX Art.8 (一)-(三)
    permit_min_stay_days=None,
    short_stay_min_days=None,
    short_stay_register_days=None,
    long_stay_register_days=None,
    mandatory_age=None,
    agent_age=16,  # SMX Art.10
    minor_requires_agent=True,  # SMX Art.10
    photos_required=0,  # SMX Art.9: photo comes from the ID card (digital photo only without one)
    issue_deadline_days=15,  # SMX Art.12
    endorsement_window=Period(months=1),  # SMX Art.16
    late_grace=Period(months=6),  # SMX Art.18
    late_restarts_residence_years=True,  # SMX Art.18
    address_change_days=15,  # SMX Art.17 ¶1
    cross_county_reregisters=True,  # SMX Art.17 ¶2, Art.19(5)
    card_fee_fen=2000,  # SMX Art.20 ¶2: provincial 工本费; placeholder until the layout profile sets it
)

ZZ_RULES = CityRules(
    city=City.ZZ,
    city_code="410100",
    min_registration=None,
    requires_ground=False,
    permit_min_stay_days=30,  # ZZ Art.10 ¶2
    short_stay_min_days=3,  # ZZ Art.10 ¶1
    short_stay_register_days=3,  # ZZ Art.10 ¶1
    long_stay_register_days=7,  # ZZ Art.10 ¶2
    mandatory_age=16,  # ZZ Art.10 ¶2
    agent_age=16,
    minor_requires_agent=False,  # ZZ: no guardian article
    photos_required=2,  # ZZ Art.12(2)
    issue_deadline_days=None,  # ZZ: no issuing deadline in the text
    endorsement_window=Period(days=30),  # ZZ Art.13
    late_grace=None,  # ZZ: no late-endorsement limit in the text
    late_restarts_residence_years=True,  # ZZ silent; follows the provincial practice SMX Art.18 states
    address_change_days=7,  # ZZ Art.14
    cross_county_reregisters=False,  # ZZ Art.14: one change registration, any county
    card_fee_fen=2000,  # ZZ Art.15: 工本费; placeholder until the layout profile sets it
)

_BUILT_IN = {City.SMX: SMX_RULES, City.ZZ: ZZ_RULES}


def rules_for(city: City | str) -> CityRules:
    try:
        return _BUILT_IN[City(city)]
    except ValueError:
        raise RuleError("city", f"unknown city {city!r}; known: {[c.value for c in City]}") from None
