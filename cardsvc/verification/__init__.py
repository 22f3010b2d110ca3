"""Counter verification (design §3): read a presented permit with the fewest APDUs, prove it genuine
(passive + chip authentication, endorsement signatures), judge validity and status, audit the result.

Public API: `verify_card`, `verify_read`, `read_card`, `PermitReader`, `CardRead`, `Verdict`, `Result`,
`Check`, `Outcome`, `CheckResult`, `ReadStats`, `Station`, `AuditRecord`, `log_audit`, `registry_audit`.
"""

from cardsvc.verification.audit import AuditHook, AuditRecord, Station, log_audit, registry_audit
from cardsvc.verification.reader import CardRead, PermitReader, ProblemKind, ReadProblem, TerminalKeys, read_card
from cardsvc.verification.verdict import Check, CheckResult, Outcome, ReadStats, Result, Verdict
from cardsvc.verification.verifier import verify_card, verify_read

__all__ = [
    "AuditHook", "AuditRecord", "CardRead", "Check", "CheckResult", "Outcome", "PermitReader", "ProblemKind",
    "ReadProblem", "ReadStats", "Result", "Station", "TerminalKeys", "Verdict", "log_audit", "read_card",
    "registry_audit", "verify_card", "verify_read",
]
