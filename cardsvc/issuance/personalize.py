"""Run a personalization plan through a `CardSession`: detect and wipe a partial card, write, commit.

A card in the reader is one of:
- blank (no EF.DIR: the plan creates it first, so nothing else is there either);
- partial: some top-level file (EF.DIR or an ADF) exists but is not yet ACTIVATED — it is deleted
  and written again;
- a top-level file that is ACTIVATED was complete before its ACTIVATE (activation comes after every
  write of it), so its steps are skipped; when the permit ADF is ACTIVATED the whole card passed its
  commit point and only verification is left (a crash between activation and the registry's record).

The MF is surveyed too. While it is in INITIALISATION everything is open; once the plan has ACTIVATED it
(just before the commit point, or on a card being issued again) its rules bind, and each command at MF
level — DELETE FILE of a partial file, CREATE FILE of a top-level file — goes under secure messaging
after MUTUAL AUTHENTICATE with the per-card issuer key the plan loaded into the MF (`as_issuer`).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from cardsvc.iso7816 import commands as cmd
from cardsvc.iso7816.errors import CardError, FileNotFound
from cardsvc.iso7816.fcp import Fcp, LifeCycle
from cardsvc.issuance.keys import IssuerKeys
from cardsvc.issuance.plan import (
    KeyLoad,
    Op,
    Plan,
    PlanError,
    Step,
    mf_of,
    sfi_of,
)
from cardsvc.layout.image import CardFile
from cardsvc.layout.vocabulary import CHIPKEY_EF, PERMIT_DF, SOD_EF
from cardsvc.security import chip
from cardsvc.security.errors import SecurityError
from cardsvc.security.mutual_auth import secure_session
from cardsvc.session import CardSession

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (steps done, steps in total, what is being done)
AUTH_COMMANDS = 2  # GET CHALLENGE + MUTUAL AUTHENTICATE


class PersonalizationError(CardError):
    """The card refused or could not take the plan (the message names the step)."""


class Unit(enum.Enum):
    ABSENT = "absent"
    PARTIAL = "partial"
    COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class CardSurvey:
    """What personalization found on the card before writing."""

    units: tuple[tuple[str, Unit], ...]  # top-level file name → state, in plan order
    mf_active: bool = False  # the MF's rules bind: MF-level commands need the issuer key under SM

    def state(self, name: str) -> Unit:
        return dict(self.units).get(name, Unit.ABSENT)

    @property
    def blank(self) -> bool:
        return all(u is Unit.ABSENT for _, u in self.units)

    @property
    def committed(self) -> bool:
        return self.state(PERMIT_DF) is Unit.COMPLETE

    @property
    def partial(self) -> tuple[str, ...]:
        return tuple(n for n, u in self.units if u is Unit.PARTIAL)


@dataclass(frozen=True, slots=True)
class WriteResult:
    chip_public_key: bytes | None  # DER SubjectPublicKeyInfo; None when the card was already committed
    contents: dict[str, bytes]  # final bytes of EF.CHIPKEY and EF.SOD as written (empty when committed)
    survey: CardSurvey
    wiped: tuple[str, ...]
    commands: int  # logical commands sent (survey, authentication and wipe included)


def top_level(plan: Plan) -> list[CardFile]:
    """The files created directly in the MF, in plan order (EF.DIR, department ADFs, permit ADF)."""
    mf = mf_of(plan.image)
    seen: list[str] = []
    for step in plan.steps:
        if step.unit and step.unit != mf.name and step.unit not in seen:
            seen.append(step.unit)
    return [plan.image.file(n) for n in seen]


def _fcp(session: CardSession, f: CardFile) -> Fcp | None:
    try:
        return Fcp.parse(session.select_path(list(f.path), fcp=True))
    except FileNotFound:
        return None


def _unit(session: CardSession, f: CardFile) -> Unit:
    fcp = _fcp(session, f)
    if fcp is None:
        return Unit.ABSENT
    if fcp.lifecycle is LifeCycle.ACTIVATED:
        return Unit.COMPLETE
    if fcp.lifecycle in (LifeCycle.CREATION, LifeCycle.INITIALISATION, None):
        return Unit.PARTIAL
    raise PersonalizationError(f"{f.name}: file {f.fid:04X} is {fcp.lifecycle.name}; the card cannot be personalized")


def mf_keys(plan: Plan) -> tuple[KeyLoad, ...]:
    """The keys the plan loads into the MF (the issuer key)."""
    name = mf_of(plan.image).name
    return tuple(k for k in plan.keys if k.df == name)


def _mf_state(session: CardSession, plan: Plan) -> bool:
    """SELECT MF (FCP): whether its rules bind. The card stock's MF rules must be the layout's [mf] rules
    (and so name only keys the plan loads into the MF): other stock could end up locked with a key nobody
    holds, or not locked at all."""
    fcp = _fcp(session, mf_of(plan.image))
    if fcp is None:
        raise PersonalizationError("MF: the card has no MF")
    if fcp.security is None:  # a development card without MF rules: nothing binds, nothing to check
        return False
    expected = mf_of(plan.image).fcp.security
    if fcp.security != expected:
        raise PersonalizationError(
            f"MF: the card's rules ({fcp.security.encode_compact().hex().upper()}) are not those of layout "
            f"{plan.image.layout_id} ({expected.encode_compact().hex().upper() if expected else 'none'}): "
            "wrong card stock for this layout")
    return fcp.lifecycle is LifeCycle.ACTIVATED


def survey(session: CardSession, plan: Plan) -> tuple[CardSurvey, int]:
    """Look at the top-level files by path from the MF (SELECT P1 08, FCP), in plan order, then the MF.

    The plan creates them in order and activates the permit ADF last, so: no first file → blank card;
    permit ADF activated → everything is (two commands); else each until the first absent. Unless the
    card is committed, the survey ends with SELECT MF, which leaves the MF current for the plan.
    """
    units = top_level(plan)
    first = _unit(session, units[0])
    sent = 1
    found: list[tuple[str, Unit]] = [(units[0].name, first)]
    if first is not Unit.ABSENT and len(units) > 1 and units[-1].name == PERMIT_DF:
        sent += 1
        if _unit(session, units[-1]) is Unit.COMPLETE:
            return CardSurvey(tuple((f.name, Unit.COMPLETE) for f in units), mf_active=True), sent
    absent = first is Unit.ABSENT
    for f in units[1:]:
        if absent:
            found.append((f.name, Unit.ABSENT))
            continue
        sent += 1
        unit = _unit(session, f)
        absent = unit is Unit.ABSENT
        found.append((f.name, unit))
    mf_active = _mf_state(session, plan)
    return CardSurvey(tuple(found), mf_active), sent + 1


@contextmanager
def as_issuer(session: CardSession, key: KeyLoad) -> Iterator[None]:
    """Authenticate with the per-card issuer key in the MF (the MF must be current) and send every
    command of the block under secure messaging. The card ends the session on a plain command or when a
    command selects another application (e.g. CREATE FILE of an ADF); so does leaving the block."""
    with ExitStack() as stack:
        try:
            stack.enter_context(secure_session(session, key.value, key.ref, key.cipher))
        except SecurityError as exc:
            raise PersonalizationError(f"MF: authentication with the issuer key failed: {exc}") from None
        yield


def _issuer_key(plan: Plan) -> KeyLoad:
    found = mf_keys(plan)
    if not found:
        raise PersonalizationError("MF: its rules bind, and the plan has no issuer key for the MF")
    return found[0]


def wipe(session: CardSession, plan: Plan, found: CardSurvey) -> tuple[tuple[str, ...], int]:
    """DELETE FILE every partial top-level file, the last created first (the MF is current: the survey
    ended there). Under an active MF this runs under SM with the issuer key."""
    names = tuple(reversed(found.partial))
    if not names:
        return (), 0

    def delete_all() -> None:
        for name in names:
            f = plan.image.file(name)
            session.send(cmd.delete_file(f.fid), context=f"DELETE FILE {name} ({f.fid:04X})")
            log.info("card %s: wiped partial %s", plan.card_number, name)

    if found.mf_active:
        with as_issuer(session, _issuer_key(plan)):
            delete_all()
        return names, AUTH_COMMANDS + len(names)
    delete_all()
    return names, len(names)


def _expected_contents(plan: Plan, chip_key: bytes) -> dict[int, bytes]:
    contents: dict[int, bytes] = {}
    for name in plan.signed_efs:
        f = plan.image.file(name)
        contents[f.fid] = chip_key if name == CHIPKEY_EF else (f.content or b"")
    return contents


def _check_fits(plan: Plan, name: str, data: bytes) -> None:
    size = plan.image.file(name).fcp.size
    if size is not None and len(data) > size:
        raise PlanError(f"{name}: {len(data)} bytes exceed the file size {size}")


def personalize(session: CardSession, plan: Plan, keys: IssuerKeys, authority_code: str, *,
                progress: Progress | None = None, on_chip_key: Callable[[bytes], None] | None = None,
                ) -> WriteResult:
    """Write `plan` to the card in `session` (resuming or wiping what an earlier attempt left).

    Transport errors (card pulled) and card refusals propagate as `CardError`s; the caller decides the
    job state. `authority_code` picks the document signer of EF.SOD. `on_chip_key` gets the chip's new
    public key (EF.CHIPKEY bytes) as soon as the chip generated it, before the commit point: the registry
    records the chip before any card with it can be genuine (design §7); if it raises, nothing more is sent.
    """
    found, sent = survey(session, plan)
    if found.committed:
        log.info("card %s: already past its commit point; only verification is left", plan.card_number)
        return WriteResult(None, {}, found, (), sent)
    wiped, n = wipe(session, plan, found)
    sent += n
    skip = {name for name, unit in found.units if unit is Unit.COMPLETE}
    if found.mf_active:
        skip.add(mf_of(plan.image).name)  # its key is in and its rules bind: nothing left to do there
    top = {f.name for f in top_level(plan)}
    todo: Sequence[Step] = [s for s in plan.steps if s.unit not in skip]
    chip_key: bytes | None = None
    contents: dict[str, bytes] = {}
    for index, step in enumerate(todo):
        if progress is not None:
            progress(index, len(todo), f"{step.op.value} {step.target}")
        if step.op is Op.WRITE_CHIP_KEY:
            assert chip_key is not None, "the plan generates the chip key before writing it"
            _check_fits(plan, CHIPKEY_EF, chip_key)
            session.send(cmd.update_binary(chip_key, sfi=sfi_of(plan.image, CHIPKEY_EF)), context="UPDATE EF.CHIPKEY")
            contents[CHIPKEY_EF] = chip_key
        elif step.op is Op.WRITE_SOD:
            assert chip_key is not None
            sod = keys.sign_sod(authority_code, _expected_contents(plan, chip_key))
            _check_fits(plan, SOD_EF, sod)
            session.send(cmd.update_binary(sod, sfi=sfi_of(plan.image, SOD_EF)), context="UPDATE EF.SOD")
            contents[SOD_EF] = sod
        elif step.op is Op.CREATE and step.target in top and found.mf_active:
            assert step.apdu is not None
            with as_issuer(session, _issuer_key(plan)):  # CREATE FILE in an active MF
                session.send(step.apdu, context=f"{step.op.value} {step.target} (SM)")
            sent += AUTH_COMMANDS
        else:
            assert step.apdu is not None
            response = session.send(step.apdu, context=f"{step.op.value} {step.target}")
            if step.op is Op.GENERATE_CHIP_KEY:
                chip_key = chip.encode_chip_public_key(chip.parse_generated_public_key(response.data, plan.suite))
                if on_chip_key is not None:
                    on_chip_key(chip_key)
        sent += 1
    if progress is not None:
        progress(len(todo), len(todo), "written")
    return WriteResult(chip_key, contents, found, wiped, sent)
