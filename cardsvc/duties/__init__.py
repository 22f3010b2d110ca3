"""The registry's standing duties (issue 16 item 2): each a function over the registry, run on a schedule
by the service (scheduler), from cron (`cardsvc duties run`), and shown to the clerk (/duties page)."""

from cardsvc.duties.runner import DUTIES, DutyContext, RunResult, run_duty

__all__ = ["DUTIES", "DutyContext", "RunResult", "run_duty"]
