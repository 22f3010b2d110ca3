"""一证通 department records on the card (issue 16 item 1): thin over services.departments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from cardsvc.api.deps import CtxDep, DepartmentUser, SessionDep
from cardsvc.api.problems import PROBLEM_RESPONSES
from cardsvc.api.schemas import DepartmentCardOut, DepartmentRecordIn, DepartmentRecordOut
from cardsvc.api.services import departments

router = APIRouter(prefix="/api/departments", tags=["departments"], responses=PROBLEM_RESPONSES)

Department = Annotated[str, Path(max_length=32)]
RecordName = Annotated[str, Path(max_length=64)]


@router.get("/{department}/card", summary="The department's records on the card in a reader (own department only)")
def read_card(department: Department, principal: DepartmentUser, ctx: CtxDep, session: SessionDep,
              reader: Annotated[str, Query(min_length=1, max_length=128)],
              record: Annotated[str | None, Query(max_length=64)] = None) -> DepartmentCardOut:
    return departments.read_records(ctx, session, principal, department, reader, record)


@router.put("/{department}/card/records/{record}",
            summary="Write or update one department record on the card in a reader (tear-safe, MAC'd)")
def write_record(department: Department, record: RecordName, body: DepartmentRecordIn, principal: DepartmentUser,
                 ctx: CtxDep, session: SessionDep) -> DepartmentRecordOut:
    return departments.write_record(ctx, session, principal, department, record, body.reader, body.values)
