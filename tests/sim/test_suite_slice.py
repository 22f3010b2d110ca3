"""The same slice of the system under both crypto suites (issue 14): issue a card through the pipeline,
verify it at the counter, its endorsement records, a tampered byte, a clone, and a signed status list.

`gm` is both city layouts' default (the rest of the suite runs it); `intl` is the layout switched to
`suite = "intl"` with an intl key ceremony. Every check also asserts the algorithms really used: the chip
key's curve in EF.CHIPKEY, EF.SOD's hash and signature algorithm, the signer certificates' algorithm.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import cms

from applets.fs import DedicatedFile, RecordEf, TransparentEf
from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.sw import SW
from cardsvc.issuance.jobs import make_plan
from cardsvc.issuance.keys import StationKeys
from cardsvc.issuance.personalize import personalize
from cardsvc.layout import Layout, builtin_layout
from cardsvc.permit.model import Permit
from cardsvc.security import ceremony, chip, oids
from cardsvc.security.chip import decode_chip_public_key
from cardsvc.security.sod import HashAlgorithm, parse_sod
from cardsvc.security.suite import GM, INTL, Suite, SuiteName
from cardsvc.session import CardSession
from cardsvc.status_list import StatusEntry, StatusList, StatusListCache, sign_status_list
from cardsvc.status_list.model import ListStatus
from cardsvc.verification import Result, Verdict, read_card, verify_card
from simulator import VirtualCard
from simulator.transport import InProcessConnection
from tests.issuance_support import blank_card, personalising_session
from tests.verify_support import NOW, TODAY, FixedStatus, make_keys, permit_for

SUITES = {"gm": GM, "intl": INTL}


def with_suite(layout: Layout, suite: Suite) -> Layout:
    return layout.model_copy(update={"layout": layout.layout.model_copy(update={"suite": suite.name.value})})


@pytest.fixture(scope="module", params=sorted(SUITES))
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[Suite, Layout, StationKeys, Permit, VirtualCard]:
    suite = SUITES[request.param]
    keys = make_keys(tmp_path_factory.mktemp(f"keys-{request.param}"), suite)
    layout = with_suite(builtin_layout("zz"), suite)
    permit = permit_for(layout, 14, photo_bytes=12_000, endorsements=2)
    return suite, layout, keys, permit, issue(layout, permit, keys)


def issue(layout: Layout, permit: Permit, keys: StationKeys) -> VirtualCard:
    card = blank_card()
    personalize(CardSession(InProcessConnection(card)), make_plan(permit, layout, keys), keys, permit.authority.code)
    card.power_on()
    return card


def verify(card: VirtualCard, layout: Layout, keys: StationKeys, status: object = None) -> Verdict:
    card.power_on()
    return verify_card(InProcessConnection(card), layout, keys.trust(), status or FixedStatus(),  # type: ignore[arg-type]
                       keys=keys.card_key, now=NOW, today=TODAY)


def ef(card: VirtualCard, layout: Layout, name: str) -> TransparentEf | RecordEf:
    adf = card.state.mf.child(layout.df("permit").fid)
    assert isinstance(adf, DedicatedFile)
    node = adf.child(layout.ef(name).fid)
    assert isinstance(node, TransparentEf | RecordEf)
    return node


def test_issued_card_verifies_with_the_suites_algorithms(world: tuple[Suite, Layout, StationKeys, Permit,
                                                                         VirtualCard]) -> None:
    suite, layout, keys, permit, card = world
    verdict = verify(card, layout, keys)
    assert verdict.result is Result.GENUINE_VALID, verdict.summary()
    files = read_card(InProcessConnection(card), layout, keys=keys.card_key).files
    assert decode_chip_public_key(files["chipkey"], suite).suite is suite.name  # the card made a key of the suite
    sod = parse_sod(files["sod"], suite)
    assert sod.hash_algorithm is (HashAlgorithm.SM3 if suite.name is SuiteName.GM else HashAlgorithm.SHA256)
    signer_info = cms.ContentInfo.load(files["sod"])["content"]["signer_infos"][0]
    assert signer_info["signature_algorithm"]["algorithm"].dotted == suite.signature_oid
    assert sod.signer.signature_algorithm_oid.dotted_string == oids.signature_oid(suite.name)
    assert len(permit.endorsements) == 2  # both records were signed and checked above


def test_endorsement_records_are_signed_in_the_suite(world: tuple[Suite, Layout, StationKeys, Permit,
                                                                     VirtualCard]) -> None:
    _, layout, keys, _, card = world
    records = ef(card, layout, "endorse")
    assert isinstance(records, RecordEf)
    record = records.record(1)
    assert record is not None
    record[len(record) - 5] ^= 0x01  # inside the signature
    try:
        assert verify(card, layout, keys).result is Result.TAMPERED
    finally:
        record[len(record) - 5] ^= 0x01
    assert verify(card, layout, keys).result is Result.GENUINE_VALID


@pytest.mark.parametrize("name", ["visible", "machine", "chipkey", "sod"])
def test_a_tampered_byte_is_tampered(world: tuple[Suite, Layout, StationKeys, Permit, VirtualCard],
                                     name: str) -> None:
    _, layout, keys, _, card = world
    data = ef(card, layout, name)
    assert isinstance(data, TransparentEf)
    data.data[7] ^= 0x5A
    try:
        verdict = verify(card, layout, keys)
    finally:
        data.data[7] ^= 0x5A
    assert verdict.result is Result.TAMPERED, verdict.summary()


def test_a_clone_is_a_clone(world: tuple[Suite, Layout, StationKeys, Permit, VirtualCard]) -> None:
    _, layout, keys, permit, original = world
    clone = issue(layout, permit, keys)  # same permit and keys; the chip made its own key pair
    for name in ("card", "visible", "machine", "photo", "chipkey", "sod"):
        ef(clone, layout, name).data[:] = ef(original, layout, name).data  # type: ignore[union-attr]
    assert verify(clone, layout, keys).result is Result.CLONED


def test_a_signed_status_list_in_the_suite_reports_a_lost_card(
        world: tuple[Suite, Layout, StationKeys, Permit, VirtualCard], tmp_path: Path) -> None:
    _, layout, keys, permit, card = world
    code = permit.authority.code
    name = ceremony.signer_name(ceremony.SignerRole.DOCUMENT, code)
    cache = StatusListCache(tmp_path / "status.cbor", keys.trust(), dt.timedelta(hours=24))
    listing = StatusList.build(code, 1, NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=23),
                               [StatusEntry(permit.card_number, ListStatus.LOST, None)])
    cache.update(sign_status_list(listing, keys.store.private_key(name), keys.store.certificate(name)), NOW)
    assert verify(card, layout, keys, status=cache).result is Result.LOST


@pytest.mark.parametrize(("data", "sw", "curve"), [
    (bytes.fromhex("800102"), SW.OK, GM), (bytes.fromhex("800101"), SW.OK, INTL),
    (b"", SW.OK, INTL),  # no algorithm reference: a P-256 key, as cards made before suites
    (bytes.fromhex("800107"), SW.INCORRECT_DATA, None), (bytes.fromhex("800100"), SW.INCORRECT_DATA, None),
    (bytes.fromhex("80020102"), SW.INCORRECT_DATA, None), (bytes.fromhex("8101028001ff"), SW.INCORRECT_DATA, None),
])
def test_the_card_makes_the_chip_key_the_command_names(data: bytes, sw: int, curve: Suite | None) -> None:
    """GENERATE ASYMMETRIC KEY PAIR with the algorithm reference 80 01 xx (ISO/IEC 7816-8 §5.1); an unknown
    or malformed reference is refused with 6A80, never a key of another algorithm."""
    session = personalising_session()
    command = chip.generate_key_pair_command(chip.CHIP_KEY_REF)
    response = session.pipeline.send(CommandApdu(command.cla, command.ins, command.p1, command.p2, data, le=256))
    assert response.sw == sw
    if curve is not None:
        public = chip.parse_generated_public_key(response.data, curve)
        assert public.suite is curve.name
