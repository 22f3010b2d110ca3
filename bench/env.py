"""What every benchmark needs: a key ceremony made at run time in a temporary directory (never a key in
the tree), the station keys the fast way (private keys unlocked once: `cache_private_keys=True`), and
synthetic permits of both city layouts with a photo of a chosen size."""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import tempfile
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.plan import layout_key_roles
from cardsvc.layout import Layout, builtin_layout
from cardsvc.permit.citizen_id import make_citizen_id
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Permit
from cardsvc.permit.permit_number import make_card_number, make_permit_number
from cardsvc.samples import generate_permit, photo_of_size
from cardsvc.security import ceremony
from cardsvc.security.keystore import PASSPHRASE_ENV, EncryptedFileKeyStore
from cardsvc.security.suite import GM, Suite

LAYOUT_IDS = ("zz", "smx")
PHOTO_BYTES = 15_000  # design §6: issue one Zhengzhou card with a 15 KB photo (typical ID photo 10-25 KB)


def layout_with_suite(layout: Layout, suite: Suite) -> Layout:
    """The layout with `[layout] suite` switched (the bench and tests run the intl suite this way)."""
    return layout.model_copy(update={"layout": layout.layout.model_copy(update={"suite": suite.name.value})})


def layouts(suite: Suite | None = None) -> list[Layout]:
    """Both city layouts, as declared (gm), or switched to `suite`."""
    found = [builtin_layout(i) for i in LAYOUT_IDS]
    return found if suite is None else [layout_with_suite(layout, suite) for layout in found]


@dataclass
class BenchEnv:
    """A key store made for this run. `keys` signs through the store with private keys cached."""

    root: Path
    suite: Suite = GM

    @classmethod
    def create(cls, root: Path | None = None, suite: Suite = GM) -> BenchEnv:
        # A fresh random passphrase for this run's throw-away store, unless the caller set one.
        os.environ.setdefault(PASSPHRASE_ENV, secrets.token_urlsafe(24))
        base = root or Path(tempfile.mkdtemp(prefix="cardsvc-bench-"))
        keystore = base / "keys"
        all_layouts = layouts()
        authorities = [(a.code, a.name) for layout in all_layouts for a in layout.authorities]
        roles = sorted({r for layout in all_layouts for r in layout_key_roles(layout)})
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        store = EncryptedFileKeyStore(keystore, suite=suite)
        ceremony.init_key_ceremony(store, authorities, roles=roles, not_before=now - dt.timedelta(days=1))
        ceremony.refresh_crl(store, now - dt.timedelta(hours=1))
        return cls(base, suite)

    def layouts(self) -> list[Layout]:
        """Both city layouts in this environment's suite."""
        return layouts(self.suite)

    @property
    def keystore_dir(self) -> Path:
        return self.root / "keys"

    @cached_property
    def keys(self) -> StationKeys:
        return StationKeys(EncryptedFileKeyStore(self.keystore_dir, cache_private_keys=True, suite=self.suite))


def bench_permit(layout: Layout, seed: int, *, photo_bytes: int | None = PHOTO_BYTES,
                 endorsements: int = 2) -> Permit:
    """A valid synthetic adult permit with exactly `endorsements` signed endorsement records (the first
    seed from `seed` on that gives them: the same seed gives the same permit)."""
    for attempt in range(seed, seed + 200):
        rng = random.Random(attempt)
        photo = photo_of_size(rng, photo_bytes) if photo_bytes else None
        permit = generate_permit(layout, rng, today=dt.datetime.now(dt.UTC).date(), photo=photo, minor=False,
                                 max_endorsements=endorsements)
        if len(permit.endorsements) == endorsements:
            return replace(permit, guardian=None)
    raise ValueError(f"no permit with {endorsements} endorsements from seed {seed}")


def renumbered(permit: Permit, layout: Layout, n: int) -> Permit:
    """The same permit data under permit and card number `n` (the same APDU plan shape, a new card)."""
    serial = 10 ** (layout.card_number.serial_digits - 1) + n
    return replace(permit, permit_number=make_permit_number(permit.authority.code, permit.issue_date.year, n),
                   card_number=make_card_number(layout.card_number.prefix, serial, layout.card_number.serial_digits))


def other_holder(permit: Permit, n: int) -> Permit:
    """The same permit for the n-th of many holders: a citizen id of its own (same region and sex, the
    birth date moved back a day per 499 holders), as a queue of real applications has."""
    day, slot = divmod(n, 499)
    born = permit.birth_date - dt.timedelta(days=day)
    sequence = 2 * slot + (1 if permit.sex == Sex.MALE else 2)
    return replace(permit, birth_date=born, citizen_id=make_citizen_id(permit.citizen_id[:6], born, sequence))
