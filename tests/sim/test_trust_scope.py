"""Design §7 / issue 13: trust is scoped to the layout. Each case gives the verdict the issue names:
a card signed by another city's authority → untrusted_issuer; a status list from another registry, a
"province" list or a list signed by an unpinned signer → refused (status_unknown); a list past its next
update → status_unknown unless within the configured grace, which the verdict shows; an endorsement
removed from a card → genuine offline (a counter cannot know) but refused online."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from applets.fs import RecordEf
from cardsvc.issuance.endorse_records import sign_permit_endorsements
from cardsvc.issuance.jobs import IssuanceService, make_plan
from cardsvc.issuance.keys import StationKeys, card_keys
from cardsvc.issuance.personalize import personalize
from cardsvc.issuance.plan import build_plan
from cardsvc.layout import Layout, builtin_layout
from cardsvc.layout.codec import encode_permit
from cardsvc.permit.model import Authority, Permit
from cardsvc.security import ceremony
from cardsvc.session import CardSession
from cardsvc.status_list import StatusEntry, StatusList, StatusListCache, sign_status_list
from cardsvc.status_list.errors import StatusListIssuerError
from cardsvc.status_list.scope import list_scope
from cardsvc.verification.verdict import Check, Result, Verdict
from cardsvc.verification.verifier import verify_card
from simulator import VirtualCard
from simulator.transport import InProcessConnection
from tests.issuance_support import ACTOR, Registry, blank_card, register, request_for
from tests.sim.test_crash_issuance import Offline, Online
from tests.verify_support import NOW, TODAY, make_keys, permit_for


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> StationKeys:
    return make_keys(tmp_path_factory.mktemp("keys"))


def write(layout: Layout, permit: Permit, keys: StationKeys, sod_authority: str | None = None, *,
          forged: bool = False) -> VirtualCard:
    """Personalize a card; `forged`: with tooling of the attacker's own that skips the station's validation
    (our make_plan refuses such data at its last door: issue 12), so only the counter's checks stand."""
    card = blank_card()
    plan = (build_plan(encode_permit(sign_permit_endorsements(permit, layout, keys), layout), layout,
                       card_keys(keys, layout, permit.card_number)) if forged else make_plan(permit, layout, keys))
    personalize(CardSession(InProcessConnection(card)), plan, keys, sod_authority or permit.authority.code)
    return card


def verify(card: VirtualCard, layout: Layout, keys: StationKeys, status: object, now: dt.datetime = NOW,
           today: dt.date = TODAY) -> Verdict:
    card.power_on()
    return verify_card(InProcessConnection(card), layout, keys.trust(), status, keys=keys.card_key,  # type: ignore[arg-type]
                       now=now, today=today)


def signed_list(keys: StationKeys, issuer: str, signer: str, entries: list[StatusEntry], *, sequence: int = 1,
                issued: dt.datetime = NOW - dt.timedelta(hours=1), next_update: dt.timedelta = dt.timedelta(hours=23),
                ) -> bytes:
    name = ceremony.signer_name(ceremony.SignerRole.DOCUMENT, signer)
    listing = StatusList.build(issuer, sequence, issued, issued + next_update, entries)
    return sign_status_list(listing, keys.store.private_key(name), keys.store.certificate(name))


def pinned_cache(path: Path, keys: StationKeys, layout: Layout,
                 grace: dt.timedelta = dt.timedelta(0)) -> StatusListCache:
    scope = list_scope(layout)
    return StatusListCache(path, keys.trust(), dt.timedelta(hours=24), issuer=scope.issuer,
                           signer_authority=scope.signer_authority, next_update_grace=grace)


def test_a_zhengzhou_card_issued_by_a_sanmenxia_county_is_untrusted(keys: StationKeys, tmp_path: Path) -> None:
    zz, smx = builtin_layout("zz"), builtin_layout("smx")
    stranger = smx.authorities[0]
    permit = replace(permit_for(zz, 61), authority=Authority(stranger.code, stranger.name))
    card = write(zz, permit, keys, forged=True)  # EF.SOD by the Sanmenxia county's own signer: a valid chain
    cache = pinned_cache(tmp_path / "s.cbor", keys, zz)
    cache.update(signed_list(keys, list_scope(zz).issuer, list_scope(zz).signer_authority, []), NOW)
    verdict = verify(card, zz, keys, cache)
    assert verdict.result is Result.UNTRUSTED_ISSUER, verdict.summary()
    assert "not an issuing authority of layout zz" in verdict.check(Check.DATA).detail


def test_sod_signed_by_another_authority_than_the_card_names(keys: StationKeys) -> None:
    zz = builtin_layout("zz")
    permit = permit_for(zz, 62)
    other = next(a.code for a in zz.authorities if a.code != permit.authority.code)
    verdict = verify(write(zz, permit, keys, sod_authority=other), zz, keys, None)
    assert verdict.result is Result.UNTRUSTED_ISSUER, verdict.summary()


@pytest.mark.parametrize("case", ["other_city", "province", "unpinned_signer"])
def test_foreign_status_lists_are_refused(keys: StationKeys, tmp_path: Path, case: str) -> None:
    """An empty list would make a lost card look active: only the layout's registry list, from its pinned
    signer, is taken; with nothing acceptable the status is unknown, never active."""
    zz, smx = builtin_layout("zz"), builtin_layout("smx")
    scope = list_scope(zz)
    issuer, signer = {
        "other_city": (list_scope(smx).issuer, list_scope(smx).signer_authority),
        "province": ("410000", zz.authorities[-1].code),
        "unpinned_signer": (scope.issuer, next(a.code for a in zz.authorities if a.code != scope.signer_authority)),
    }[case]
    cache = pinned_cache(tmp_path / "s.cbor", keys, zz)
    with pytest.raises(StatusListIssuerError):
        cache.update(signed_list(keys, issuer, signer, []), NOW)
    card = write(zz, permit_for(zz, 63), keys)
    verdict = verify(card, zz, keys, cache)
    assert verdict.result is Result.STATUS_UNKNOWN, verdict.summary()


def test_a_list_past_its_next_update_is_stale_unless_within_the_grace(keys: StationKeys, tmp_path: Path) -> None:
    zz = builtin_layout("zz")
    scope = list_scope(zz)
    card = write(zz, permit_for(zz, 64), keys)
    blob = signed_list(keys, scope.issuer, scope.signer_authority, [], issued=NOW - dt.timedelta(hours=3),
                       next_update=dt.timedelta(hours=2))  # next update was an hour ago
    strict = pinned_cache(tmp_path / "a.cbor", keys, zz)
    strict.update(blob, NOW)
    stale = verify(card, zz, keys, strict)
    assert stale.result is Result.STATUS_UNKNOWN, stale.summary()
    assert "past its next update" in stale.check(Check.STATUS).detail
    lenient = pinned_cache(tmp_path / "b.cbor", keys, zz, grace=dt.timedelta(hours=2))
    lenient.update(blob, NOW)
    within = verify(card, zz, keys, lenient)
    assert within.genuine_valid, within.summary()
    assert "within the grace 2:00:00" in within.check(Check.STATUS).detail


def test_a_removed_endorsement_is_refused_online(keys: StationKeys) -> None:
    """The registry issued the card with two endorsement records; a card image without the latest one is
    still correctly signed record by record (the old address shows), so offline it verifies; online the
    counter compares the record count with the registry's and refuses it."""
    zz = builtin_layout("zz")
    registry = Registry()
    try:
        factory = registry.fresh()
        permit = permit_for(zz, 65, endorsements=2)
        assert len(permit.endorsements) == 2
        register(factory, permit, zz)
        full = blank_card()
        assert IssuanceService(factory, ACTOR, keys).issue(request_for(permit, zz),
                                                           CardSession(InProcessConnection(full))).issued
        assert verify(full, zz, keys, Online(factory), now=dt.datetime.now(dt.UTC)).genuine_valid
        cut = full  # its image, chip key included, as an attacker holds it: the latest record removed
        cut.power_on()
        endorse = cut.state.mf.child(zz.df("permit").fid).child(zz.ef("endorse").fid)  # type: ignore[union-attr]
        assert isinstance(endorse, RecordEf) and endorse.count == 2 and not endorse.cyclic
        endorse.slots.pop()
        now = dt.datetime.now(dt.UTC)
        # A day on which the older endorsement was still current (the card then shows its old address).
        day = permit.endorsements[0].valid_until - dt.timedelta(days=1)
        offline = verify(cut, zz, keys, Offline(factory), now=now, today=day)
        online = verify(cut, zz, keys, Online(factory), now=now, today=day)
    finally:
        registry.close()
    assert offline.genuine_valid, offline.summary()  # what a counter without the registry cannot see
    assert online.result is Result.NOT_ISSUED, online.summary()
    assert "endorsement record(s)" in online.check(Check.STATUS).detail
