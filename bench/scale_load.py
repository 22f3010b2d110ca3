"""Synthetic registry at city scale, loaded into PostgreSQL by COPY (issue 15 item 5).

One Zhengzhou registry (the city with millions of residents; each city publishes its own list): N
applicants, N permits, N cards, one card per permit. 10% of the cards are not active, in the shares a
registry would see (lost, suspended with an SMX Art.19 reason, replaced, cancelled, not yet issued,
spoiled); card serials are random over the layout's serial space, as the registry allocates them
(`registry.jobs.new_card_number`). No personal data: the permit record is `{"endorsements": []}`.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

from cardsvc.layout import Layout
from cardsvc.permit.iso7064 import mod11_2
from cardsvc.rules.status import CardStatus, PermitStatus, SuspensionReason

CHUNK = 50_000
# Shares of the not-active 10% (sum 1): what the status list carries.
NOT_ACTIVE = (
    (CardStatus.LOST, PermitStatus.LOST, 0.30),
    (CardStatus.SUSPENDED, PermitStatus.SUSPENDED, 0.15),
    (CardStatus.REPLACED, PermitStatus.ACTIVE, 0.20),
    (CardStatus.CANCELLED, PermitStatus.CANCELLED, 0.20),
    (CardStatus.PENDING, PermitStatus.PENDING, 0.10),
    (CardStatus.SPOILED, PermitStatus.PENDING, 0.05),
)
_CHARS = "10X98765432"


class CheckDigits:
    """ISO 7064 MOD 11-2 for `prefix` + `digits`-digit serials at ~0.3 µs each (the sum is linear in the
    digits: two 5-digit tables), checked against `cardsvc.permit.iso7064.mod11_2` on a sample."""

    def __init__(self, prefix: str, digits: int) -> None:
        if not 5 <= digits <= 10:
            raise ValueError("serial digits: 5-10")
        self.prefix, self.digits = prefix, digits
        weights = [pow(2, 5 - i, 11) for i in range(5)]
        self.t5 = [sum(int(c) * w for c, w in zip(f"{x:05d}", weights, strict=True)) % 11 for x in range(100_000)]
        p = sum(int(c) * pow(2, len(prefix) - i, 11) for i, c in enumerate(prefix)) % 11
        self.base = p * pow(2, digits - 5, 11) % 11
        for serial in random.Random(1).sample(range(10**digits), 200):
            body = f"{prefix}{serial:0{digits}d}"
            assert self.number(serial) == body + mod11_2(body), serial

    def number(self, serial: int) -> str:
        hi, lo = divmod(serial, 100_000)
        total = ((self.base + self.t5[hi]) * 32 + self.t5[lo]) % 11
        return f"{self.prefix}{serial:0{self.digits}d}{_CHARS[total]}"


@dataclass
class Loaded:
    permits: int
    not_active: int
    seconds: float
    sample_cards: list[str]  # card numbers spread over the table, for lookups
    card_ids: dict[str, list[int]]  # by card status: ids of cards in it (for a day's changes)


def _lines(rows: Iterator[str]) -> Iterator[bytes]:
    buf = io.StringIO()
    n = 0
    for row in rows:
        buf.write(row)
        n += 1
        if n == CHUNK:
            yield buf.getvalue().encode()
            buf, n = io.StringIO(), 0
    if n:
        yield buf.getvalue().encode()


def load(dsn: str, layout: Layout, permits: int, *, seed: int = 15, not_active_share: float = 0.10) -> Loaded:
    """COPY `permits` applicants, permits and cards into a migrated, empty registry; returns what the
    measurements need. Ids are set here, then the id sequences moved past them."""
    import psycopg

    started = time.perf_counter()
    rng = random.Random(seed)
    cards = CheckDigits(layout.card_number.prefix, layout.card_number.serial_digits)
    authority = layout.authorities[0].code
    permit_numbers = CheckDigits(authority, 10)  # year (4) + serial (6): 16-digit body, as make_permit_number
    serials = rng.sample(range(10**layout.card_number.serial_digits), permits)
    statuses = [CardStatus.ACTIVE] * permits
    permit_status = [PermitStatus.ACTIVE] * permits
    chosen = rng.sample(range(permits), int(permits * not_active_share))
    at = 0
    for card_status, p_status, share in NOT_ACTIVE:
        take = round(len(chosen) * share) if card_status is not NOT_ACTIVE[-1][0] else len(chosen) - at
        for i in chosen[at:at + take]:
            statuses[i], permit_status[i] = card_status, p_status
        at += take
    reasons = list(SuspensionReason)
    now = dt.datetime.now(dt.UTC).isoformat()
    key = os.urandom(65)  # one chip key shape for all: the lookup hashes whatever is stored
    key_hex = "\\\\x" + key.hex()
    city = layout.rules.city

    def applicants() -> Iterator[str]:
        for i in range(1, permits + 1):
            # A synthetic, never valid citizen id: "B" + 17 digits (18 characters, unique).
            yield f"{i}\tB{i:017d}\t1990-01-01\t{{}}\t{now}\n"

    def permit_rows() -> Iterator[str]:
        for i in range(1, permits + 1):
            year, serial = divmod(i - 1, 999_999)
            number = permit_numbers.number((2000 + year) * 1_000_000 + serial + 1)
            status = permit_status[i - 1]
            reason = reasons[i % len(reasons)].value if status is PermitStatus.SUSPENDED else "\\N"
            yield (f"{i}\t{number}\t{i}\t\\N\tB{i:017d}\t{city}\t{layout.id}\t{authority}\t{status.value}\t"
                   f"{reason}\t2025-01-01\t1\t{{\"endorsements\": []}}\t{now}\t{now}\n")

    def card_rows() -> Iterator[str]:
        for i in range(1, permits + 1):
            status = statuses[i - 1]
            issued = "\\N" if status in (CardStatus.PENDING, CardStatus.SPOILED) else now
            chip = "\\N" if status is CardStatus.SPOILED else key_hex
            yield f"{i}\t{cards.number(serials[i - 1])}\t{i}\t1\t{chip}\t{status.value}\t{issued}\t\\N\t{now}\n"

    tables = (
        ("applicant", "id, citizen_id, birth_date, data, created_at", applicants),
        ("permit", "id, permit_number, applicant_id, application_id, citizen_id, city, layout_id, county_code, "
                   "status, suspension_reason, anchor_on, years, data, created_at, updated_at", permit_rows),
        ("card", "id, card_number, permit_id, generation, chip_public_key, status, issued_at, revoked_at, "
                 "created_at", card_rows),
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table, columns, rows in tables:
            with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for chunk in _lines(rows()):
                    copy.write(chunk)
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {permits})")
        conn.execute("ANALYZE")
    step = max(1, permits // 2000)
    by_status: dict[str, list[int]] = {}
    for i, status in enumerate(statuses, start=1):
        by_status.setdefault(status.value, []).append(i)
    return Loaded(permits, len(chosen), time.perf_counter() - started,
                  [cards.number(serials[i]) for i in range(0, permits, step)], by_status)
