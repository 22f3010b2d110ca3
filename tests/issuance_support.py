"""Shared helpers for the issuance, tearing and batch tests: one key ceremony per session (keys made at
run time, never stored in the tree), a migrated SQLite registry, approved permits registered through the
registry's own services, and blank virtual cards with the card OS security module installed."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from applets.fs import DedicatedFile, TransparentEf
from applets.security.module import install
from cardsvc.iso7816.fcp import ALWAYS, DfOp, Fcp, FileStructure, LifeCycle, SecurityAttributes
from cardsvc.iso7816.tlv import tlv_map
from cardsvc.issuance.demo import register_permit
from cardsvc.issuance.jobs import IssueRequest
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.plan import layout_key_roles
from cardsvc.layout import Layout, builtin_layout
from cardsvc.permit.model import Permit
from cardsvc.permit.permit_number import make_card_number, make_permit_number
from cardsvc.registry import Actor, make_engine, migrate, session_factory
from cardsvc.samples import generate_permit, photo_of_size
from cardsvc.security import ceremony
from cardsvc.security.keystore import PASSPHRASE_ENV, EncryptedFileKeyStore
from cardsvc.session import CardSession
from simulator import VirtualCard
from simulator.transport import InProcessConnection

LAYOUTS = ("zz", "smx")
ACTOR = Actor(station_id="ZZ-JS-PRINT-01", operator="op1", role="print_station")
TODAY = dt.datetime.now(dt.UTC).date()


def layouts() -> list[Layout]:
    return [builtin_layout(i) for i in LAYOUTS]


def make_station_keys(path: Path) -> StationKeys:
    """A ceremony for every authority and key role of both layouts (about a second)."""
    os.environ.setdefault(PASSPHRASE_ENV, "issuance tests passphrase")
    store = EncryptedFileKeyStore.for_layouts(path, layouts(), cache_private_keys=True)
    authorities = [(a.code, a.name) for layout in layouts() for a in layout.authorities]
    roles = sorted({r for layout in layouts() for r in layout_key_roles(layout)})
    ceremony.init_key_ceremony(store, authorities, roles=roles)
    return StationKeys(store)


class Registry:
    """A migrated SQLite registry; `fresh()` copies the migrated template (fast)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cardsvc-issuance-"))
        self.template = self.root / "template.sqlite3"
        migrate(f"sqlite:///{self.template}")
        self._n = 0
        self.engines: list[Engine] = []

    def fresh(self) -> sessionmaker[Session]:
        self._n += 1
        path = self.root / f"r{self._n}.sqlite3"
        shutil.copyfile(self.template, path)
        engine = make_engine(f"sqlite:///{path}")
        self.engines.append(engine)
        return session_factory(engine)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()
        shutil.rmtree(self.root, ignore_errors=True)


def sample_permit(layout: Layout, seed: int, *, photo_bytes: int | None = None,
                  endorsements: int = 2) -> Permit:
    rng = random.Random(seed)
    photo = photo_of_size(rng, photo_bytes) if photo_bytes else None
    permit = generate_permit(layout, rng, today=TODAY, photo=photo, minor=False, max_endorsements=endorsements)
    return replace(permit, guardian=None)


def variant(permit: Permit, layout: Layout, n: int) -> Permit:
    """The same permit data under another permit and card number (same APDU plan shape)."""
    serial = 10 ** (layout.card_number.serial_digits - 1) + n
    return replace(permit, permit_number=make_permit_number(permit.authority.code, permit.issue_date.year, n),
                   card_number=make_card_number(layout.card_number.prefix, serial, layout.card_number.serial_digits))


def register(factory: sessionmaker[Session], permit: Permit, layout: Layout) -> None:
    """An accepted application and a pending permit for `permit`, through the registry services."""
    register_permit(factory, ACTOR, permit, layout)


def request_for(permit: Permit, layout: Layout, key: str | None = None) -> IssueRequest:
    return IssueRequest(permit, layout, key or f"issue-{permit.card_number}")


def blank_card() -> VirtualCard:
    card = VirtualCard.blank()
    install(card.os)  # idempotent: VirtualCard installs the card OS security module itself
    card.power_on()
    return card


def personalising_session() -> CardSession:
    """A blank virtual card with one application DF still in initialisation (anyone may create in it): where
    GENERATE ASYMMETRIC KEY PAIR is allowed."""
    card = VirtualCard.blank()
    card.power_on()
    session = CardSession(InProcessConnection(card))
    session.create_file(Fcp(0x1001, FileStructure.DF, df_name=bytes.fromhex("D1560000990001"),
                            lifecycle=LifeCycle.INITIALISATION,
                            security=SecurityAttributes({DfOp.CREATE_EF: ALWAYS, DfOp.ACTIVATE: ALWAYS})))
    return session


def card_number_on(card: VirtualCard, layout: Layout) -> str:
    """The card number in EF.CARD of a personalized virtual card (read from its state directly)."""
    adf = card.state.mf.child(layout.df("permit").fid)
    assert isinstance(adf, DedicatedFile)
    ef = adf.child(layout.ef("card").fid)
    assert isinstance(ef, TransparentEf)
    return tlv_map(bytes(ef.data).rstrip(b"\x00"))[0xDF30].decode("ascii")


@dataclass
class Env:
    keys: StationKeys
    registry: Registry


