"""Card-side security on the virtual card, driven by the host-side security code (issue 4, phase 2).

A permit ADF and two department ADFs are personalized with per-card diversified keys and an on-card chip
key; then each attack the issue lists must be refused with its own error.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from applets.security.module import install
from cardsvc.iso7816.apdu import CommandApdu, ResponseApdu
from cardsvc.iso7816.errors import ApduError, AuthMethodBlocked, SecureMessagingError, SecurityStatusNotSatisfied
from cardsvc.iso7816.fcp import ALWAYS, NEVER, AccessCondition, DfOp, EfOp, Fcp, FileStructure, LifeCycle
from cardsvc.iso7816.fcp import SecurityAttributes as SA
from cardsvc.iso7816.tlv import encode_tlv
from cardsvc.protocol import build_pipeline
from cardsvc.security import ceremony, chip
from cardsvc.security.endorsement import verify_endorsement
from cardsvc.security.errors import (
    ChipAuthenticationFailed,
    EfHashMismatch,
    EndorsementSignatureError,
    SignerExpiredError,
    SignerRevokedError,
    SmReplayError,
    TerminalKeyRejected,
    UntrustedSignerError,
)
from cardsvc.security.kdf import KeyRole, SymmetricCipher
from cardsvc.security.mutual_auth import MutualAuthentication, authenticate, get_challenge_command
from cardsvc.security.sm import SecureMessagingProcessor, SmSession
from cardsvc.security.sod import verify_sod
from cardsvc.security.suite import INTL
from simulator import VirtualCard
from simulator.faults import When
from simulator.transport import CardMuteError, InProcessConnection
from tests.security_support import T0, Issuer, make_issuer, passphrase

AT = T0 + dt.timedelta(days=1)
CARD_NO = "4112020000000001"
PERMIT_AID = bytes.fromhex("D1560000010001")
DEPT_AIDS = {KeyRole.EDUCATION: bytes.fromhex("D1560000010201"), KeyRole.HEALTH: bytes.fromhex("D1560000010204")}
ISSUER, ENDORSE, COUNTER, CHIP, DEPT = 1, 2, 3, 4, 5  # key references
MAX_TRIES = 3


def cond(ref: int) -> AccessCondition:
    return AccessCondition(key_ref=ref, sm=True)


ADF_RULES = SA({DfOp.CREATE_EF: cond(ISSUER), DfOp.ACTIVATE: cond(ISSUER), DfOp.DEACTIVATE: cond(ISSUER)})
PERMIT_EFS = {  # fid: (sfi, structure, rules)
    0x0101: (1, SA({EfOp.READ: ALWAYS, EfOp.UPDATE: cond(ISSUER)})),  # EF.CARD
    0x0102: (2, SA({EfOp.READ: cond(COUNTER), EfOp.UPDATE: cond(ISSUER)})),  # EF.MACHINE
    0x0106: (6, SA({EfOp.READ: ALWAYS, EfOp.UPDATE: NEVER})),  # EF.CHIPKEY
    0x011D: (29, SA({EfOp.READ: ALWAYS, EfOp.UPDATE: cond(ISSUER)})),  # EF.SOD
}
EF_ENDORSE = 0x0105
CONTENT = {0x0101: f"{CARD_NO}|ZZ|411202".encode(), 0x0102: "买买提·艾力|11010519491231002X".encode("gb18030")}


def ok(resp: ResponseApdu) -> bytes:
    if resp.sw != 0x9000:
        raise ApduError.from_sw(resp.sw, resp.data)
    return resp.data


@dataclass
class Env:
    issuer: Issuer
    card: VirtualCard
    conn: InProcessConnection

    def plain(self, command: CommandApdu) -> ResponseApdu:
        data, sw = self.conn.transmit(command.encode())
        return ResponseApdu(data, sw)

    def key(self, role: str) -> bytes:
        return ceremony.card_key(self.issuer.store, role, CARD_NO)

    def select(self, aid: bytes) -> None:
        ok(self.plain(CommandApdu(0x00, 0xA4, 0x04, 0x0C, aid)))

    def login(self, role: str, ref: int) -> SecureMessagingProcessor:
        session = authenticate(self.conn.transmit, self.key(role), ref)
        return SecureMessagingProcessor(build_pipeline(self.conn, extended=True, log_traffic=False), session)


def read(sm: SecureMessagingProcessor | Env, sfi: int) -> ResponseApdu:
    command = CommandApdu(0x00, 0xB0, 0x80 | sfi, 0x00, le=65536)
    return sm.plain(command) if isinstance(sm, Env) else sm.send(command)


def put_key(env: Env, ref: int, key: bytes) -> None:
    data = encode_tlv(0x81, b"\x01") + encode_tlv(0x82, bytes((MAX_TRIES,))) + encode_tlv(0x83, key)
    ok(env.plain(CommandApdu(0x80, 0xD8, 0x01, 0x80 | ref, data)))


def create(env: Env, fcp: Fcp) -> None:
    ok(env.plain(CommandApdu(0x00, 0xE0, 0x00, 0x00, fcp.encode())))


def personalize(env: Env) -> bytes:
    """Create and fill the ADFs while they are in the initialisation state, then activate them.
    Returns EF.SOD."""
    create(env, Fcp(0x1000, FileStructure.DF, df_name=PERMIT_AID, lifecycle=LifeCycle.INITIALISATION,
                    security=ADF_RULES))
    env.select(PERMIT_AID)
    for role, ref in ((KeyRole.ISSUER, ISSUER), (KeyRole.ENDORSEMENT, ENDORSE), (KeyRole.COUNTER, COUNTER)):
        put_key(env, ref, env.key(role))
    public = chip.parse_generated_public_key(ok(env.plain(chip.generate_key_pair_command(CHIP))))
    contents = {**CONTENT, 0x0106: chip.encode_chip_public_key(public)}
    contents[0x011D] = b""
    sod = ceremony.sign_security_object(env.issuer.store, "411202", {k: v for k, v in contents.items() if v})
    contents[0x011D] = sod
    for fid, (sfi, rules) in PERMIT_EFS.items():
        create(env, Fcp(fid, FileStructure.TRANSPARENT, size=len(contents[fid]), sfi=sfi,
                        lifecycle=LifeCycle.INITIALISATION, security=rules))
        ok(env.plain(CommandApdu(0x00, 0xD6, 0x80 | sfi, 0x00, contents[fid])))
        ok(env.plain(CommandApdu(0x00, 0x44, 0x00, 0x00, fid.to_bytes(2, "big"))))
    create(env, Fcp(EF_ENDORSE, FileStructure.LINEAR_VARIABLE, record_length=250, record_count=10, sfi=5,
                    security=SA({EfOp.READ: ALWAYS, EfOp.WRITE: cond(ENDORSE)})))
    env.select(PERMIT_AID)
    ok(env.plain(CommandApdu(0x00, 0x44, 0x00, 0x00)))  # permit ADF → operational: its rules bind
    for n, (role, aid) in enumerate(DEPT_AIDS.items()):
        ok(env.plain(CommandApdu(0x00, 0xA4, 0x00, 0x0C, b"\x3f\x00")))
        fid = 0x2000 + n
        create(env, Fcp(fid, FileStructure.DF, df_name=aid, lifecycle=LifeCycle.INITIALISATION,
                        security=SA({DfOp.CREATE_EF: cond(DEPT)})))
        env.select(aid)
        put_key(env, DEPT, env.key(role))
        create(env, Fcp(0x0301, FileStructure.TRANSPARENT, size=32, sfi=1,
                        security=SA({EfOp.READ: cond(DEPT), EfOp.UPDATE: cond(DEPT)})))
        env.select(aid)
        ok(env.plain(CommandApdu(0x00, 0x44, 0x00, 0x00)))
    return sod


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    roles = (KeyRole.ISSUER, KeyRole.ENDORSEMENT, KeyRole.COUNTER, KeyRole.EDUCATION, KeyRole.HEALTH)
    return make_issuer(tmp_path_factory.mktemp("ks"), roles=tuple(str(r) for r in roles))


@pytest.fixture
def env(issuer: Issuer) -> Iterator[Env]:
    card = VirtualCard.blank(SA({DfOp.CREATE_DF: ALWAYS, DfOp.CREATE_EF: ALWAYS}))
    install(card.os)
    conn = InProcessConnection(card)
    e = Env(issuer, card, conn)
    personalize(e)
    yield e
    conn.close()


def counter_verification(env: Env) -> None:
    """What a counter reader does: read the signed EFs, passive + chip authentication."""
    env.select(PERMIT_AID)
    sm = env.login(KeyRole.COUNTER, COUNTER)
    efs = {fid: ok(read(sm, sfi)) for fid, (sfi, _) in PERMIT_EFS.items()}
    sod = efs.pop(0x011D)
    verify_sod(sod, efs, ceremony.trust_store(env.issuer.store), AT)
    challenge = chip.new_challenge()
    signature = ok(sm.send(chip.internal_authenticate_command(challenge, CHIP)))
    chip.verify_chip_response(efs[0x0106], challenge, signature, INTL)


def test_genuine_card_verifies(env: Env) -> None:
    counter_verification(env)


def test_machine_readable_ef_needs_counter_key_and_sm(env: Env) -> None:
    env.select(PERMIT_AID)
    assert read(env, 1).sw == 0x9000  # EF.CARD: always
    assert read(env, 2).sw == 0x6982  # EF.MACHINE: counter key + SM
    sm = env.login(KeyRole.COUNTER, COUNTER)
    assert ok(read(sm, 2)) == CONTENT[0x0102]


def test_tampered_byte_on_card_is_detected(env: Env) -> None:
    env.select(PERMIT_AID)
    sm = env.login(KeyRole.ISSUER, ISSUER)  # even a legitimate writer cannot alter signed data unnoticed
    ok(sm.send(CommandApdu(0x00, 0xD6, 0x82, 0x03, b"X")))
    with pytest.raises(EfHashMismatch) as info:
        counter_verification(env)
    assert info.value.fid == 0x0102


def test_cloned_card_fails_chip_authentication(env: Env) -> None:
    # The attacker copies every file (including EF.CHIPKEY and EF.SOD) onto a card of their own, whose
    # chip has its own key pair: the files verify, the chip does not.
    env.select(PERMIT_AID)
    sm = env.login(KeyRole.COUNTER, COUNTER)
    copied = {fid: ok(read(sm, sfi)) for fid, (sfi, _) in PERMIT_EFS.items()}
    clone = VirtualCard.blank(SA({DfOp.CREATE_DF: ALWAYS, DfOp.CREATE_EF: ALWAYS}))
    install(clone.os)
    cenv = Env(env.issuer, clone, InProcessConnection(clone))
    create(cenv, Fcp(0x1000, FileStructure.DF, df_name=PERMIT_AID, lifecycle=LifeCycle.INITIALISATION))
    cenv.select(PERMIT_AID)
    ok(cenv.plain(chip.generate_key_pair_command(CHIP)))
    for fid, (sfi, _) in PERMIT_EFS.items():
        create(cenv, Fcp(fid, FileStructure.TRANSPARENT, size=len(copied[fid]), sfi=sfi))
        ok(cenv.plain(CommandApdu(0x00, 0xD6, 0x80 | sfi, 0x00, copied[fid])))
    efs = {fid: ok(read(cenv, sfi)) for fid, (sfi, _) in PERMIT_EFS.items()}
    sod = efs.pop(0x011D)
    verify_sod(sod, efs, ceremony.trust_store(env.issuer.store), AT)  # passive authentication passes
    challenge = chip.new_challenge()
    signature = ok(cenv.plain(chip.internal_authenticate_command(challenge, CHIP)))
    with pytest.raises(ChipAuthenticationFailed):
        chip.verify_chip_response(efs[0x0106], challenge, signature, INTL)


def test_wrong_terminal_key_blocks_and_block_survives_power_off(env: Env) -> None:
    env.select(PERMIT_AID)
    wrong = os.urandom(16)
    for left in range(MAX_TRIES - 1, -1, -1):
        with pytest.raises(TerminalKeyRejected) as info:
            authenticate(env.conn.transmit, wrong, COUNTER)
        assert info.value.retries_left == left
    with pytest.raises(AuthMethodBlocked):
        authenticate(env.conn.transmit, env.key(KeyRole.COUNTER), COUNTER)
    image = env.card.to_bytes("cbor")
    reborn = VirtualCard.from_bytes(image, "cbor")
    install(reborn.os)
    renv = Env(env.issuer, reborn, InProcessConnection(reborn))
    renv.select(PERMIT_AID)
    with pytest.raises(AuthMethodBlocked):
        authenticate(renv.conn.transmit, renv.key(KeyRole.COUNTER), COUNTER)
    # Other keys are unaffected, and a correct login resets a partly used counter.
    with pytest.raises(TerminalKeyRejected):
        authenticate(renv.conn.transmit, wrong, ISSUER)
    renv.login(KeyRole.ISSUER, ISSUER)
    with pytest.raises(TerminalKeyRejected) as info:
        authenticate(renv.conn.transmit, wrong, ISSUER)
    assert info.value.retries_left == MAX_TRIES - 1


def test_department_cannot_read_another_departments_adf(env: Env) -> None:
    edu, health = DEPT_AIDS[KeyRole.EDUCATION], DEPT_AIDS[KeyRole.HEALTH]
    env.select(edu)
    sm = env.login(KeyRole.EDUCATION, DEPT)
    assert ok(sm.send(CommandApdu(0x00, 0xB0, 0x81, 0x00, le=32))) == bytes(32)
    # Selecting the other department's ADF ends the session and the status with it.
    ok(sm.send(CommandApdu(0x00, 0xA4, 0x04, 0x0C, health)))
    with pytest.raises(SecureMessagingError):
        sm.send(CommandApdu(0x00, 0xB0, 0x81, 0x00, le=32))
    assert read(env, 1).sw == 0x6982
    # The education key is not the health ADF's key: authenticating with it there fails.
    with pytest.raises(TerminalKeyRejected):
        authenticate(env.conn.transmit, env.key(KeyRole.EDUCATION), DEPT)
    env.login(KeyRole.HEALTH, DEPT)


def test_endorsement_only_with_endorsement_key_under_sm(env: Env) -> None:
    store = env.issuer.store
    record = ceremony.sign_endorsement_record(store, "411202", CARD_NO, 1, "新地址|2027-12-31".encode())
    append = CommandApdu(0x00, 0xE2, 0x00, 0x05 << 3, record)
    env.select(PERMIT_AID)
    assert env.plain(append).sw == 0x6982
    sm = env.login(KeyRole.COUNTER, COUNTER)
    with pytest.raises(SecurityStatusNotSatisfied):
        ok(sm.send(append))
    env.select(PERMIT_AID)
    sm = env.login(KeyRole.ENDORSEMENT, ENDORSE)
    ok(sm.send(append))
    stored = ok(env.plain(CommandApdu(0x00, 0xB2, 0x01, (0x05 << 3) | 0x04, le=256)))
    assert verify_endorsement(stored, CARD_NO, 1, ceremony.trust_store(store), AT).body.decode() == "新地址|2027-12-31"


def test_replayed_and_reordered_sm_responses(env: Env) -> None:
    env.select(PERMIT_AID)
    session = authenticate(env.conn.transmit, env.key(KeyRole.COUNTER), COUNTER)
    first = session.wrap(CommandApdu(0x00, 0xB0, 0x81, 0x00, le=256))
    data, sw = env.conn.transmit(first.encode())
    answer1 = data + sw.to_bytes(2, "big")
    session.unwrap(answer1)
    second = session.wrap(CommandApdu(0x00, 0xB0, 0x82, 0x00, le=256))
    env.conn.transmit(second.encode())  # the genuine answer is dropped ...
    with pytest.raises(SmReplayError):
        session.unwrap(answer1)  # ... and the old one replayed


def test_card_refuses_replayed_command_and_ends_session(env: Env) -> None:
    env.select(PERMIT_AID)
    session = authenticate(env.conn.transmit, env.key(KeyRole.COUNTER), COUNTER)
    command = session.wrap(CommandApdu(0x00, 0xB0, 0x82, 0x00, le=256)).encode()
    data, sw = env.conn.transmit(command)
    session.unwrap(data + sw.to_bytes(2, "big"))
    assert env.conn.transmit(command) == (b"", 0x6988)
    assert read(env, 2).sw == 0x6982  # the session and the counter key status are gone


def test_reset_clears_security_state(env: Env) -> None:
    env.select(PERMIT_AID)
    sm = env.login(KeyRole.COUNTER, COUNTER)
    ok(read(sm, 2))
    env.conn.reconnect()
    env.select(PERMIT_AID)
    assert read(env, 2).sw == 0x6982


def test_sm_session_ends_on_plain_command(env: Env) -> None:
    env.select(PERMIT_AID)
    sm = env.login(KeyRole.COUNTER, COUNTER)
    assert read(env, 1).sw == 0x9000  # plain: ends the session
    with pytest.raises(SecureMessagingError):
        ok(read(sm, 2))


def test_key_material_never_leaves_the_card(env: Env) -> None:
    keys = [env.key(r) for r in (KeyRole.ISSUER, KeyRole.ENDORSEMENT, KeyRole.COUNTER)]
    env.select(PERMIT_AID)
    for ins in range(256):
        if ins & 0xF0 in (0x60, 0x90):
            continue
        for cla in (0x00, 0x80):
            data, _ = env.conn.transmit(bytes((cla, ins, 0x00, 0x00, 0x00)))
            assert not any(k in data for k in keys)
    # Loading a key again after activation needs the DF's rule (issuer key + SM).
    env.select(PERMIT_AID)
    data = encode_tlv(0x81, b"\x01") + encode_tlv(0x82, b"\x03") + encode_tlv(0x83, bytes(16))
    assert env.plain(CommandApdu(0x80, 0xD8, 0x01, 0x80 | COUNTER, data)).sw == 0x6982


def test_sm4_keys_work_end_to_end(issuer: Issuer) -> None:
    card = VirtualCard.blank(SA({DfOp.CREATE_DF: ALWAYS, DfOp.CREATE_EF: ALWAYS}))
    install(card.os)
    env = Env(issuer, card, InProcessConnection(card))
    create(env, Fcp(0x1000, FileStructure.DF, df_name=PERMIT_AID, security=SA({DfOp.CREATE_EF: ALWAYS})))
    env.select(PERMIT_AID)
    key = ceremony.card_key(issuer.store, KeyRole.COUNTER, CARD_NO, SymmetricCipher.SM4)
    data = encode_tlv(0x81, b"\x02") + encode_tlv(0x82, b"\x03") + encode_tlv(0x83, key)
    ok(env.plain(CommandApdu(0x80, 0xD8, 0x01, 0x80 | COUNTER, data)))
    create(env, Fcp(0x0102, FileStructure.TRANSPARENT, size=4, sfi=2,
                    security=SA({EfOp.READ: cond(COUNTER), EfOp.UPDATE: cond(COUNTER)})))
    session: SmSession = authenticate(env.conn.transmit, key, COUNTER, SymmetricCipher.SM4)
    sm = SecureMessagingProcessor(build_pipeline(env.conn, extended=True, log_traffic=False), session)
    ok(sm.send(CommandApdu(0x00, 0xD6, 0x82, 0x00, b"SM4!")))
    assert ok(read(sm, 2)) == b"SM4!"


def read_signed(env: Env) -> tuple[bytes, dict[int, bytes]]:
    env.select(PERMIT_AID)
    sm = env.login(KeyRole.COUNTER, COUNTER)
    efs = {fid: ok(read(sm, sfi)) for fid, (sfi, _) in PERMIT_EFS.items()}
    return efs.pop(0x011D), efs


def test_wrong_expired_and_revoked_document_signer(env: Env, tmp_path: Path) -> None:
    sod, efs = read_signed(env)
    with pytest.raises(UntrustedSignerError):
        verify_sod(sod, efs, ceremony.trust_store(make_issuer(tmp_path / "other").store), AT)
    with pytest.raises(SignerExpiredError):
        verify_sod(sod, efs, ceremony.trust_store(env.issuer.store), T0 + dt.timedelta(days=3660 + 1))
    # Revocation: a separate key store, so the module's issuer stays clean.
    own = make_issuer(tmp_path / "own", roles=(KeyRole.ISSUER, KeyRole.ENDORSEMENT, KeyRole.COUNTER,
                                               KeyRole.EDUCATION, KeyRole.HEALTH))
    card = VirtualCard.blank(SA({DfOp.CREATE_DF: ALWAYS, DfOp.CREATE_EF: ALWAYS}))
    install(card.os)
    renv = Env(own, card, InProcessConnection(card))
    personalize(renv)
    sod, efs = read_signed(renv)
    verify_sod(sod, efs, ceremony.trust_store(own.store), AT)
    with passphrase("correct horse battery staple"):
        ceremony.revoke_signer(own.store, "ds-411202", when=AT)
    with pytest.raises(SignerRevokedError):
        verify_sod(sod, efs, ceremony.trust_store(own.store), AT + dt.timedelta(hours=1))


def test_bad_endorsement_signature_on_card(env: Env) -> None:
    record = bytearray(ceremony.sign_endorsement_record(env.issuer.store, "411202", CARD_NO, 1, b"addr|2027"))
    record[-5] ^= 0x01
    env.select(PERMIT_AID)
    sm = env.login(KeyRole.ENDORSEMENT, ENDORSE)
    ok(sm.send(CommandApdu(0x00, 0xE2, 0x00, 0x05 << 3, bytes(record))))
    stored = ok(env.plain(CommandApdu(0x00, 0xB2, 0x01, (0x05 << 3) | 0x04, le=256)))
    with pytest.raises(EndorsementSignatureError):
        verify_endorsement(stored, CARD_NO, 1, ceremony.trust_store(env.issuer.store), AT)


@pytest.mark.parametrize("when", list(When))
def test_power_cut_during_authentication_never_gives_a_free_try(env: Env, when: When) -> None:
    """The counter is written before the cryptogram is checked: cutting power to hide a failure leaves
    the card mute (no verdict) and the try either spent or never evaluated."""
    env.select(PERMIT_AID)
    wrong = MutualAuthentication(os.urandom(16), COUNTER)
    challenge, _ = env.conn.transmit(get_challenge_command().encode())
    attempt = wrong.command(challenge).encode()
    env.card.cut_power(1, when)
    with pytest.raises(CardMuteError):
        env.conn.transmit(attempt)
    env.conn.reconnect()
    env.select(PERMIT_AID)
    with pytest.raises(TerminalKeyRejected) as info:
        authenticate(env.conn.transmit, os.urandom(16), COUNTER)
    spent = 1 if when is When.AFTER else 0
    assert info.value.retries_left == MAX_TRIES - 1 - spent


@given(body=st.binary(max_size=120), ins=st.sampled_from([0xB0, 0xD6, 0xE2, 0x88, 0x84]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_garbage_under_sm_is_refused_cleanly(env: Env, body: bytes, ins: int) -> None:
    env.select(PERMIT_AID)
    authenticate(env.conn.transmit, env.key(KeyRole.COUNTER), COUNTER)
    data, sw = env.conn.transmit(CommandApdu(0x0C, ins, 0x81, 0x00, body, le=256).encode())
    assert (data, sw) in ((b"", 0x6987), (b"", 0x6988))
    assert read(env, 2).sw == 0x6982  # the failure ended the session
