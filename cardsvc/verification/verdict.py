"""The verdict of a counter verification: one overall result, every check's own result, display data.

Fail closed: a check is PASS only when it ran to the end and found nothing wrong; a check that could not
run is NOT_RUN and, like FAIL, keeps the overall result from being GENUINE_VALID.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Result(StrEnum):
    """Overall result. Failures are listed from the most to the least severe (see ``SEVERITY``)."""

    GENUINE_VALID = "genuine_valid"
    TAMPERED = "tampered"  # a signed byte differs (ZZ Art.23: altering); or EF.SOD itself is damaged
    UNTRUSTED_ISSUER = "untrusted_issuer"  # document/endorsement signer not from a trusted root
    SIGNER_EXPIRED = "signer_expired"  # signer or root certificate outside its validity
    SIGNER_REVOKED = "signer_revoked"  # signer on the root's CRL
    CLONED = "cloned"  # the chip cannot prove it holds the key in EF.CHIPKEY (ZZ Art.23: forging)
    # The registry never recorded this card as issued: number pending or spoiled, unknown, or recorded for
    # another chip, or its endorsement records differ from the registry's (design §7).
    NOT_ISSUED = "not_issued"
    CANCELLED = "cancelled"  # ZZ Art.25 注销
    REVOKED = "revoked"  # superseded: replaced (补领), renewed (换领), corrected (SMX Art.20, ZZ Art.15/27)
    LOST = "lost"  # ZZ Art.16-17 reported lost
    SUSPENDED = "suspended"  # SMX Art.19, with a reason
    EXPIRED = "expired"  # needs endorsement (SMX Art.16/18, ZZ Art.13)
    UNREADABLE = "unreadable"  # the card or a response could not be read or parsed
    REVOCATION_UNKNOWN = "revocation_unknown"  # no current CRL: signer revocation cannot be decided
    STATUS_UNKNOWN = "status_unknown"  # no fresh status list / online answer

    @property
    def genuine_valid(self) -> bool:
        return self is Result.GENUINE_VALID


# Design §6 contact links: ~412 kbit/s after PPS, and the default 9600 bit/s (3.57 MHz, Fi 372, Di 1).
LINK_RATES = (412_000, 9_600)
SEVERITY: tuple[Result, ...] = tuple(r for r in Result if r is not Result.GENUINE_VALID)


class Check(StrEnum):
    READ = "read"  # every needed file read from the card
    PASSIVE_AUTH = "passive_auth"  # EF.SOD signature → document signer → root, CRL, every file hash
    CHIP_AUTH = "chip_auth"  # fresh challenge signed by the chip key of EF.CHIPKEY
    DATA = "data"  # the authenticated bytes decode per the layout and agree with each other
    ENDORSEMENTS = "endorsements"  # every endorsement record's signature and binding
    VALIDITY = "validity"  # valid-until of the latest endorsement vs today, with the city's grace
    STATUS = "status"  # lost / suspended / revoked / cancelled from the status list


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_RUN = "not_run"


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    outcome: Outcome
    result: Result | None = None  # the failure this check found (None when it passed)
    detail: str = ""

    @classmethod
    def passed(cls, check: Check, detail: str = "") -> CheckResult:
        return cls(check, Outcome.PASS, None, detail)

    @classmethod
    def failed(cls, check: Check, result: Result, detail: str) -> CheckResult:
        return cls(check, Outcome.FAIL, result, detail)

    @classmethod
    def not_run(cls, check: Check, result: Result, detail: str) -> CheckResult:
        """Could not run: fail closed with the result that says why (e.g. UNREADABLE)."""
        return cls(check, Outcome.NOT_RUN, result, detail)

    @classmethod
    def blocked(cls, check: Check, upstream: CheckResult) -> CheckResult:
        """Not run because ``upstream`` did not pass: carries upstream's finding, adds none of its own."""
        return cls(check, Outcome.NOT_RUN, upstream.result or Result.UNREADABLE,
                   f"not run: {upstream.check.value} did not pass")

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check.value, "outcome": self.outcome.value,
                "result": self.result.value if self.result else None, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ReadStats:
    """What reading cost: APDUs on the wire and bytes, against the bytes stored in the files needed."""

    apdus: int = 0
    command_bytes: int = 0  # command APDUs as sent
    response_bytes: int = 0  # response APDUs as received (data + SW)
    file_bytes_read: int = 0  # file data the card returned to READ BINARY / READ RECORD
    file_bytes_stored: int = 0  # bytes of data in the files read (what a perfect reader reads)
    seconds: float = 0.0

    @property
    def read_ratio(self) -> float:
        return self.file_bytes_read / self.file_bytes_stored if self.file_bytes_stored else 0.0

    def link_seconds(self, bit_rate: float) -> tuple[float, float]:
        """(modeled time of this read's traffic, the floor: the stored bytes alone) on a contact link of
        ``bit_rate`` bit/s, at 11 etu per byte (T=1 with the minimum character guard time, ISO 7816-3
        §11.2) and no turnaround time."""
        etu = 11 / bit_rate
        return (self.command_bytes + self.response_bytes) * etu, self.file_bytes_stored * etu

    def to_dict(self) -> dict[str, Any]:
        return {"apdus": self.apdus, "command_bytes": self.command_bytes, "response_bytes": self.response_bytes,
                "file_bytes_read": self.file_bytes_read, "file_bytes_stored": self.file_bytes_stored,
                "read_ratio": round(self.read_ratio, 4), "milliseconds": round(self.seconds * 1000, 3),
                "modeled_ms": {f"{rate} bit/s": [round(t * 1000, 1) for t in self.link_seconds(rate)]
                               for rate in LINK_RATES}}


@dataclass(frozen=True, slots=True)
class Verdict:
    result: Result
    checks: tuple[CheckResult, ...]
    card_number: str | None = None  # from EF.CARD (authenticated only when PASSIVE_AUTH passed)
    display: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    endorsements: tuple[Mapping[str, str], ...] = ()
    changes: tuple[Mapping[str, str], ...] = ()  # change registrations on the card (ZZ Art.14)
    stats: ReadStats | None = None
    verified_at: dt.datetime | None = None
    photo: bytes | None = field(default=None, repr=False)  # JPEG for the clerk's screen

    @classmethod
    def decide(cls, checks: tuple[CheckResult, ...], **rest: Any) -> Verdict:
        """The overall result: GENUINE_VALID only if every check passed, else the most severe finding."""
        found = {c.result for c in checks if c.outcome is not Outcome.PASS}
        if not checks:
            found.add(Result.UNREADABLE)
        result = next((r for r in SEVERITY if r in found), None)
        if result is None:
            # a failed check without a result cannot happen by construction; fail closed anyway
            result = Result.UNREADABLE if found else Result.GENUINE_VALID
        return cls(result, checks, **rest)

    @property
    def genuine_valid(self) -> bool:
        return self.result is Result.GENUINE_VALID

    def check(self, check: Check) -> CheckResult:
        for c in self.checks:
            if c.check is check:
                return c
        return CheckResult.not_run(check, Result.UNREADABLE, "not reached")

    def summary(self) -> str:
        """One line without personal data: result, card number, the failing checks."""
        bad = [f"{c.check.value}={c.outcome.value}" for c in self.checks if c.outcome is not Outcome.PASS]
        return f"{self.result.value} card={self.card_number or '-'}" + (f" ({', '.join(bad)})" if bad else "")

    def to_dict(self, *, include_display: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "result": self.result.value, "card_number": self.card_number,
            "checks": [c.to_dict() for c in self.checks],
            "stats": self.stats.to_dict() if self.stats else None,
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
        }
        if include_display:
            out["display"] = dict(self.display)
            out["endorsements"] = [dict(e) for e in self.endorsements]
            out["changes"] = [dict(c) for c in self.changes]
            out["photo_bytes"] = len(self.photo) if self.photo is not None else None
        return out
