"""Audit of verifications: the registry hook and the log hook record who, when, which card, the verdict."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from cardsvc.registry import make_engine, migrate, session_factory
from cardsvc.registry.models import AuditEntry
from cardsvc.verification import AuditRecord, Check, CheckResult, Result, Station, Verdict, log_audit, registry_audit
from cardsvc.verification.audit import record

AT = dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.UTC)
LOST = Verdict.decide((CheckResult.passed(Check.PASSIVE_AUTH),
                       CheckResult.failed(Check.STATUS, Result.LOST, "reported lost")),
                      card_number="410100000000071",
                      display={"name": "阿依古丽·吐尔逊", "citizen_id": "11010519491231002X"})


def test_registry_hook_writes_one_entry_without_personal_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        with factory.begin() as session:
            record(LOST, Station("ZZ-COUNTER-07", "clerk42"), registry_audit(session), AT)
        with factory() as session:
            (entry,) = session.scalars(select(AuditEntry)).all()
        assert (entry.station_id, entry.operator, entry.role, entry.action, entry.card_number) == (
            "ZZ-COUNTER-07", "clerk42", "counter", "card.verify", "410100000000071")
        assert entry.at.replace(tzinfo=dt.UTC) == AT and "lost" in entry.reason and "status=fail" in entry.reason
        assert "11010519491231002X" not in entry.reason and "阿依古丽" not in entry.reason
    finally:
        engine.dispose()


def test_log_hook_writes_one_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cardsvc.verification.audit"):
        log_audit(AuditRecord.of(LOST, Station("S1", "op"), AT))
    (line,) = [r.getMessage() for r in caplog.records]
    assert "station=S1 operator=op" in line and "card=410100000000071 result=lost" in line
    assert "11010519491231002X" not in line


@pytest.mark.parametrize(("station_id", "operator"), [("", "op"), ("S", ""), ("S" * 65, "op")])
def test_station_names_are_checked(station_id: str, operator: str) -> None:
    with pytest.raises(ValueError, match="station"):
        Station(station_id, operator)
