"""Helpers for the verification tests: keys from a ceremony made at run time, permits with a fixed
`today`, `CardRead`s built on the host exactly as a card would answer (unit tier, no card), status
sources, and the counter's terminal-key function."""

from __future__ import annotations

import datetime as dt
import os
import random
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from cardsvc.issuance.endorse_records import sign_permit_endorsements
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.plan import layout_key_roles, signed_ef_names
from cardsvc.layout import Layout, builtin_layout
from cardsvc.layout.codec import encode_permit
from cardsvc.layout.image import CardImage
from cardsvc.permit.model import Permit
from cardsvc.rules.status import SuspensionReason
from cardsvc.samples import generate_permit, photo_of_size
from cardsvc.security import ceremony
from cardsvc.security.chip import chip_auth_message, encode_chip_public_key, new_challenge
from cardsvc.security.keystore import PASSPHRASE_ENV, EncryptedFileKeyStore
from cardsvc.security.suite import GM, Suite
from cardsvc.status_list.cache import StatusAnswer, StatusSource
from cardsvc.status_list.model import ListStatus
from cardsvc.verification.reader import CardRead

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the ceremony's CRL is current for 7 days from now
TODAY = NOW.date()


def make_keys(path: Path, suite: Suite = GM) -> StationKeys:
    """Root, signers for every authority of both layouts, a CRL, master keys of every layout role (GM
    suite, both layouts' default, unless told)."""
    os.environ.setdefault(PASSPHRASE_ENV, "verification tests passphrase")
    store = EncryptedFileKeyStore(path, suite=suite)
    layouts = [builtin_layout("zz"), builtin_layout("smx")]
    authorities = [(a.code, a.name) for layout in layouts for a in layout.authorities]
    roles = sorted({r for layout in layouts for r in layout_key_roles(layout)})
    ceremony.init_key_ceremony(store, authorities, roles=roles, not_before=NOW - dt.timedelta(days=1))
    ceremony.refresh_crl(store, NOW - dt.timedelta(hours=1))
    return StationKeys(store)


def permit_for(layout: Layout, seed: int, *, photo_bytes: int | None = None, endorsements: int = 2,
               today: dt.date = TODAY) -> Permit:
    rng = random.Random(seed)
    photo = photo_of_size(rng, photo_bytes) if photo_bytes else None
    permit = generate_permit(layout, rng, today=today, photo=photo, minor=False, max_endorsements=endorsements)
    return replace(permit, guardian=None)


@dataclass
class HostCard:
    """A permit's card image signed like the station signs it, with a host-held chip key."""

    layout: Layout
    permit: Permit
    image: CardImage
    chip_key: ec.EllipticCurvePrivateKey
    files: dict[str, bytes]
    records: tuple[bytes, ...]

    def read(self, *, files: dict[str, bytes] | None = None, records: tuple[bytes, ...] | None = None,
             chip_key: ec.EllipticCurvePrivateKey | None = None) -> CardRead:
        """The `CardRead` a perfect reader would get (optionally with altered files or another chip)."""
        challenge = new_challenge()
        der = (chip_key or self.chip_key).sign(chip_auth_message(challenge), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        fids = {ef.name: ef.fid for ef in self.layout.efs if ef.parent == "permit"}
        return CardRead(self.layout.id, dict(self.files if files is None else files), fids,
                        {"endorse": self.records if records is None else records}, challenge,
                        r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def host_card(layout: Layout, permit: Permit, keys: StationKeys) -> HostCard:
    signed = sign_permit_endorsements(permit, layout, keys)
    image = encode_permit(signed, layout)
    chip_key = ec.generate_private_key(ec.SECP256R1())
    chipkey = encode_chip_public_key(chip_key.public_key())
    image = image.replace_file("chipkey", content=chipkey)
    signed_names = signed_ef_names(layout, image)
    sod = keys.sign_sod(permit.authority.code, {image.file(n).fid: image.file(n).content or b""
                                                for n in signed_names})
    image = image.replace_file("sod", content=sod)
    files = {f.name: f.content for f in image if f.content is not None and f.path[:2] == image.file("permit").path}
    records = image.file("endorse").records or ()
    return HostCard(layout, permit, image, chip_key, {k: v for k, v in files.items() if v is not None}, records)


@dataclass
class FixedStatus:
    """A status source that always gives one answer."""

    status: ListStatus = ListStatus.ACTIVE
    reason: SuspensionReason | None = None
    fresh: bool = True

    def lookup(self, card_number: str, now: dt.datetime) -> StatusAnswer:
        return StatusAnswer(self.status, self.reason, now - dt.timedelta(hours=1), dt.timedelta(hours=1),
                            self.fresh, StatusSource.CACHED_LIST, 1, now + dt.timedelta(hours=23))


class BrokenStatus:
    def lookup(self, card_number: str, now: dt.datetime) -> StatusAnswer:
        raise OSError("status service unreachable")
