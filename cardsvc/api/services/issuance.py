"""Issuance jobs through the API: create (idempotent), run on a reader in the background, progress, retry.

The job itself is helper code in `cardsvc.issuance` (personalize, verify after write, record issued only
when verified); this module allocates the card number, picks the registry request for the event
(first issue, 补领 replacement ZZ Art.16, 换领 renewal SMX Art.20, correction ZZ Art.27) and runs the
job on a worker thread holding the reader's lock.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardsvc.api.auth import Principal
from cardsvc.api.context import AppContext
from cardsvc.api.schemas import JobIn, JobOut
from cardsvc.errors import FieldError
from cardsvc.iso7816.errors import CardError
from cardsvc.issuance.jobs import IssuanceService, IssueRequest
from cardsvc.issuance.prepare import job_card_number, stamp_first_issue
from cardsvc.permit.record import load_permit
from cardsvc.registry import jobs as registry_jobs
from cardsvc.registry import lifecycle
from cardsvc.registry.audit import Actor
from cardsvc.registry.endorsements import carried_endorsements
from cardsvc.registry.errors import JobStateError
from cardsvc.registry.lookup import local_date, permit_by_number
from cardsvc.registry.models import Card, IssuanceJob, JobState
from cardsvc.registry.models import Permit as PermitRow
from cardsvc.rules.fees import CardEvent
from cardsvc.session import CardSession
from cardsvc.transport.errors import NoCardError

log = logging.getLogger(__name__)

RUNNABLE = frozenset({JobState.PENDING, JobState.WRITING, JobState.VERIFYING, JobState.FAILED_RETRYABLE})


def job_out(ctx: AppContext, session: Session, row: IssuanceJob, progress: dict[str, object] | None = None) -> JobOut:
    card = session.get(Card, row.card_id)
    permit = session.get(PermitRow, row.permit_id)
    assert card is not None and permit is not None  # foreign keys
    return JobOut(id=row.id, permit_number=permit.permit_number, card_number=card.card_number, event=row.event,
                  state=row.state, attempts=row.attempts, last_error=row.last_error,
                  progress=ctx.get_progress(row.id) if progress is None else progress)


def create_job(ctx: AppContext, session: Session, principal: Principal, body: JobIn) -> JobOut:
    row = permit_by_number(session, body.permit_number, lock=True)
    layout = ctx.layout(row.layout_id)
    at = ctx.clock()
    key = body.idempotency_key or f"api-{uuid.uuid4()}"
    card_number, resumed = job_card_number(session, layout, key)
    actor = principal.actor
    if body.event is CardEvent.FIRST_ISSUE:
        job = registry_jobs.start_issuance(session, actor, row.permit_number, body.event, card_number=card_number,
                                           idempotency_key=key, at=at)
        if not resumed:  # the card carries the day it is made (SMX Art.14 签发日期)
            stamp_first_issue(row, layout, local_date(at))
    elif body.event is CardEvent.REPLACEMENT:
        job = lifecycle.request_replacement(session, actor, row.permit_number, card_number=card_number,
                                            idempotency_key=key, at=at)
    elif body.event is CardEvent.RENEWAL:
        job = lifecycle.request_renewal(session, actor, row.permit_number, old_card_returned=body.old_card_returned,
                                        card_number=card_number, idempotency_key=key, at=at)
    elif body.event is CardEvent.CORRECTION:  # ZZ Art.27: validated in the registry before anything is written
        if not body.changes or body.evidence is None:
            raise FieldError("changes" if not body.changes else "evidence",
                             "a correction needs changes and evidence (ZZ Art.27)")
        job = lifecycle.request_correction(session, actor, row.permit_number, dict(body.changes),
                                           evidence=body.evidence, card_number=card_number, idempotency_key=key,
                                           at=at, layout=layout)
    else:
        raise FieldError("event", f"{body.event.value} is not started here (endorsements through "
                         "/api/endorsements)")
    return job_out(ctx, session, job)


def list_jobs(ctx: AppContext, session: Session, state: str | None, limit: int) -> list[JobOut]:
    stmt = select(IssuanceJob).order_by(IssuanceJob.id.desc()).limit(limit)
    if state == "open":
        stmt = stmt.where(IssuanceJob.state.in_([s.value for s in RUNNABLE]))
    elif state is not None:
        stmt = stmt.where(IssuanceJob.state == state)
    return [job_out(ctx, session, row) for row in session.scalars(stmt)]


def get_job(ctx: AppContext, session: Session, job_id: int) -> JobOut:
    # Progress first: the worker commits the job's state before it clears `running`, so a reader that
    # sees `running` false then reads the final state (read the other way round, it can pair the state
    # before the commit with the progress after it).
    progress = ctx.get_progress(job_id)
    return job_out(ctx, session, registry_jobs.job(session, job_id), progress)


def _request(session: Session, ctx: AppContext, row: IssuanceJob) -> IssueRequest:
    permit_row = session.get(PermitRow, row.permit_id)
    card = session.get(Card, row.card_id)
    assert permit_row is not None and card is not None
    layout = ctx.layout(permit_row.layout_id)
    stored = load_permit(permit_row.data)
    # Issue 12: every generation carries the permit's endorsements (registry_endorsements.carried_endorsements)
    permit = replace(stored, card_number=card.card_number,
                     endorsements=(*stored.endorsements, *carried_endorsements(session, permit_row, layout)))
    return IssueRequest(permit, layout, row.idempotency_key, CardEvent(row.event))


def start_run(ctx: AppContext, session: Session, principal: Principal, job_id: int, reader: str, *,
              retry: bool) -> JobOut:
    """Check the job and the reader now (so the caller gets a clear 4xx), then run on a worker thread."""
    row = registry_jobs.job(session, job_id)
    state = JobState(row.state)
    if retry and state not in (JobState.FAILED_RETRYABLE, JobState.WRITING, JobState.VERIFYING):
        raise JobStateError(f"job_id: job {job_id} is {state.value}; only a failed-retryable or interrupted job "
                            "is retried", field="job_id")
    if state not in RUNNABLE:
        raise JobStateError(f"job_id: job {job_id} is {state.value}; nothing to run", field="job_id")
    info = ctx.hub.reader(reader)
    if not info.present:
        raise NoCardError(f"reader: no card in {reader!r}")
    request = _request(session, ctx, row)
    keys = ctx.station_keys()  # fails now (503) rather than on the worker when the key store is missing
    # The claim is a row in the registry (lease), taken under the job's lock: of two clicks, two stations
    # or two service processes one runs the job, the others get 409. Also refuses a permit no longer
    # issuable (cancelled, lost ...) before any APDU.
    owner = f"{ctx.instance}:{uuid.uuid4().hex[:8]}"
    registry_jobs.claim(session, job_id, owner, at=ctx.clock())
    ctx.set_progress(job_id, running=True, reader=reader, done=0, total=0, step="queued", error=None)
    # No commit here: the worker's first step locks the job row (SQLite: waits for the write lock), so it
    # starts only once this request has committed the claim, and refuses if it was rolled back.
    ctx.pool.submit(_run, ctx, principal.actor, job_id, request, reader, keys, owner)
    return job_out(ctx, session, row)


def _run(ctx: AppContext, actor: Actor, job_id: int, request: IssueRequest, reader: str,
         keys: object, owner: str) -> None:
    def progress(done: int, total: int, step: str) -> None:
        ctx.set_progress(job_id, done=done, total=total, step=step)

    try:
        service = IssuanceService(ctx.sessions, actor, keys, clock=ctx.clock)  # type: ignore[arg-type]
        with ctx.hub.session(reader, wait=5.0) as conn:
            outcome = service.run(job_id, request, CardSession(conn), progress=progress, owner=owner)
        ctx.set_progress(job_id, running=False, step=outcome.state.value, error=outcome.error)
        desk = ctx.hub.desk
        label = getattr(desk, "label_in", None)
        if outcome.issued and label is not None:
            label(reader, outcome.card_number)  # a resumed job on a new blank card has a new number
    except CardError as exc:
        log.warning("job %d on %r: %s", job_id, reader, exc)
        ctx.set_progress(job_id, running=False, step="failed", error=f"{type(exc).__name__}: {exc}")
    except Exception:  # a worker must never die silently: record and log
        log.exception("job %d on %r crashed", job_id, reader)
        ctx.set_progress(job_id, running=False, step="failed", error="internal error; see the service log")
    finally:
        try:
            with ctx.sessions.begin() as s:
                registry_jobs.release(s, job_id, owner)
        except Exception:  # the lease expires by itself; never let the worker die on this
            log.exception("job %d: could not release the claim", job_id)
