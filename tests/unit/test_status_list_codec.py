"""Signed status list: sign/verify, tamper, wrong signer, model rules, wire decoding errors."""

from __future__ import annotations

import datetime as dt
import zlib

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from cardsvc.permit.permit_number import make_card_number
from cardsvc.qr.cose import sign1
from cardsvc.qr.signed import sign_with_certificate, signer_kid
from cardsvc.rules.status import CardStatus, SuspensionReason
from cardsvc.security.errors import (
    SignatureInvalidError,
    SignedDataError,
    SignerProfileError,
    SignerRevokedError,
    UnknownSignerError,
    UntrustedSignerError,
)
from cardsvc.security.pki import Authority, RevokedEntry, SignerRole, TrustStore, build_crl, issue_signer, make_root_ca
from cardsvc.security.suite import GM
from cardsvc.status_list import (
    ListStatus,
    StatusEntry,
    StatusList,
    StatusListError,
    StatusListFormatError,
    StatusListIssuerError,
    StatusListNotYetValidError,
    sign_status_list,
    verify_status_list,
)
from cardsvc.status_list.codec import decode_payload, encode_payload

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=30)
HUBIN = Authority("411202", "三门峡市公安局湖滨分局")
JINSHUI = Authority("410105", "郑州市公安局金水分局")


def card(serial: int) -> str:
    return make_card_number("4112", serial, 10)


class Pki:
    def __init__(self, root_name: str = "河南省居住证根证书") -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = make_root_ca(self.root_key, root_name, START)
        self.key, self.cert = self.issue()

    def issue(self, authority: Authority = HUBIN, role: SignerRole = SignerRole.DOCUMENT,
              ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        return key, issue_signer(self.root_key, self.root, key.public_key(), authority, role, START)

    def trust(self, *signers: x509.Certificate, revoked: tuple[x509.Certificate, ...] = ()) -> TrustStore:
        crl = build_crl(self.root_key, self.root, [RevokedEntry(c.serial_number, START) for c in revoked], 1,
                        NOW - dt.timedelta(days=1))
        return TrustStore([self.root], [crl], signers or [self.cert], suite=GM)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


def sample(sequence: int = 1, issued_at: dt.datetime = NOW - dt.timedelta(hours=1)) -> StatusList:
    return StatusList.build("411200", sequence, issued_at, issued_at + dt.timedelta(days=1), [
        StatusEntry(card(5), ListStatus.CANCELLED),
        StatusEntry(card(1), ListStatus.LOST),
        StatusEntry(card(2), ListStatus.SUSPENDED, SuspensionReason.ENDORSEMENT_OVERDUE),
        StatusEntry(card(3), ListStatus.REVOKED_REPLACED),
        StatusEntry(card(4), ListStatus.REVOKED_RENEWED),
        StatusEntry(card(6), ListStatus.REVOKED_CORRECTED),
        StatusEntry(card(7), ListStatus.SUSPENDED, SuspensionReason.FALSE_MATERIALS),
    ])


# --- sign / verify -------------------------------------------------------------------------------
def test_sign_verify_round_trip(pki: Pki) -> None:
    original = sample()
    blob = sign_status_list(original, pki.key, pki.cert)
    decoded = verify_status_list(blob, pki.trust(), NOW)
    assert decoded == original
    assert [e.card_number for e in decoded.entries] == sorted(e.card_number for e in original.entries)
    assert decoded.index()[card(2)].reason is SuspensionReason.ENDORSEMENT_OVERDUE


def test_empty_list_and_times_to_the_second(pki: Pki) -> None:
    issued = NOW.replace(microsecond=123456)
    original = StatusList.build("411200", 9, issued, issued + dt.timedelta(hours=6), [])
    assert original.issued_at.microsecond == 0
    assert verify_status_list(sign_status_list(original, pki.key, pki.cert), pki.trust(), NOW) == original


# --- tamper --------------------------------------------------------------------------------------
def test_altered_entry_fails_signature(pki: Pki) -> None:
    blob = sign_status_list(sample(), pki.key, pki.cert)
    parts = list(cbor2.loads(blob).value)
    payload = dict(cbor2.loads(parts[2]))
    codes = zlib.decompress(payload[7])  # the lost card (the lowest key) relabelled as replaced
    payload[7] = zlib.compress(bytes([int(ListStatus.REVOKED_REPLACED)]) + codes[1:])
    parts[2] = cbor2.dumps(payload, canonical=True)
    with pytest.raises(SignatureInvalidError):
        verify_status_list(cbor2.dumps(cbor2.CBORTag(18, parts)), pki.trust(), NOW)


def test_every_single_bit_flip_is_rejected(pki: Pki) -> None:
    blob = sign_status_list(sample(), pki.key, pki.cert)
    trust = pki.trust()
    for i in range(len(blob)):
        altered = bytearray(blob)
        altered[i] ^= 0x10
        with pytest.raises((StatusListError, SignedDataError)):
            verify_status_list(bytes(altered), trust, NOW)


def test_resigned_by_attacker_under_genuine_kid(pki: Pki) -> None:
    attacker = ec.generate_private_key(ec.SECP256R1())
    blob = sign1(encode_payload(sample()), attacker, signer_kid(pki.cert))
    with pytest.raises(SignatureInvalidError):
        verify_status_list(blob, pki.trust(), NOW)


# --- wrong signer --------------------------------------------------------------------------------
def test_foreign_root_signer(pki: Pki) -> None:
    foreign = Pki("伪造根证书")
    blob = sign_status_list(sample(), foreign.key, foreign.cert)
    with pytest.raises(UnknownSignerError):
        verify_status_list(blob, pki.trust(), NOW)  # kid unknown
    both = TrustStore([pki.root], [build_crl(pki.root_key, pki.root, [], 1, NOW - dt.timedelta(days=1))],
                      [pki.cert, foreign.cert], suite=GM)
    with pytest.raises(UntrustedSignerError):
        verify_status_list(blob, both, NOW)  # known, but not issued by a trusted root


def test_wrong_role_and_revoked_signer(pki: Pki) -> None:
    key, cert = pki.issue(role=SignerRole.ENDORSEMENT)
    with pytest.raises(SignerProfileError):
        verify_status_list(sign_status_list(sample(), key, cert), pki.trust(pki.cert, cert), NOW)
    with pytest.raises(SignerRevokedError):
        verify_status_list(sign_status_list(sample(), pki.key, pki.cert), pki.trust(revoked=(pki.cert,)), NOW)


def test_signer_outside_issuer_region(pki: Pki) -> None:
    key, cert = pki.issue(authority=JINSHUI)
    with pytest.raises(StatusListIssuerError):
        sign_status_list(sample(), key, cert)
    blob = sign_with_certificate(encode_payload(sample()), key, cert)
    with pytest.raises(StatusListIssuerError):
        verify_status_list(blob, pki.trust(pki.cert, cert), NOW)


def test_issued_in_the_future(pki: Pki) -> None:
    blob = sign_status_list(sample(issued_at=NOW + dt.timedelta(hours=1)), pki.key, pki.cert)
    with pytest.raises(StatusListNotYetValidError):
        verify_status_list(blob, pki.trust(), NOW)
    assert verify_status_list(blob, pki.trust(), NOW + dt.timedelta(hours=1)).sequence == 1


# --- model ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "reason"), [
    (lambda: StatusEntry(card(1), ListStatus.ACTIVE), "never listed"),
    (lambda: StatusEntry(card(1), ListStatus.SUSPENDED), "needs a reason"),
    (lambda: StatusEntry(card(1), ListStatus.LOST, SuspensionReason.OTHER), "only given for SUSPENDED"),
    (lambda: StatusEntry(card(1)[:-1] + "Z", ListStatus.LOST), "card_number"),
    (lambda: StatusEntry("411", ListStatus.LOST), "card_number"),
    (lambda: StatusList.build("4112", 1, NOW, NOW + dt.timedelta(1), []), "issuer"),
    (lambda: StatusList.build("411200", 0, NOW, NOW + dt.timedelta(1), []), "sequence"),
    (lambda: StatusList.build("411200", 1, NOW, NOW, []), "next_update"),
    (lambda: StatusList.build("411200", 1, NOW.replace(tzinfo=None), NOW, []), "issued_at"),
    (lambda: StatusList.build("411200", 1, NOW, NOW + dt.timedelta(1),
                              [StatusEntry(card(1), ListStatus.LOST), StatusEntry(card(1), ListStatus.CANCELLED)]),
     "listed twice"),
])
def test_model_rules(make: object, reason: str) -> None:
    with pytest.raises(StatusListFormatError, match=reason):
        make()  # type: ignore[operator]


def test_every_card_status_maps() -> None:
    for status in CardStatus:
        assert isinstance(ListStatus.from_card_status(status), ListStatus)
    assert ListStatus.from_card_status(CardStatus.ACTIVE) is ListStatus.ACTIVE
    assert ListStatus.from_card_status(CardStatus.REPLACED) is ListStatus.REVOKED_REPLACED
    assert ListStatus.from_card_status(CardStatus.RENEWED) is ListStatus.REVOKED_RENEWED


# --- wire decoding -------------------------------------------------------------------------------
def _value(**changes: object) -> dict[int, object]:
    value = dict(cbor2.loads(encode_payload(sample())))
    for key, item in changes.items():
        value[int(key[1:])] = item
    return value


@pytest.mark.parametrize(("changes", "reason"), [
    ({"k0": 1}, "kind"),
    ({"k1": 411200}, "issuer"),
    ({"k2": -1}, "sequence"),
    ({"k3": "2026-11-23"}, "issued_at"),
    ({"k4": 2**70}, "next_update"),
    ({"k5": {}}, "entries: must be an array"),
    ({"k5": [[card(1), 1]]}, r"entries\[0\]"),
    ({"k5": [[card(1), 99, None]]}, "unknown status code 99"),
    ({"k5": [[card(1), 2, 7]]}, "SMX Art.19"),
    ({"k5": [[card(2), 1, None], [card(1), 1, None]]}, "not sorted"),
    ({"k5": [[card(1), 0, None]]}, "never listed"),
    ({"k9": 1}, "unknown keys"),
])
def test_decode_errors_name_the_field(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(StatusListFormatError, match=reason):
        decode_payload(_value(**changes))


def test_a_qr_payload_is_not_a_status_list(pki: Pki) -> None:
    blob = sign_with_certificate(cbor2.dumps({0: 1, 1: "x"}), pki.key, pki.cert)
    with pytest.raises(StatusListFormatError, match=r"keys|kind"):
        verify_status_list(blob, pki.trust(), NOW)
