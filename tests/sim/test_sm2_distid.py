"""A layout that names its own SM2 signer ID (issue 14 item 2, GB/T 32918.2 §5.5: the signer's
distinguishing ID enters Z, hashed before every message).

The fixture city tests/fixtures/cities/sm2id/zhengzhou_sm2id.toml extends the real Zhengzhou layout with
`sm2_distid = "ALICE123@YAHOO.COM"`. One card goes the whole way with that ID: key ceremony → issue on the
virtual card (whose applet is told the ID at personalization) → counter verdict GENUINE_VALID → an
endorsement written later → the printed QR → a status list, full and delta. Then every artefact is checked
again with the default ID 1234567812345678 and must fail: that proves the ID is used, not just carried.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cardsvc.iso7816.apdu import CommandApdu
from cardsvc.iso7816.commands import append_record
from cardsvc.iso7816.sw import SW
from cardsvc.issuance.endorse_records import sign_for_card
from cardsvc.issuance.jobs import make_plan
from cardsvc.issuance.keys import StationKeys, key_ref
from cardsvc.issuance.personalize import personalize
from cardsvc.issuance.plan import Op
from cardsvc.layout import Layout, load_layout
from cardsvc.layout.codec import encode_endorsement
from cardsvc.permit.model import Endorsement, Permit
from cardsvc.qr import QrPayload, encode_qr_text, verify_qr_text
from cardsvc.security import ceremony, chip
from cardsvc.security.errors import ChipAuthenticationFailed, PkiError, SecurityError
from cardsvc.security.kdf import key_store_role
from cardsvc.security.mutual_auth import secure_session
from cardsvc.security.pki import SignerRole, crl_signed_by, verify_issued_by
from cardsvc.security.sod import parse_sod
from cardsvc.security.suite import GM, Suite, SuiteName, layout_suite
from cardsvc.session import CardSession
from cardsvc.status_list import StatusEntry, StatusList, StatusListCache, sign_status_list
from cardsvc.status_list.compact import StatusDelta, open_status_delta, open_status_list, sign_status_delta
from cardsvc.status_list.index import StatusIndex
from cardsvc.status_list.model import ListStatus
from cardsvc.verification import Result, Verdict, read_card, verify_card
from cardsvc.verification.endorsements import verify_record
from cardsvc.verification.verdict import Check, Outcome
from simulator import VirtualCard
from simulator.transport import InProcessConnection
from tests.issuance_support import blank_card, personalising_session
from tests.verify_support import NOW, TODAY, FixedStatus, make_keys, permit_for

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cities" / "sm2id" / "zhengzhou_sm2id.toml"
CITY_ID = b"ALICE123@YAHOO.COM"  # GB/T 32918.2 Annex A's example signer ID


def at_default_id(layout: Layout) -> Layout:
    """The same layout without its `sm2_distid`: a verifier that would use the GB/T 35276 default."""
    return layout.model_copy(update={"layout": layout.layout.model_copy(update={"sm2_distid": None})})


@pytest.fixture(scope="module")
def layout() -> Layout:
    return load_layout(FIXTURE)


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys-sm2id")


@pytest.fixture(scope="module")
def keys(layout: Layout, keys_dir: Path) -> StationKeys:
    return make_keys(keys_dir, layout_suite(layout))


@pytest.fixture(scope="module")
def permit(layout: Layout) -> Permit:
    return permit_for(layout, 31, photo_bytes=8_000, endorsements=0)


@pytest.fixture(scope="module")
def card(layout: Layout, keys: StationKeys, permit: Permit) -> VirtualCard:
    card = blank_card()
    personalize(CardSession(InProcessConnection(card)), make_plan(permit, layout, keys), keys, permit.authority.code)
    return card


def endorsement_record(layout: Layout, keys: StationKeys, permit: Permit, number: int) -> bytes:
    """EF.ENDORSE record `number` of a yearly endorsement (SMX Art.16, ZZ Art.13), signed as a station does."""
    e = Endorsement(TODAY, f"{layout.layout.city}金水路9号", permit.valid_until + dt.timedelta(days=365),
                    permit.authority)
    return encode_endorsement(sign_for_card(e, layout, keys, permit.card_number, number), layout)


def verify(card: VirtualCard, layout: Layout, keys: StationKeys, status: object = None) -> Verdict:
    card.power_on()
    return verify_card(InProcessConnection(card), layout, keys.trust(), status or FixedStatus(),  # type: ignore[arg-type]
                       keys=keys.card_key, now=NOW, today=TODAY)


def test_the_fixture_city_names_its_id_and_the_real_layouts_keep_the_default(layout: Layout) -> None:
    from cardsvc.layout import builtin_layout

    assert layout_suite(layout) == Suite(SuiteName.GM, CITY_ID)
    for real in ("zz", "smx"):
        assert layout_suite(builtin_layout(real)) == GM and GM.distid == b"1234567812345678"


def test_the_ceremony_and_key_store_work_under_the_layout_id(layout: Layout, keys: StationKeys) -> None:
    """The store was opened with the layout's suite: its keys sign under the city ID, and the root signed
    the signer certificates and the CRL under it (they do not verify under the default ID)."""
    assert keys.store.suite.distid == CITY_ID
    name = ceremony.signer_name(SignerRole.DOCUMENT, "410105")
    assert keys.store.private_key(name).public_key().distid == CITY_ID  # type: ignore[attr-defined]
    root, signer = keys.store.certificate(ceremony.ROOT), keys.store.certificate(name)
    crl = keys.store.crl(ceremony.ROOT_CRL)
    suite = layout_suite(layout)
    assert verify_issued_by(signer, root, suite) and verify_issued_by(root, root, suite)
    assert crl_signed_by(crl, root, suite)
    assert not verify_issued_by(signer, root, GM) and not crl_signed_by(crl, root, GM)
    with pytest.raises(PkiError):  # the whole trust check, under the default ID
        keys.trust().with_suite(GM).check_signer(signer, SignerRole.DOCUMENT, NOW)
    keys.trust().check_signer(signer, SignerRole.DOCUMENT, NOW)


def test_personalization_tells_the_card_the_id(layout: Layout, keys: StationKeys, permit: Permit) -> None:
    plan = make_plan(permit, layout, keys)
    step = next(s for s in plan.steps if s.op is Op.GENERATE_CHIP_KEY)
    assert step.apdu is not None and step.apdu.data == bytes.fromhex("800102") + bytes((0x81, len(CITY_ID))) + CITY_ID
    assert plan.suite == layout_suite(layout)


def test_issue_verify_endorse_qr_and_status_list_with_the_city_id(layout: Layout, keys: StationKeys,
                                                                 permit: Permit, card: VirtualCard,
                                                                 tmp_path: Path) -> None:
    suite = layout_suite(layout)
    # Issue → counter verdict.
    verdict = verify(card, layout, keys)
    assert verdict.result is Result.GENUINE_VALID, verdict.summary()
    read = read_card(InProcessConnection(card), layout, keys=keys.card_key)
    assert parse_sod(read.files["sod"], suite).signer.signature_algorithm_oid.dotted_string == suite.signature_oid
    assert read.chip_challenge is not None and read.chip_signature is not None
    chip.verify_chip_response(read.files["chipkey"], read.chip_challenge, read.chip_signature, suite)

    # Endorse: a record signed by the endorsement signer (city ID), appended under secure messaging.
    authority = permit.authority
    number = len(read.records["endorse"]) + 1
    record = endorsement_record(layout, keys, permit, number)
    session = CardSession(InProcessConnection(card))
    session.select_aid(layout.df("permit").aid)
    role_key = keys.card_key(key_store_role("endorsement"), permit.card_number)
    with secure_session(session, role_key, key_ref(layout, "endorsement"), suite.cipher):
        session.send(append_record(record, sfi=layout.ef("endorse").sfi), context=f"APPEND RECORD endorse {number}")
    verdict = verify(card, layout, keys)
    assert verdict.result is Result.GENUINE_VALID, [c.detail for c in verdict.checks]
    assert len(verdict.endorsements) == number

    # The printed QR, signed by the document signer under the city ID.
    signer = ceremony.signer_name(SignerRole.DOCUMENT, authority.code)
    key, cert = keys.store.private_key(signer), keys.store.certificate(signer)
    text = encode_qr_text(QrPayload.from_permit(permit), key, cert)
    assert verify_qr_text(text, keys.trust(), NOW).payload.card_number == permit.card_number

    # Status list: the full list (card active), then a delta that reports it lost.
    first = StatusList.build(authority.code, 1, NOW - dt.timedelta(hours=2), NOW + dt.timedelta(hours=22), [])
    cache = StatusListCache(tmp_path / "status.cbor", keys.trust(), dt.timedelta(hours=24))
    cache.update(sign_status_list(first, key, cert), NOW)
    assert verify(card, layout, keys, status=cache).result is Result.GENUINE_VALID
    second = StatusList.build(authority.code, 2, NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=23),
                              [StatusEntry(permit.card_number, ListStatus.LOST, None)])
    delta = StatusDelta.between(StatusIndex.from_list(first), StatusIndex.from_list(second))
    cache.apply_delta(sign_status_delta(delta, key, cert), NOW)
    assert verify(card, layout, keys, status=cache).result is Result.LOST


def test_the_same_artefacts_fail_with_the_default_id(layout: Layout, keys: StationKeys, permit: Permit,
                                                     card: VirtualCard) -> None:
    """Verified with 1234567812345678 instead of the layout's ID, every signature fails."""
    default_trust = keys.trust().with_suite(GM)
    # The counter with the default ID: EF.SOD's signature fails first (passive authentication).
    verdict = verify(card, at_default_id(layout), keys)
    assert verdict.result is not Result.GENUINE_VALID
    passive = next(c for c in verdict.checks if c.check is Check.PASSIVE_AUTH)
    assert passive.outcome is Outcome.FAIL and "signature" in passive.detail, passive.detail
    read = read_card(InProcessConnection(card), layout, keys=keys.card_key)
    with pytest.raises(SecurityError):
        parse_sod(read.files["sod"], GM)
    # The chip signed under the ID it was given at personalization, not the default.
    assert read.chip_challenge is not None and read.chip_signature is not None
    with pytest.raises(ChipAuthenticationFailed):
        chip.verify_chip_response(read.files["chipkey"], read.chip_challenge, read.chip_signature, GM)
    # Endorsement records: the endorsing authority's signature under the default ID.
    record = endorsement_record(layout, keys, permit, 1)
    assert verify_record(record, 1, permit.card_number, layout, keys.trust(), NOW).authority == permit.authority
    with pytest.raises(SecurityError):
        verify_record(record, 1, permit.card_number, layout, default_trust, NOW)
    # QR and status list (full and delta).
    signer = ceremony.signer_name(SignerRole.DOCUMENT, permit.authority.code)
    key, cert = keys.store.private_key(signer), keys.store.certificate(signer)
    text = encode_qr_text(QrPayload.from_permit(permit), key, cert)
    with pytest.raises(SecurityError):
        verify_qr_text(text, default_trust, NOW)
    listing = StatusList.build(permit.authority.code, 1, NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=23),
                               [StatusEntry(permit.card_number, ListStatus.LOST, None)])
    full = sign_status_list(listing, key, cert)
    open_status_list(full, keys.trust(), NOW)
    with pytest.raises(SecurityError):
        open_status_list(full, default_trust, NOW)
    nxt = StatusList.build(permit.authority.code, 2, NOW - dt.timedelta(minutes=30), NOW + dt.timedelta(hours=23), [])
    delta = sign_status_delta(StatusDelta.between(StatusIndex.from_list(listing), StatusIndex.from_list(nxt)),
                              key, cert)
    open_status_delta(delta, keys.trust(), NOW)
    with pytest.raises(SecurityError):
        open_status_delta(delta, default_trust, NOW)


def test_a_store_opened_for_other_layouts_refuses_a_mixed_ceremony(layout: Layout, tmp_path: Path) -> None:
    """One key ceremony serves one suite and one SM2 ID: layouts that disagree are refused by name."""
    from cardsvc.layout import builtin_layout
    from cardsvc.security.keystore import EncryptedFileKeyStore

    with pytest.raises(ValueError, match="SM2 signer ID"):
        EncryptedFileKeyStore.for_layouts(tmp_path, [builtin_layout("zz"), layout])


def test_a_store_whose_ceremony_used_another_id_is_refused_by_name(layout: Layout, tmp_path: Path) -> None:
    """A key ceremony made at the default ID, opened for the city layout: its root does not verify itself
    under the city ID, and the trust store says why instead of judging every card forged."""
    from cardsvc.security.errors import KeyStoreError
    from cardsvc.security.keystore import EncryptedFileKeyStore

    made = make_keys(tmp_path, GM)
    with pytest.raises(KeyStoreError, match=r"SM2 signer ID 'ALICE123@YAHOO\.COM'.*key ceremony"):
        ceremony.trust_store(EncryptedFileKeyStore.for_layouts(tmp_path, [layout]))
    ceremony.trust_store(made.store)


@pytest.mark.parametrize("signer_id", [b"A", CITY_ID, (bytes(range(0x20, 0x7F)) * 11)[:1023]])
def test_the_card_signs_under_the_id_it_was_given(signer_id: bytes) -> None:
    """GENERATE ASYMMETRIC KEY PAIR 80 01 02 81 L ID: the applet keeps the ID with the key and its INTERNAL
    AUTHENTICATE answers verify under that ID only (1023 bytes, the longest, goes as an extended APDU)."""
    session = personalising_session()
    suite = Suite(SuiteName.GM, signer_id)
    command = chip.generate_key_pair_command(chip.CHIP_KEY_REF, suite=suite)
    public = chip.parse_generated_public_key(session.pipeline.send(command).data, suite)
    challenge = chip.new_challenge()
    answer = session.pipeline.send(chip.internal_authenticate_command(challenge, chip.CHIP_KEY_REF))
    assert answer.sw == SW.OK
    spki = chip.encode_chip_public_key(public)
    chip.verify_chip_response(spki, challenge, answer.data, suite)
    other = GM if signer_id != GM.distid else Suite(SuiteName.GM, b"another")
    with pytest.raises(ChipAuthenticationFailed):
        chip.verify_chip_response(spki, challenge, answer.data, other)


@pytest.mark.parametrize(("data", "why"), [
    (bytes.fromhex("800101" "810141"), "P-256 takes no signer ID"),
    (bytes.fromhex("800102" "8100"), "an empty ID"),
    (bytes.fromhex("800102" "81820400") + b"A" * 1024, "an ID over 1023 bytes"),
])
def test_the_card_refuses_a_bad_signer_id(data: bytes, why: str) -> None:
    session = personalising_session()
    command = chip.generate_key_pair_command(chip.CHIP_KEY_REF)
    response = session.pipeline.send(CommandApdu(command.cla, command.ins, command.p1, command.p2, data, le=256))
    assert response.sw == SW.INCORRECT_DATA, why


def test_the_cli_counter_verifies_the_city_card_and_names_a_mismatched_store(
        layout: Layout, keys: StationKeys, keys_dir: Path, card: VirtualCard, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`cardsvc verify --card FILE` with the fixture city as the layouts directory: the key store opens in the
    city's suite and the card verifies; a ceremony made at the default ID is refused with the reason."""
    import json

    from cardsvc.cli import main
    from cardsvc.status_list.scope import list_scope

    store_dir = tmp_path / "keys"
    make_keys(store_dir, GM)  # a ceremony at the default ID, for the same authorities
    monkeypatch.setenv("CARDSVC_LAYOUTS_DIR", str(FIXTURE.parent))  # the city alone
    card.power_on()
    card_file = tmp_path / "card.cbor"
    card.save(card_file)
    scope = list_scope(layout)
    name = ceremony.signer_name(SignerRole.DOCUMENT, scope.signer_authority)
    listing = StatusList.build(scope.issuer, 1, NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=23), [])
    status_file = tmp_path / "status.cbor"
    StatusListCache(status_file, keys.trust(), dt.timedelta(hours=24)).update(
        sign_status_list(listing, keys.store.private_key(name), keys.store.certificate(name)), NOW)
    args = ["verify", "--card", str(card_file), "--layout", layout.id, "--status-list", str(status_file), "--json"]
    assert main([*args, "--keystore", str(keys_dir)]) == 0, capsys.readouterr()
    assert json.loads(capsys.readouterr().out)["result"] == "genuine_valid"
    assert main([*args, "--keystore", str(store_dir)]) == 2
    assert "ALICE123@YAHOO.COM" in capsys.readouterr().err
