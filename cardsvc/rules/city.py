"""A city's rule numbers: the `[rules]` block of its layout TOML (layouts/<city>.toml).

No city is named here: every number, and the article it comes from, is in the city's TOML file.
The layout fills in `city` (its id) and `city_code` from its `[layout]` block.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator
from pydantic.json_schema import SkipJsonSchema

from cardsvc.rules.dates import Period
from cardsvc.rules.materials import DEFAULT_GROUND_PROOFS, Ground, Material, MaterialRule
from cardsvc.rules.registration import Declarer


class CityRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Filled in by the layout from its [layout] block (id, GB/T 2260 prefecture code); not written in [rules].
    city: SkipJsonSchema[str] = ""
    city_code: SkipJsonSchema[str] = ""
    # --- validity and endorsement ---
    validity: Period  # validity granted by issue or by one endorsement
    endorsement_window: Period  # before each anniversary
    late_endorsement_grace: Period | None = None  # overdue endorsement still accepted; None: no limit stated
    late_restarts_residence_years: StrictBool = True  # a late endorsement restarts the residence-years count
    address_change_deadline: Period  # report/endorse a changed residence address
    cross_county_reregisters: StrictBool = False  # a move to another county needs a new temporary registration
    # --- application (eligibility) ---
    min_registration: Period | None = None  # temporary registration held before applying
    # who reports a temporary registration (cardsvc.rules.registration), and the article that says so
    registration_declarers: tuple[Declarer, ...] = (Declarer.SELF,)
    registration_declarers_article: str = Field(default="", max_length=64)
    requires_ground: StrictBool = False  # one of job / home / school
    permit_min_stay_days: StrictInt | None = Field(default=None, ge=0)  # a permit is for stays over this many days
    short_stay_min_days: StrictInt | None = Field(default=None, ge=0)  # shorter stays register only from this
    short_stay_register_days: StrictInt | None = Field(default=None, ge=0)  # register within N days of arrival
    long_stay_register_days: StrictInt | None = Field(default=None, ge=0)
    mandatory_age: StrictInt | None = Field(default=None, ge=0, le=18)  # from this age a permit is required
    guardian_age: StrictInt = Field(ge=0, le=18)  # under this age a guardian may/must apply
    minor_requires_agent: StrictBool = False  # under guardian_age only through a guardian
    issue_deadline: Period | None = None  # card made and issued after acceptance
    ground_proofs: dict[Ground, Material] = Field(default_factory=lambda: dict(DEFAULT_GROUND_PROOFS))
    materials: tuple[MaterialRule, ...] = ()  # in the order they are listed to the applicant
    # --- fees and operations ---
    first_issue_free: StrictBool = True
    card_fee_fen: StrictInt = Field(ge=0)  # 工本费 for replacement and renewal
    status_list_max_age_hours: StrictInt = Field(ge=1, le=24 * 30)  # operational, not from the seeds

    @model_validator(mode="after")
    def _proofs_complete(self) -> CityRules:
        missing = [g.value for g in Ground if g not in self.ground_proofs]
        if missing:
            raise ValueError(f"ground_proofs: no proof material for {missing}")
        return self

    def county_in_city(self, county_code: str) -> bool:
        """Whether a GB/T 2260 county-level code belongs to this city (same first four digits)."""
        return bool(self.city_code) and county_code[:4] == self.city_code[:4]

    def materials_needed(self, grounds: frozenset[Ground], *, has_id_card: bool = True,
                         via_agent: bool = False) -> frozenset[Material]:
        """A complete set of materials for an application on these grounds (the first option of each)."""
        out = set()
        for rule in self.materials:
            options = rule.options(grounds, self.ground_proofs)
            if rule.applies(grounds, has_id_card, via_agent) and options:
                out.add(options[0])
        return frozenset(out)

    def with_city(self, city: str, city_code: str) -> CityRules:
        return self.model_copy(update={"city": city, "city_code": city_code})

