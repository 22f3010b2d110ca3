"""The residence-permit data model: fields, GB standard tables, citizen ID and permit numbers.

Validation against a city layout is in cardsvc.permit.validate (it needs the layout package).
"""

from cardsvc.errors import FieldError, FieldProblem
from cardsvc.permit.citizen_id import CitizenId, make_citizen_id, parse_citizen_id
from cardsvc.permit.errors import PermitError, PermitInvalid
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Authority, DepartmentData, Endorsement, Guardian, Permit
from cardsvc.permit.permit_number import make_card_number, make_permit_number, parse_permit_number

__all__ = ["Authority", "CitizenId", "DepartmentData", "Endorsement", "FieldError", "FieldProblem", "Guardian",
           "Permit", "PermitError", "PermitInvalid", "Sex", "make_card_number", "make_citizen_id",
           "make_permit_number", "parse_citizen_id", "parse_permit_number"]
