"""The registry's standing duties at their boundary dates (issue 16 item 2): overdue endorsements
(SMX Art.18, 19(3)), the 15-day issuance deadline (SMX Art.12), the lease that runs a duty once at a time,
and the scheduler running the duties by itself inside the service."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cardsvc.api import ReaderMode, Settings, create_app
from cardsvc.duties import DutyContext, run_duty
from cardsvc.duties.deadline import issuance_queue
from cardsvc.duties.lease import acquire, last_runs, release
from cardsvc.duties.overdue import overdue_permits
from cardsvc.layout import builtin_layouts
from cardsvc.registry import Actor, session_factory
from cardsvc.registry.duty_models import DutyMark
from cardsvc.registry.endorsements import endorse
from cardsvc.registry.lifecycle import card_status
from cardsvc.registry.lookup import permit_by_number
from cardsvc.registry.publication import listed_rows
from cardsvc.registry.registrations import register_for_permit
from cardsvc.rules import SuspensionReason
from cardsvc.rules.registration import Registration
from cardsvc.status_list.model import ListStatus

from .conftest import Builder, at_day

ISSUED = at_day(2024, 8, 5)  # SMX and ZZ: anniversary A = 2025-08-05; SMX late through 2026-02-04


def duty_ctx(engine: Engine, holder: str = "test-process") -> DutyContext:
    return DutyContext(session_factory(engine), {layout.id: layout for layout in builtin_layouts()}, "SMX-HB-01",
                       holder)


def issued(build: Builder, session: Session, city: str = "smx") -> tuple[str, str]:
    number, card = build.issued_permit(city, issued=ISSUED)
    session.commit()
    return number, card


@pytest.mark.parametrize(("day", "suspended"), [
    (at_day(2025, 8, 4), False),  # A − 1: last on-time day
    (at_day(2025, 8, 5), True),  # A: 逾期未办理签注 (SMX Art.19(3)), 1 day overdue
    (at_day(2025, 8, 6), True),
])
def test_overdue_duty_suspends_on_the_anniversary_and_lists_it(build: Builder, session: Session, engine: Engine,
                                                               day: datetime, suspended: bool) -> None:
    number, card = issued(build, session)
    result = run_duty(duty_ctx(engine), "overdue", at=day)
    assert result.ran and result.outcome == f"suspended {int(suspended)}, marked for re-registration 0"
    session.expire_all()
    view = card_status(session, card)
    assert (view.suspension_reason is SuspensionReason.ENDORSEMENT_OVERDUE) is suspended
    listed = {n: (st, why) for n, st, why in listed_rows(session, "smx-v1")}
    if suspended:  # the next status list publishes the card as suspended with its reason
        assert listed[card] == (ListStatus.SUSPENDED, SuspensionReason.ENDORSEMENT_OVERDUE)
        rows = overdue_permits(session, duty_ctx(engine).rules_by_city, day.date())
        assert [(r.permit_number, r.days_overdue, r.late_until) for r in rows] == [
            (number, (day.date() - date(2025, 8, 5)).days + 1, date(2026, 2, 4))]
    else:
        assert card not in listed


@pytest.mark.parametrize(("day", "marked"), [
    (at_day(2026, 2, 4), False),  # A + 6 months − 1 day: a late endorsement still restores use (SMX Art.18)
    (at_day(2026, 2, 5), True),  # A + 6 months: 超过半年 → 重新申报暂住登记
    (at_day(2026, 2, 6), True),
])
def test_overdue_duty_marks_reregistration_after_half_a_year(build: Builder, session: Session, engine: Engine,
                                                             day: datetime, marked: bool) -> None:
    number, _ = issued(build, session)
    ctx = duty_ctx(engine)
    run_duty(ctx, "overdue", at=at_day(2025, 8, 5))
    first = run_duty(ctx, "overdue", at=day)
    again = run_duty(ctx, "overdue", at=day + timedelta(hours=1))
    assert first.outcome == f"suspended 0, marked for re-registration {int(marked)}"
    assert again.outcome == "suspended 0, marked for re-registration 0"  # a mark is made once
    session.expire_all()
    marks = session.scalars(select(DutyMark)).all()
    assert [(m.kind, m.since) for m in marks] == ([("reregister", date(2026, 2, 5))] if marked else [])
    assert permit_by_number(session, number).status == "suspended"


def test_a_later_lapse_after_reregistration_is_marked_anew(build: Builder, session: Session, engine: Engine,
                                                          actor: Actor) -> None:
    """SMX Art.18: 超过半年…需重新申报暂住登记, and the late endorsement then restores use with the years
    counted from that day. The mark of that lapse does not stand for the next one: a year later the permit
    is overdue again (Art.19(3)) without a mark, and marked afresh at its own A + 6 months."""
    number, _ = issued(build, session)
    ctx = duty_ctx(engine)
    run_duty(ctx, "overdue", at=at_day(2025, 8, 5))
    assert run_duty(ctx, "overdue", at=at_day(2026, 2, 5)).outcome.endswith("marked for re-registration 1")
    layout = next(x for x in builtin_layouts() if x.id == "smx")
    session.expire_all()
    register_for_permit(session, actor, number, layout.rules, Registration(
        "411202", date(2026, 2, 10), date(2026, 2, 10), 730), at=at_day(2026, 2, 10))
    endorse(session, actor, number, data={}, at=at_day(2026, 2, 10), layout=layout)
    session.commit()
    assert permit_by_number(session, number).status == "active"
    session.rollback()  # end the read: the duty takes the registry's write lock
    suspended = run_duty(ctx, "overdue", at=at_day(2027, 2, 10))  # the new anniversary A' = 2027-02-10
    assert suspended.outcome == "suspended 1, marked for re-registration 0"
    session.expire_all()
    [row] = overdue_permits(session, ctx.rules_by_city, date(2027, 2, 10))
    assert (row.due, row.reregister_since) == (date(2027, 2, 10), None)
    session.rollback()
    assert run_duty(ctx, "overdue", at=at_day(2027, 8, 9)).outcome.endswith("re-registration 0")  # A' + 6 m − 1
    assert run_duty(ctx, "overdue", at=at_day(2027, 8, 10)).outcome.endswith("re-registration 1")  # A' + 6 m
    session.expire_all()
    [row] = overdue_permits(session, ctx.rules_by_city, date(2027, 8, 10))
    assert row.reregister_since == date(2027, 8, 10)
    assert [(m.kind, m.since) for m in session.scalars(select(DutyMark))] == [("reregister", date(2027, 8, 10))]


def test_zz_sets_no_late_limit_so_no_reregistration(build: Builder, session: Session, engine: Engine) -> None:
    """ZZ Art.13 states no limit for a late endorsement: suspended, never marked."""
    number, _ = issued(build, session, "zz")
    result = run_duty(duty_ctx(engine), "overdue", at=at_day(2030, 1, 1))
    assert result.outcome == "suspended 1, marked for re-registration 0"
    session.expire_all()
    assert permit_by_number(session, number).suspension_reason == SuspensionReason.ENDORSEMENT_OVERDUE.value


def test_lease_runs_a_duty_once_at_a_time(engine: Engine) -> None:
    sessions = session_factory(engine)
    now = datetime(2026, 1, 1, 4, tzinfo=UTC)
    assert acquire(sessions, "overdue", "process-a", at=now)
    assert not acquire(sessions, "overdue", "process-b", at=now + timedelta(minutes=9))  # a's lease runs
    busy = run_duty(duty_ctx(engine, "process-b"), "overdue", at=now)
    assert not busy.ran and busy.outcome.startswith("skipped")
    assert acquire(sessions, "overdue", "process-b", at=now + timedelta(minutes=10, seconds=1))  # a crashed
    release(sessions, "overdue", "process-a", at=now, outcome="late release")  # a's late release keeps b's lease
    with sessions() as s:
        row = last_runs(s)["overdue"]
        assert row.holder == "process-b" and row.last_outcome == "late release"
    with pytest.raises(KeyError, match="no duty 'nope'"):
        run_duty(duty_ctx(engine), "nope", at=now)


@pytest.mark.parametrize(("on", "days_left"), [
    (date(2024, 8, 15), 1),  # day before the due day
    (date(2024, 8, 16), 0),  # applied 2024-08-01 + 15 days (SMX Art.12): still on time
    (date(2024, 8, 17), -1),  # overdue
])
def test_issuance_queue_by_due_date_overdue_per_county(build: Builder, session: Session, on: date,
                                                       days_left: int) -> None:
    later = build.pending_permit(applied=at_day(2024, 8, 3))  # due 2024-08-18
    first = build.accepted_application(applied=at_day(2024, 8, 1))  # due 2024-08-16, no permit yet
    done = build.pending_permit(applied=at_day(2024, 8, 1))
    build.issue(done, at=at_day(2024, 8, 10))  # issued: leaves the queue
    session.flush()
    queue = issuance_queue(session, on)
    assert [(r.application_id, r.permit_number, r.due) for r in queue.rows] == [
        (first.id, None, date(2024, 8, 16)), (permit_by_number(session, later).application_id, later,
                                              date(2024, 8, 18))]
    assert queue.rows[0].days_left == days_left and queue.rows[0].overdue is (days_left < 0)
    assert queue.overdue_by_county == ({"411202": 1} if days_left < 0 else {})


def test_the_service_runs_the_duties_by_itself(tmp_path: Path, db_url: str, build: Builder,
                                               session: Session) -> None:
    """The scheduler in the lifespan suspends an overdue permit with nobody calling anything."""
    if not db_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the scheduler; the duty itself runs on both above")
    number, card = issued(build, session)
    settings = Settings(database_url=db_url, readers=ReaderMode.NONE, keystore_dir=tmp_path / "none",
                        duties_interval_seconds=0.2, duties_first_delay_seconds=0)
    app = create_app(settings)
    with TestClient(app):
        app.state.ctx.clock = lambda: at_day(2025, 8, 5)  # the anniversary
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            session.expire_all()
            if permit_by_number(session, number).status == "suspended":
                break
            session.rollback()
            time.sleep(0.1)
        session.expire_all()
        assert card_status(session, card).suspension_reason is SuspensionReason.ENDORSEMENT_OVERDUE
        session.rollback()
        with session_factory(app.state.ctx.engine)() as s:
            runs = last_runs(s)
        assert set(runs) == {"overdue", "deadline", "termination"} and runs["overdue"].holder is None


def test_actor_is_a_duty(engine: Engine) -> None:
    assert duty_ctx(engine).actor("overdue") == Actor("SMX-HB-01", "duty:overdue", "duty")


def test_cli_runs_a_duty_for_cron(db_url: str, build: Builder, session: Session,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from cardsvc.cli import main

    if not db_url.startswith("sqlite"):
        pytest.skip("the CLI drives the same run_duty as above; one backend is enough")
    number, _ = issued(build, session)
    session.close()
    assert main(["duties", "run", "overdue", "--db", db_url, "--at", "2025-08-04T23:59+08:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"duty": "overdue", "ran": True, "outcome": "suspended 0, marked for re-registration 0"}]
    assert main(["duties", "run", "--db", db_url, "--at", "2025-08-05T00:00+08:00"]) == 0  # A, China midnight
    assert capsys.readouterr().out.splitlines() == ["overdue: suspended 1, marked for re-registration 0",
                                                    "deadline: queued 0, overdue 0",
                                                    "termination: to cancel 0, reported late 0"]
    assert main(["duties", "queue", "--db", db_url, "--at", "2025-08-05T12:00+08:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"on": "2025-08-05", "queue": [], "overdue_by_county": {}}
    assert main(["duties", "overdue", "--db", db_url, "--at", "2025-08-05T12:00+08:00"]) == 0
    assert capsys.readouterr().out.strip() == f"{number} due 2025-08-05: 1 day(s) overdue"
    with pytest.raises(SystemExit) as bad:
        main(["duties", "run", "overdue", "--db", db_url, "--at", "2025-08-05"])
    assert bad.value.code == 2 and "has no time zone" in capsys.readouterr().err
