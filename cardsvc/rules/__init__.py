"""City application and lifecycle rules as pure functions (all dates passed in).

Articles cited as `SMX Art.N` (三门峡市居住证实施办法, 2017) and `ZZ Art.N` (郑州市居住证管理暂行办法, 2013).
"""

from cardsvc.rules.changes import ChangeAssessment, ChangeKind, assess_address_change
from cardsvc.rules.city import CityRules
from cardsvc.rules.dates import Period, add_months, add_years, full_years
from cardsvc.rules.eligibility import (
    ApplicationFacts,
    Condition,
    Decision,
    Obligation,
    evaluate,
    issue_deadline,
    registration_deadline,
)
from cardsvc.rules.endorsement import Assessment, Timing, Window, assess, is_overdue, residence_years, window
from cardsvc.rules.errors import RuleError, TransitionError
from cardsvc.rules.fees import CardEvent, Fee, fee_for
from cardsvc.rules.materials import Ground, Material, MaterialRule, When
from cardsvc.rules.registration import Declarer, EndReason, Registration
from cardsvc.rules.status import (
    CardStatus,
    PermitStatus,
    SuspensionReason,
    check_card_transition,
    check_permit_transition,
)

__all__ = [
    "ApplicationFacts",
    "Assessment",
    "CardEvent",
    "CardStatus",
    "ChangeAssessment",
    "ChangeKind",
    "CityRules",
    "Condition",
    "Decision",
    "Declarer",
    "EndReason",
    "Fee",
    "Ground",
    "Material",
    "MaterialRule",
    "Obligation",
    "Period",
    "PermitStatus",
    "Registration",
    "RuleError",
    "SuspensionReason",
    "Timing",
    "TransitionError",
    "When",
    "Window",
    "add_months",
    "add_years",
    "assess",
    "assess_address_change",
    "check_card_transition",
    "check_permit_transition",
    "evaluate",
    "fee_for",
    "full_years",
    "is_overdue",
    "issue_deadline",
    "registration_deadline",
    "residence_years",
    "window",
]
