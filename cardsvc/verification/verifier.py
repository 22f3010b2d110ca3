"""Counter verification: read the card, then judge what was read. Never raises.

Order and dependencies (fail closed: a check that cannot run is NOT_RUN, never PASS):

    READ           every needed file read; the permit ADF ACTIVATED
    PASSIVE_AUTH   EF.SOD → document signer → root, CRL; every file hashed exactly as read
    CHIP_AUTH      the chip signs our fresh challenge with the (authenticated) key of EF.CHIPKEY
    DATA           the authenticated bytes decode per the layout and agree; authority = SOD signer's
    ENDORSEMENTS   each record signed for this card and position by a trusted endorsement signer
    VALIDITY       latest valid-until vs today, with the city's grace          (needs the above)
    STATUS         lost / suspended / revoked / cancelled                       (needs the above)

Validity and status are judged only on data passive authentication vouched for: an unauthenticated card
number must not be looked up as if it were the card's.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from cardsvc.layout.codec import changes_ef
from cardsvc.layout.schema import Content, Layout, Structure
from cardsvc.layout.vocabulary import CHIPKEY_EF, PERMIT_DF
from cardsvc.permit.model import Change, Endorsement
from cardsvc.security.chip import CHIP_KEY_REF
from cardsvc.security.kdf import SymmetricCipher
from cardsvc.security.pki import TrustStore
from cardsvc.security.suite import layout_suite
from cardsvc.session import CardSession
from cardsvc.transport.base import Connection
from cardsvc.verification import assess, audit
from cardsvc.verification.checks import chip_auth, passive_auth
from cardsvc.verification.endorsements import check_endorsements
from cardsvc.verification.reader import (
    DEFAULT_BUDGET,
    CardRead,
    PermitReader,
    ProblemKind,
    TerminalKeys,
)
from cardsvc.verification.verdict import Check, CheckResult, Outcome, Result, Verdict

log = logging.getLogger(__name__)

CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8))  # "today" at a counter in Henan


def required_files(layout: Layout) -> frozenset[str]:
    """The EFs EF.SOD must cover: permit data in the permit ADF, and the chip key."""
    return frozenset(ef.name for ef in layout.efs if ef.parent == PERMIT_DF and (
        (ef.content is Content.PERMIT and ef.structure is Structure.TRANSPARENT) or ef.name == CHIPKEY_EF))


def read_check(read: CardRead) -> CheckResult:
    """Every needed file read. A missing chip key is the chip check's finding (CLONED), not a read error."""
    problems = [p for p in read.problems if p.kind is not ProblemKind.NO_CHIP_KEY]
    if not problems:
        return CheckResult.passed(Check.READ, f"{len(read.files)} files and "
                                              f"{sum(len(r) for r in read.records.values())} records read")
    text = "; ".join(f"{p.step}: {p.reason}" for p in problems)
    if any(p.kind is ProblemKind.NOT_ACTIVATED for p in problems):
        text = "personalization incomplete: " + text
    return CheckResult.failed(Check.READ, Result.UNREADABLE, text)


def _times(today: dt.date | None, now: dt.datetime | None) -> tuple[dt.date, dt.datetime]:
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("now: must be timezone-aware")
    return (today if today is not None else moment.astimezone(CHINA_STANDARD_TIME).date()), moment


def _judge(read: CardRead, layout: Layout, trust: TrustStore, status: assess.StatusLookup | None,
           today: dt.date, now: dt.datetime) -> Verdict:
    suite = layout_suite(layout)
    trust = trust.with_suite(suite)  # every SM2 signature of this card is checked under the layout's signer ID
    checks: list[CheckResult] = [read_check(read)]
    passive = passive_auth(read, trust, now, required_files(layout))
    checks.append(passive.result)
    checks.append(chip_auth(read, passive, suite))
    data = assess.decode_data(read.files, layout, passive.sod)
    checks.append(data.result)
    trusted = passive.result.outcome is Outcome.PASS and data.result.outcome is Outcome.PASS
    upstream = passive.result if passive.result.outcome is not Outcome.PASS else data.result
    endorsed: tuple[Endorsement, ...] = ()
    changed: tuple[Change, ...] = ()
    changes = changes_ef(layout)
    if not trusted:
        endorsement_result = CheckResult.blocked(Check.ENDORSEMENTS, upstream)
    elif "endorse" in read.fids and "endorse" not in read.records:
        endorsement_result = CheckResult.not_run(Check.ENDORSEMENTS, Result.UNREADABLE, "EF.ENDORSE not read")
    else:  # the endorsement records and the change registrations (ZZ Art.14), each signed for this card
        found = check_endorsements(read.records.get("endorse", ()), data.card_number, layout, trust, now,
                                   read.records.get(changes.name, ()) if changes is not None else ())
        endorsement_result, endorsed, changed = found.result, found.endorsements, found.changes
    checks.append(endorsement_result)
    until = data.values.get("valid_until")
    if trusted and endorsement_result.outcome is Outcome.PASS and isinstance(until, dt.date):
        checks.append(assess.validity(layout, until, endorsed, today))
    else:
        checks.append(CheckResult.blocked(Check.VALIDITY, upstream if not trusted else endorsement_result))
    if trusted and data.card_number is not None:
        chip = next(c for c in checks if c.check is Check.CHIP_AUTH)
        proved = read.files.get(CHIPKEY_EF) if chip.outcome is Outcome.PASS else None
        on_card = len(read.records["endorse"]) if "endorse" in read.records else None
        checks.append(assess.status(status, data.card_number, now, chip_key=proved, endorsements=on_card))
    else:
        checks.append(CheckResult.blocked(Check.STATUS, upstream))
    photo = data.values.get("photo")
    display = assess.display_values(data.values)
    if trusted:  # what the clerk sees as current: the latest signed records' (SMX Art.16-17, ZZ Art.13-14)
        display.update(assess.current_values(data.values, endorsed, changed))
    return Verdict.decide(tuple(checks), card_number=data.card_number, display=display,
                          endorsements=tuple(assess.endorsement_display(e) for e in endorsed),
                          changes=tuple(assess.change_display(c) for c in changed),
                          stats=read.stats, verified_at=now, photo=photo if isinstance(photo, bytes) else None)


def _crashed(stage: Check, exc: Exception, now: dt.datetime, read: CardRead | None = None) -> Verdict:
    log.error("verification %s failed unexpectedly: %s", stage.value, type(exc).__name__)
    log.debug("verifier failure", exc_info=True)
    check = CheckResult.failed(stage, Result.UNREADABLE, f"{type(exc).__name__}: {exc}")
    return Verdict.decide((check,), stats=read.stats if read else None, verified_at=now)


def verify_read(read: CardRead, layout: Layout, trust: TrustStore, status: assess.StatusLookup | None,
                today: dt.date | None = None, *, now: dt.datetime | None = None,
                station: audit.Station | None = None, audit_hook: audit.AuditHook | None = None) -> Verdict:
    """Judge a ``CardRead``. ``today`` (validity) defaults to ``now``'s date in China; ``now`` (signer,
    CRL and status times) to the current time. Never raises."""
    when = now if now is not None and now.tzinfo is not None else dt.datetime.now(dt.UTC)
    try:
        day, when = _times(today, now)
        verdict = _judge(read, layout, trust, status, day, when)
    except Exception as exc:  # the boundary: whatever the card made of us, the answer is a verdict
        verdict = _crashed(Check.PASSIVE_AUTH, exc, when, read)
    audit.record(verdict, station, audit_hook, when)
    log.info("verification: %s", verdict.summary())
    return verdict


IMAGE_NO_CHIP = "a card image proves its data, not a chip: the chip check is not run for an image"
IMAGE_DEV_CHIP = ("DEV MODE: chip check run with the private key the image carries; an image is not a chip and "
                  "this proves nothing about one")


def image_verdict(verdict: Verdict, *, dev: bool) -> Verdict:
    """The verdict of a card image rather than a card (design §7, issue 13). An image carries the chip's
    private key, so its 'chip authentication' proves nothing: the chip check becomes NOT_RUN (CLONED: no
    chip proved it holds the key) and the image is never GENUINE_VALID. In dev mode the check stays as run,
    and its detail says so."""
    checks = []
    for c in verdict.checks:
        if c.check is Check.CHIP_AUTH:
            c = (replace(c, detail=f"{IMAGE_DEV_CHIP} ({c.detail})") if dev
                 else CheckResult.not_run(Check.CHIP_AUTH, Result.CLONED, IMAGE_NO_CHIP))
        checks.append(c)
    return Verdict.decide(tuple(checks), card_number=verdict.card_number, display=verdict.display,
                          endorsements=verdict.endorsements, changes=verdict.changes, stats=verdict.stats,
                          verified_at=verdict.verified_at,
                          photo=verdict.photo)


def verify_card(source: Connection | CardSession, layout: Layout, trust: TrustStore,
                status: assess.StatusLookup | None, today: dt.date | None = None,
                keys: TerminalKeys | None = None, *, now: dt.datetime | None = None,
                station: audit.Station | None = None, audit_hook: audit.AuditHook | None = None,
                chip_key_ref: int = CHIP_KEY_REF, cipher: SymmetricCipher | None = None,
                budget: float = DEFAULT_BUDGET) -> Verdict:
    """Read the card behind ``source`` with the fewest APDUs and judge it; ``keys`` gives the per-card
    counter key (e.g. ``lambda role, card: ceremony.card_key(store, role, card)``). Never raises."""
    when = now if now is not None and now.tzinfo is not None else dt.datetime.now(dt.UTC)
    try:
        read = PermitReader(source, layout, keys=keys, chip_key_ref=chip_key_ref, cipher=cipher,
                            budget=budget).read()
    except Exception as exc:
        verdict = _crashed(Check.READ, exc, when)
        audit.record(verdict, station, audit_hook, when)
        return verdict
    return verify_read(read, layout, trust, status, today=today, now=now, station=station, audit_hook=audit_hook)
