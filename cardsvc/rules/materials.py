"""Grounds and materials of an application, and the city's material rules (which material, when).

Which materials a city asks for is data in its layout TOML (`[[rules.materials]]`, each with its
article); this module only gives the vocabulary and how a rule applies to an application.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator


class Ground(StrEnum):
    """SMX Art.8: one of these qualifies (合法稳定就业 / 合法稳定住所 / 连续就读)."""

    EMPLOYMENT = "employment"
    RESIDENCE = "residence"
    STUDY = "study"


class Material(StrEnum):
    ID_CARD = "id_card"  # SMX Art.9 居民身份证; ZZ Art.12(1) 身份证或其他合法有效身份证件
    DIGITAL_PHOTO = "digital_photo"  # SMX Art.9: when the applicant has no ID card
    REGISTRATION_CERT = "registration_cert"  # SMX Art.9 暂住登记凭证
    EMPLOYMENT_PROOF = "employment_proof"  # SMX Art.9(1), ZZ Art.12(3)
    RESIDENCE_PROOF = "residence_proof"  # SMX Art.9(2), ZZ Art.12(3)
    STUDY_PROOF = "study_proof"  # SMX Art.9(3)
    AGENT_ID = "agent_id"  # SMX Art.10 代办人的合法有效身份证件
    PHOTOS = "photos"  # ZZ Art.12(2) 近期免冠1寸照片2张


# The proof of each ground unless a layout says otherwise (SMX Art.9(1)-(3), ZZ Art.12(3)).
DEFAULT_GROUND_PROOFS: Mapping[Ground, Material] = {
    Ground.EMPLOYMENT: Material.EMPLOYMENT_PROOF,
    Ground.RESIDENCE: Material.RESIDENCE_PROOF,
    Ground.STUDY: Material.STUDY_PROOF,
}


class When(StrEnum):
    """When a material rule applies to an application."""

    ALWAYS = "always"
    HAS_ID_CARD = "has_id_card"
    NO_ID_CARD = "no_id_card"
    VIA_AGENT = "via_agent"  # a guardian, close relative or agent applies
    EMPLOYMENT = "employment"  # that ground is declared
    RESIDENCE = "residence"
    STUDY = "study"


class MaterialRule(BaseModel):
    """One material a city asks for: one of `any_of`, or (`ground_proof`) the proof of a declared ground."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any_of: tuple[Material, ...] = ()
    ground_proof: StrictBool = False
    when: When = When.ALWAYS
    article: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> MaterialRule:
        if bool(self.any_of) == self.ground_proof:
            raise ValueError("give either any_of (materials) or ground_proof = true")
        return self

    def applies(self, grounds: frozenset[Ground], has_id_card: bool, via_agent: bool) -> bool:
        match self.when:
            case When.ALWAYS:
                return True
            case When.HAS_ID_CARD:
                return has_id_card
            case When.NO_ID_CARD:
                return not has_id_card
            case When.VIA_AGENT:
                return via_agent
        return Ground(self.when.value) in grounds

    def options(self, grounds: frozenset[Ground], proofs: Mapping[Ground, Material]) -> tuple[Material, ...]:
        """The materials any one of which satisfies this rule (empty: nothing to hand in)."""
        if self.ground_proof:
            return tuple(proofs[g] for g in sorted(grounds))
        return self.any_of
