"""Issuance jobs: the pipeline glued to the registry's job state machine (cardsvc.registry.jobs).

approved permit → sign its endorsements for this card → card image → per-card keys → plan → WRITING →
personalize (survey, wipe, write, commit) → chip key recorded → VERIFYING → verify-after-write →
`record_issued` (the registry's only way to ISSUED, and it wants the verification). Each registry step
is its own transaction, so a crash anywhere leaves the job WRITING or VERIFYING and a retry with the same
idempotency key resumes it; a card error leaves it FAILED_RETRYABLE with the error text. Data that can
never be written (the image does not fit the layout) fails the job for good.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cardsvc.iso7816.errors import CardError
from cardsvc.issuance.endorse_records import sign_permit_endorsements
from cardsvc.issuance.keys import IssuerKeys, card_keys
from cardsvc.issuance.personalize import Progress, WriteResult, personalize, survey
from cardsvc.issuance.plan import Plan, PlanError, build_plan
from cardsvc.issuance.verify_after_write import WriteVerification, verify_after_write
from cardsvc.layout.codec import encode_permit
from cardsvc.layout.errors import FieldValueError
from cardsvc.layout.schema import Layout
from cardsvc.permit.errors import PermitInvalid
from cardsvc.permit.model import Permit
from cardsvc.permit.validate import validate_permit
from cardsvc.registry import jobs as registry_jobs
from cardsvc.registry.audit import Actor
from cardsvc.registry.errors import ConflictError, NotVerifiedError, RegistryError
from cardsvc.registry.lookup import local_date
from cardsvc.registry.models import Card, IssuanceJob, JobState
from cardsvc.rules.fees import CardEvent
from cardsvc.session import CardSession

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class IssueRequest:
    permit: Permit  # approved permit data; `card_number` is the card of this generation
    layout: Layout
    idempotency_key: str
    event: CardEvent = CardEvent.FIRST_ISSUE


@dataclass(frozen=True, slots=True)
class IssueOutcome:
    job_id: int
    card_number: str
    state: JobState
    attempts: int
    error: str | None = None
    write: WriteResult | None = None
    verification: WriteVerification | None = None

    @property
    def issued(self) -> bool:
        return self.state is JobState.ISSUED


def make_plan(permit: Permit, layout: Layout, keys: IssuerKeys, *, today: dt.date | None = None) -> Plan:
    """Permit → validated → signed endorsements → card image → plan with this card's keys.

    The last door (issue 12): data that does not validate for the layout (cardsvc.permit.validate) raises
    PermitInvalid before any byte is encoded, whichever way it reached the station. `today` is the
    station's day (dates after it are refused); by default the latest date the permit itself carries."""
    day = today or max([permit.issue_date, *(e.date for e in permit.endorsements)])
    validate_permit(permit, layout, day)
    signed = sign_permit_endorsements(permit, layout, keys)
    return build_plan(encode_permit(signed, layout), layout, card_keys(keys, layout, permit.card_number))


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IssuanceService:
    """Runs issuance jobs for one station (actor) with its keys against a registry."""

    def __init__(self, factory: sessionmaker[Session], actor: Actor, keys: IssuerKeys, *,
                 clock: Clock = _utc_now) -> None:
        self.factory = factory
        self.actor = actor
        self.keys = keys
        self.clock = clock

    def start(self, request: IssueRequest) -> int:
        """Create the job, or find it again for the same idempotency key."""
        with self.factory.begin() as s:
            row = registry_jobs.start_issuance(
                s, self.actor, request.permit.permit_number, request.event,
                card_number=request.permit.card_number, idempotency_key=request.idempotency_key, at=self.clock())
            return row.id

    def state(self, job_id: int) -> tuple[JobState, int, str | None]:
        with self.factory() as s:
            row = registry_jobs.job(s, job_id)
            return JobState(row.state), row.attempts, row.last_error

    def _advance(self, job_id: int, state: JobState, error: str | None = None) -> None:
        with self.factory.begin() as s:
            registry_jobs.advance(s, job_id, state, at=self.clock(), error=error)

    def _new_card(self, job_id: int, permit: Permit, layout: Layout) -> tuple[Permit, Plan]:
        """The job goes on under a new card number; the abandoned one is spoiled (registry.jobs)."""
        with self.factory.begin() as s:
            number = registry_jobs.new_card_number(s, layout.card_number.prefix, layout.card_number.serial_digits)
            registry_jobs.move_to_new_card(s, self.actor, job_id, number, at=self.clock())
        log.info("job %d: blank card after an earlier attempt; card %s spoiled, continuing as %s", job_id,
                 permit.card_number, number)
        permit = replace(permit, card_number=number)
        return permit, make_plan(permit, layout, self.keys, today=local_date(self.clock()))

    def _outcome(self, job_id: int, card_number: str, write: WriteResult | None = None,
                 verification: WriteVerification | None = None) -> IssueOutcome:
        state, attempts, error = self.state(job_id)
        return IssueOutcome(job_id, card_number, state, attempts, error, write, verification)

    def recover(self, stale_after: dt.timedelta) -> list[int]:
        """Jobs left WRITING or VERIFYING by a station that crashed (no change for `stale_after`) become
        FAILED_RETRYABLE, so they show up for a retry; returns their ids."""
        cutoff = self.clock() - stale_after
        with self.factory.begin() as s:
            stale = list(s.scalars(select(IssuanceJob.id).where(
                IssuanceJob.state.in_([JobState.WRITING.value, JobState.VERIFYING.value]),
                IssuanceJob.updated_at < cutoff)))
            for job_id in stale:
                registry_jobs.advance(s, job_id, JobState.FAILED_RETRYABLE, at=self.clock(),
                                      error=f"no progress for {stale_after}: station crashed or card abandoned")
                row = registry_jobs.job(s, job_id)
                row.claimed_by, row.lease_until = None, None  # the crashed station's claim ends with it
        return stale

    def issue(self, request: IssueRequest, card: CardSession, *, progress: Progress | None = None) -> IssueOutcome:
        """Start (or resume) the job of `request` and run it on the card in `card`."""
        return self.run(self.start(request), request, card, progress=progress)

    def run(self, job_id: int, request: IssueRequest, card: CardSession, *,
            progress: Progress | None = None, owner: str | None = None) -> IssueOutcome:
        """Registry transactions per card: →WRITING, chip key (before the commit point), →VERIFYING, ISSUED.

        `owner` is the claim (registry.jobs.claim) this run holds; without one the job is claimed here.
        Either way the permit is checked issuable before any APDU (design §7)."""
        own_claim = owner is None
        if owner is None:
            owner = f"{self.actor.station_id}:{uuid.uuid4().hex[:8]}"
        try:
            return self._run(job_id, request, card, progress, owner, claim=own_claim)
        finally:
            if own_claim:
                with self.factory.begin() as s:
                    registry_jobs.release(s, job_id, owner)

    def _run(self, job_id: int, request: IssueRequest, card: CardSession, progress: Progress | None,
             owner: str, *, claim: bool) -> IssueOutcome:
        permit, layout = request.permit, request.layout
        with self.factory.begin() as s:
            row = registry_jobs.job(s, job_id, lock=True)
            finished = JobState(row.state) in (JobState.ISSUED, JobState.FAILED)
        if finished:  # outside the transaction: the outcome is read in a session of its own
            return self._outcome(job_id, permit.card_number)
        with self.factory.begin() as s:
            row = registry_jobs.job(s, job_id, lock=True)
            if claim:
                registry_jobs.claim(s, job_id, owner, at=self.clock())
            elif row.claimed_by != owner:
                raise ConflictError(f"job_id: job {job_id} is not claimed by this run ({row.claimed_by})",
                                    field="job_id")
            registry_jobs.check_issuable(s, row)
            card_row = s.get(Card, row.card_id)
            assert card_row is not None
            earlier_chip = card_row.chip_public_key is not None  # an earlier attempt generated a chip key
            try:
                plan = make_plan(permit, layout, self.keys, today=local_date(self.clock()))
            except (PlanError, FieldValueError, PermitInvalid) as exc:
                registry_jobs.advance(s, job_id, JobState.FAILED, at=self.clock(), error=f"card image: {exc}")
                plan = None
            else:
                registry_jobs.advance(s, job_id, JobState.WRITING, at=self.clock())
        if plan is None:
            return self._outcome(job_id, permit.card_number)
        write: WriteResult | None = None

        def record_chip(public_key: bytes) -> None:  # before the commit point (design §7)
            with self.factory.begin() as s:
                registry_jobs.record_chip_key(s, job_id, public_key, at=self.clock())

        try:
            if earlier_chip and survey(card, plan)[0].blank:
                permit, plan = self._new_card(job_id, permit, layout)
            write = personalize(card, plan, self.keys, permit.authority.code, progress=progress,
                                on_chip_key=record_chip)
            with self.factory.begin() as s:
                registry_jobs.advance(s, job_id, JobState.VERIFYING, at=self.clock())
            verified = verify_after_write(card, plan, layout, self.keys, written=write.contents)
            with self.factory.begin() as s:
                recorded = s.get(Card, registry_jobs.job(s, job_id).card_id)
                assert recorded is not None
                if recorded.chip_public_key is None:  # a job begun before chip keys were recorded early
                    registry_jobs.record_chip_key(s, job_id, verified.chip_public_key, at=self.clock())
                registry_jobs.record_issued(s, self.actor, job_id, registry_jobs.Verification(
                    verified.card_number, verified.chip_public_key, verified.image_digest, passed=True),
                    at=self.clock())
                row = registry_jobs.job(s, job_id)
                attempts = row.attempts
        except NotVerifiedError as exc:  # e.g. a committed card whose chip is not the one recorded
            log.warning("card %s, job %d: %s", permit.card_number, job_id, exc)
            self._advance(job_id, JobState.FAILED_RETRYABLE, str(exc))
            return self._outcome(job_id, permit.card_number, write)
        except RegistryError:
            raise  # the registry refused: a programming or data error, not a card one
        except CardError as exc:
            log.warning("card %s, job %d: %s", permit.card_number, job_id, exc)
            self._advance(job_id, JobState.FAILED_RETRYABLE, f"{type(exc).__name__}: {exc}")
            return self._outcome(job_id, permit.card_number, write)
        log.info("card %s issued (job %d)", permit.card_number, job_id)
        return IssueOutcome(job_id, permit.card_number, JobState.ISSUED, attempts, None, write, verified)
