"""`cardsvc issue`: personalize and verify cards, one or a batch across readers or card files."""

from __future__ import annotations

import datetime as dt
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cardsvc.cli.common import (
    LAYOUT,
    actor,
    as_json,
    card_side,
    emit,
    fail,
    layout,
    one_card_source,
    reader_options,
    registry,
    station_keys,
    station_options,
    station_settings,
)
from cardsvc.cli.progress import ProgressLine

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from cardsvc.issuance.jobs import IssueRequest
    from cardsvc.layout import Layout
    from cardsvc.registry import Actor

EVENTS = ("first_issue", "replacement", "renewal", "correction")  # cardsvc.rules.fees.CardEvent values


def _requests(factory: sessionmaker[Session], layout: Layout, who: Actor, event_name: str,
              permit_numbers: Sequence[str], sample: int | None, seed: int | None,
              key: str | None) -> list[IssueRequest]:
    from dataclasses import replace

    from cardsvc.issuance.demo import register_permit
    from cardsvc.issuance.jobs import IssueRequest
    from cardsvc.issuance.prepare import job_card_number, stamp_first_issue
    from cardsvc.permit.permit_number import make_permit_number, parse_permit_number
    from cardsvc.permit.record import load_permit
    from cardsvc.registry.endorsements import carried_endorsements
    from cardsvc.registry.lookup import local_date, permit_by_number
    from cardsvc.rules.fees import CardEvent
    from cardsvc.samples import generate_permit

    event = CardEvent(event_name)
    out = []
    if sample:
        rng = random.Random(seed)
        today = dt.datetime.now(dt.UTC).date()
        for _ in range(sample):
            permit = generate_permit(layout, rng, today=today, minor=False, max_endorsements=0)  # a first issue
            # made today, as the service stamps a first issue (cardsvc.issuance.prepare): valid from now
            # (the permit number's year part is the issue year: validate_permit checks it at every door)
            permit = replace(permit, issue_date=today, valid_until=layout.rules.validity.add_to(today),
                             permit_number=make_permit_number(permit.authority.code, today.year,
                                                              parse_permit_number(permit.permit_number).serial))
            register_permit(factory, who, permit, layout)
            out.append(IssueRequest(permit, layout, f"issue-{permit.card_number}", event))
        return out
    for number in permit_numbers:
        with factory.begin() as s:  # the same preparation as the service's jobs (cardsvc.issuance.prepare)
            row = permit_by_number(s, number)
            permit = load_permit(row.data)
            first = event is CardEvent.FIRST_ISSUE
            if first and permit.card_number and not key:  # a station-registered permit names its card
                job_key, card_number, resumed = f"issue-{permit.card_number}", permit.card_number, False
            else:  # a new generation, or a permit registered at a counter: a free card number
                job_key = key or (f"issue-{number}" if first else f"issue-{number}-{random.getrandbits(48):012x}")
                card_number, resumed = job_card_number(s, layout, job_key)
            if first and not resumed and not permit.card_number:
                permit = stamp_first_issue(row, layout, local_date(dt.datetime.now(dt.UTC)))
            # issue 12: every generation carries the permit's endorsements (as the service's jobs do)
            permit = replace(permit, endorsements=(*permit.endorsements, *carried_endorsements(s, row, layout)))
        out.append(IssueRequest(replace(permit, card_number=card_number), layout, job_key, event))
    return out


@click.command("issue", help="personalize and verify cards (a batch across readers)")
@click.option("--layout", "layout_id", type=LAYOUT, required=True, help="city card layout")
@station_options
@reader_options(many=True, wait=120.0)
@click.option("--permit-number", multiple=True, metavar="N", help="a pending permit in the registry (repeat)")
@click.option("--sample", type=int, metavar="N", help="register N synthetic approved permits and issue them")
@click.option("--seed", type=int, help="seed for --sample")
@click.option("--event", type=click.Choice(EVENTS), default="first_issue", show_default=True)
@click.option("--key", help="idempotency key (default: issue-<card number>); reuse it to resume")
@click.option("--quiet", is_flag=True, help="no progress line")
def issue(layout_id: str, db: str | None, keystore: Path | None, station: str | None, operator: str | None,
          reader: tuple[str, ...], card: tuple[Path, ...], wait: float, permit_number: tuple[str, ...],
          sample: int | None, seed: int | None, event: str, key: str | None, quiet: bool) -> int:
    one_card_source(reader, card, required=True)
    if bool(permit_number) == (sample is not None):
        raise click.UsageError("give either --permit-number (repeatable) or --sample N")
    from cardsvc.issuance.batch import run_batch
    from cardsvc.issuance.feeds import CardFileFeed, PcscFeed
    from cardsvc.issuance.jobs import IssuanceService

    s = station_settings(db, keystore, station, operator)
    lay = layout(s, layout_id)
    factory = registry(s)
    who = actor(s, "print_station")
    requests = _requests(factory, lay, who, event, permit_number, sample, seed, key)
    if not requests:
        return fail("issue", "nothing to issue (give --permit-number or --sample N)")
    service = IssuanceService(factory, who, station_keys(s))
    feeds: Sequence[Any]
    if card:
        if len(card) < len(requests):
            return fail("issue", f"{len(requests)} permits need {len(requests)} --card files")
        side = card_side()  # here: the batch's worker threads have no click context
        feeds = [CardFileFeed(path.name, [path], lambda p: side.open_card_file(p, create=True))
                 for path in card[: len(requests)]]
    else:
        prompt = None if as_json() else (lambda text: print(text, file=sys.stderr))
        feeds = [PcscFeed(name, prompt=prompt, wait=wait) for name in reader]
    progress = None if quiet else ProgressLine(len(requests))
    result = run_batch(service, requests, feeds, progress=progress)
    rows: list[dict[str, Any]] = []
    for index, request in enumerate(requests):
        outcome = result.outcomes.get(index)
        rows.append({
            "permit_number": request.permit.permit_number, "card_number": request.permit.card_number,
            "reader": result.readers.get(index), "job_id": outcome.job_id if outcome else None,
            "state": outcome.state.value if outcome else "error", "attempts": outcome.attempts if outcome else 0,
            "error": (outcome.error if outcome else result.errors.get(index)),
            "commands": (outcome.write.commands + outcome.verification.commands)
            if outcome and outcome.write and outcome.verification else None,
        })
    text = "\n".join(f"{r['card_number']}  {r['state']:<16} {r['reader'] or '-'}"
                     f"{'  ' + r['error'] if r['error'] else ''}" for r in rows)
    text += f"\n{result.issued}/{len(requests)} issued in {result.seconds:.1f} s"
    emit({"issued": result.issued, "seconds": round(result.seconds, 3), "cards": rows}, text)
    return 0 if result.issued == len(requests) else 1
