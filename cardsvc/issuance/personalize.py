"""Run a personalization plan through a `CardSession`: detect and wipe a partial card, write, commit.

A card in the reader is one of:
- blank (no EF.DIR: the plan creates it first, so nothing else is there either);
- partial: some top-level file (EF.DIR or an ADF) exists but is not yet ACTIVATED — it is deleted
  (DELETE FILE is open while it is in INITIALISATION) and written again;
- a top-level file that is ACTIVATED was complete before its ACTIVATE (activation comes after every
  write of it), so its steps are skipped; when the permit ADF is ACTIVATED the whole card passed its
  commit point and only verification is left (a crash between activation and the registry's record).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cardsvc.iso7816.errors import CardError, FileNotFound
from cardsvc.iso7816.fcp import Fcp, LifeCycle
from cardsvc.issuance.keys import IssuerKeys
from cardsvc.issuance.plan import (
    CHIPKEY_EF,
    PERMIT_DF,
    SOD_EF,
    Op,
    Plan,
    PlanError,
    Step,
    delete_command,
    select_mf_command,
    sfi_of,
    update_command,
)
from cardsvc.layout.image import CardFile
from cardsvc.security import chip
from cardsvc.session import CardSession

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (steps done, steps in total, what is being done)


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
    commands: int  # logical commands sent (survey and wipe included)


def top_level(plan: Plan) -> list[CardFile]:
    """The files created directly in the MF, in plan order (EF.DIR, department ADFs, permit ADF)."""
    order = [s.unit for s in plan.steps if s.unit]
    seen: list[str] = []
    for name in order:
        if name not in seen:
            seen.append(name)
    return [plan.image.file(n) for n in seen]


def _unit(session: CardSession, f: CardFile) -> Unit:
    try:
        fcp = Fcp.parse(session.select_path([f.fid], fcp=True))
    except FileNotFound:
        return Unit.ABSENT
    if fcp.lifecycle is LifeCycle.ACTIVATED:
        return Unit.COMPLETE
    if fcp.lifecycle in (LifeCycle.CREATION, LifeCycle.INITIALISATION, None):
        return Unit.PARTIAL
    raise PersonalizationError(f"{f.name}: file {f.fid:04X} is {fcp.lifecycle.name}; the card cannot be personalized")


def survey(session: CardSession, plan: Plan) -> tuple[CardSurvey, int]:
    """Look at the top-level files by path from the MF (SELECT P1 08, FCP), in plan order.

    The plan creates them in order and activates the permit ADF last, so: no first file → blank card
    (one command); permit ADF activated → everything is (two commands); else each until the first absent.
    """
    units = top_level(plan)
    first = _unit(session, units[0])
    if first is Unit.ABSENT:
        return CardSurvey(tuple((f.name, Unit.ABSENT) for f in units)), 1
    sent = 1
    if len(units) > 1 and units[-1].name == PERMIT_DF:
        sent += 1
        if _unit(session, units[-1]) is Unit.COMPLETE:
            return CardSurvey(tuple((f.name, Unit.COMPLETE) for f in units)), sent
    found: list[tuple[str, Unit]] = [(units[0].name, first)]
    absent = False
    for f in units[1:]:
        if absent:
            found.append((f.name, Unit.ABSENT))
            continue
        sent += 1
        unit = _unit(session, f)
        absent = unit is Unit.ABSENT
        found.append((f.name, unit))
    return CardSurvey(tuple(found)), sent


def wipe(session: CardSession, plan: Plan, found: CardSurvey) -> tuple[tuple[str, ...], int]:
    """DELETE FILE every partial top-level file (rules do not bind before activation)."""
    names = found.partial
    if not names:
        return (), 0
    session.send(select_mf_command(), context="SELECT MF")
    for name in names:
        f = plan.image.file(name)
        session.send(delete_command(f.fid), context=f"DELETE FILE {name} ({f.fid:04X})")
        log.info("card %s: wiped partial %s", plan.card_number, name)
    return names, 1 + len(names)


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
                progress: Progress | None = None) -> WriteResult:
    """Write `plan` to the card in `session` (resuming or wiping what an earlier attempt left).

    Transport errors (card pulled) and card refusals propagate as `CardError`s; the caller decides the
    job state. `authority_code` picks the document signer of EF.SOD.
    """
    found, sent = survey(session, plan)
    if found.committed:
        log.info("card %s: already past its commit point; only verification is left", plan.card_number)
        return WriteResult(None, {}, found, (), sent)
    wiped, n = wipe(session, plan, found)
    sent += n
    skip = {name for name, unit in found.units if unit is Unit.COMPLETE}
    if not found.blank:
        session.send(select_mf_command(), context="SELECT MF")  # the plan starts in the MF
        sent += 1
    todo: Sequence[Step] = [s for s in plan.steps if s.unit not in skip]
    chip_key: bytes | None = None
    contents: dict[str, bytes] = {}
    for index, step in enumerate(todo):
        if progress is not None:
            progress(index, len(todo), f"{step.op.value} {step.target}")
        if step.op is Op.WRITE_CHIP_KEY:
            assert chip_key is not None, "the plan generates the chip key before writing it"
            _check_fits(plan, CHIPKEY_EF, chip_key)
            session.send(update_command(chip_key, sfi=sfi_of(plan.image, CHIPKEY_EF)), context="UPDATE EF.CHIPKEY")
            contents[CHIPKEY_EF] = chip_key
        elif step.op is Op.WRITE_SOD:
            assert chip_key is not None
            sod = keys.sign_sod(authority_code, _expected_contents(plan, chip_key))
            _check_fits(plan, SOD_EF, sod)
            session.send(update_command(sod, sfi=sfi_of(plan.image, SOD_EF)), context="UPDATE EF.SOD")
            contents[SOD_EF] = sod
        else:
            assert step.apdu is not None
            response = session.send(step.apdu, context=f"{step.op.value} {step.target}")
            if step.op is Op.GENERATE_CHIP_KEY:
                chip_key = chip.encode_chip_public_key(chip.parse_generated_public_key(response.data))
        sent += 1
    if progress is not None:
        progress(len(todo), len(todo), "written")
    return WriteResult(chip_key, contents, found, wiped, sent)
