"""Shared test helpers for the security tests: a key ceremony in a temporary store, keys made at run time."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cardsvc.security import ceremony
from cardsvc.security.keystore import PASSPHRASE_ENV, EncryptedFileKeyStore
from cardsvc.security.suite import GM, Suite

AUTHORITIES = [("411202", "三门峡市公安局湖滨分局"), ("410105", "郑州市公安局金水分局")]
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@contextmanager
def passphrase(value: str | None) -> Iterator[None]:
    old = os.environ.get(PASSPHRASE_ENV)
    if value is None:
        os.environ.pop(PASSPHRASE_ENV, None)
    else:
        os.environ[PASSPHRASE_ENV] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(PASSPHRASE_ENV, None)
        else:
            os.environ[PASSPHRASE_ENV] = old


@dataclass
class Issuer:
    path: Path
    store: EncryptedFileKeyStore
    result: ceremony.CeremonyResult


def make_issuer(path: Path, secret: str = "correct horse battery staple",
                roles: tuple[str, ...] | None = ("issuer", "counter"), suite: Suite = GM) -> Issuer:
    """A ceremony in `path` (GM suite unless told); `roles=None` makes every role's master key (scrypt
    per key: slower)."""
    with passphrase(secret):
        store = EncryptedFileKeyStore(path, suite=suite)
        if roles is None:
            result = ceremony.init_key_ceremony(store, AUTHORITIES, not_before=T0)
        else:
            result = ceremony.init_key_ceremony(store, AUTHORITIES, roles=roles, not_before=T0)
    return Issuer(path, store, result)
