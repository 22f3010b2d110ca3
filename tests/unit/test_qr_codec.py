"""Signed QR code: round trip, tamper, foreign and untrusted signers, expiry, hostile text."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, replace
from typing import Any

import base45
import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.iso7816.errors import CardError
from cardsvc.permit.gb import Sex
from cardsvc.permit.model import Authority as PermitAuthority
from cardsvc.permit.model import Permit
from cardsvc.permit.permit_number import make_card_number, make_permit_number
from cardsvc.qr import (
    PREFIX,
    QrError,
    QrFormatError,
    QrPayload,
    encode_qr_text,
    verify_qr_text,
)
from cardsvc.qr.cose import sign1
from cardsvc.qr.signed import sign_with_certificate, signer_kid
from cardsvc.security.errors import (
    CrlError,
    IssuerMismatchError,
    PkiError,
    SignatureInvalidError,
    SignedDataError,
    SignedFormatError,
    SignerExpiredError,
    SignerProfileError,
    SignerRevokedError,
    UnknownSignerError,
    UntrustedSignerError,
)
from cardsvc.security.pki import (
    Authority,
    RevokedEntry,
    SignerRole,
    TrustStore,
    build_crl,
    issue_signer,
    make_root_ca,
)
from cardsvc.security.suite import GM

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=30)
HUBIN = Authority("411202", "三门峡市公安局湖滨分局")
JINSHUI = Authority("410105", "郑州市公安局金水分局")
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")  # ISO/IEC 18004 §7.4.4


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Pki:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    signer_key: ec.EllipticCurvePrivateKey
    signer: x509.Certificate

    def issue(self, authority: Authority = HUBIN, role: SignerRole = SignerRole.DOCUMENT,
              not_before: dt.datetime = START, validity: dt.timedelta = dt.timedelta(days=3650),
              ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = _key()
        return key, issue_signer(self.root_key, self.root, key.public_key(), authority, role, not_before, validity)

    def trust(self, *signers: x509.Certificate, revoked: tuple[x509.Certificate, ...] = (),
              with_crl: bool = True) -> TrustStore:
        crls = [build_crl(self.root_key, self.root,
                          [RevokedEntry(c.serial_number, START + dt.timedelta(days=1)) for c in revoked],
                          1, NOW - dt.timedelta(days=1))] if with_crl else []
        return TrustStore([self.root], crls, signers or [self.signer], suite=GM)


def _pki(name: str = "河南省居住证根证书") -> Pki:
    root_key = _key()
    root = make_root_ca(root_key, name, START)
    signer_key = _key()
    signer = issue_signer(root_key, root, signer_key.public_key(), HUBIN, SignerRole.DOCUMENT, START)
    return Pki(root_key, root, signer_key, signer)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return _pki()


def _payload(name: str = "王小明", **changes: Any) -> QrPayload:
    base = QrPayload(
        permit_number=make_permit_number("411202", 2026, 123),
        card_number=make_card_number("4112", 1234567, 10),
        name=name, sex=Sex.MALE, issue_date=dt.date(2026, 11, 1), valid_until=dt.date(2027, 11, 1),
        authority_code="411202")
    return replace(base, **changes)


# --- round trip ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["王小明", "买买提·艾力", "𠈌𠀾", "欧阳娜娜"])
def test_round_trip(pki: Pki, name: str) -> None:
    payload = _payload(name)
    text = encode_qr_text(payload, pki.signer_key, pki.signer)
    result = verify_qr_text(text, pki.trust(), NOW)
    assert result.payload == payload
    assert result.payload.name == name
    assert result.signer_authority == "411202"
    assert result.signer_kid == signer_kid(pki.signer)


def test_from_permit(pki: Pki) -> None:
    permit = Permit(
        name="买买提·艾力", sex=Sex.MALE, ethnicity="05", birth_date=dt.date(1949, 12, 31),
        citizen_id="11010519491231002X", photo=b"\xff\xd8", household_address="新疆", residence_address="湖滨区",
        permit_number=make_permit_number("411202", 2026, 7), authority=PermitAuthority("411202", HUBIN.name),
        issue_date=dt.date(2026, 11, 1), valid_until=dt.date(2027, 11, 1),
        card_number=make_card_number("4112", 42, 10))
    payload = QrPayload.from_permit(permit)
    assert (payload.permit_number, payload.card_number, payload.authority_code) == (
        permit.permit_number, permit.card_number, "411202")
    text = encode_qr_text(payload, pki.signer_key, pki.signer)
    assert verify_qr_text(text, pki.trust(), NOW).payload.name == "买买提·艾力"
    carried = cbor2.loads(_cose_parts(text)[2]).values()
    assert permit.citizen_id not in carried  # machine-readable only (ZZ Art.8): not on the printed code
    assert len(carried) == 8


def test_text_is_alphanumeric_and_fits_a_face_qr(pki: Pki) -> None:
    text = encode_qr_text(_payload("买买提·艾力"), pki.signer_key, pki.signer)
    assert text.startswith(PREFIX)
    assert set(text) <= QR_ALPHANUMERIC
    # Typical payload, 6-character minority name: stays within QR version 10-M alphanumeric (311 chars).
    assert len(text) <= 300


def test_scanner_line_ending_accepted(pki: Pki) -> None:
    text = encode_qr_text(_payload(), pki.signer_key, pki.signer)
    assert verify_qr_text(text + "\r\n", pki.trust(), NOW).payload == _payload()


def test_base45_library_matches_rfc9285_examples() -> None:
    # RFC 9285 §4.3 examples.
    for raw, encoded in [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"),
                         (b"ietf!", "QED8WEX0")]:
        assert base45.b45encode(raw).decode() == encoded
        assert base45.b45decode(encoded) == raw


# --- tampering -----------------------------------------------------------------------------------
def _cose_parts(text: str) -> list[bytes]:
    tagged = cbor2.loads(zlib.decompress(base45.b45decode(text[len(PREFIX):])))
    return [bytes(p) if isinstance(p, bytes) else b"" for p in tagged.value]  # unprotected {} → b"" placeholder


def _text(raw: bytes) -> str:
    encoded: bytes = base45.b45encode(zlib.compress(raw))
    return PREFIX + encoded.decode()


def _rewrap(parts: list[bytes]) -> str:
    return _text(cbor2.dumps(cbor2.CBORTag(18, [parts[0], {}, parts[2], parts[3]])))


def test_altered_payload_fails_signature(pki: Pki) -> None:
    text = encode_qr_text(_payload(), pki.signer_key, pki.signer)
    parts = _cose_parts(text)
    forged = cbor2.loads(parts[2])
    forged = dict(forged)
    forged[6] = 20371101  # extend validity by ten years
    parts[2] = cbor2.dumps(forged, canonical=True)
    with pytest.raises(SignatureInvalidError):
        verify_qr_text(_rewrap(parts), pki.trust(), NOW)


def test_altered_signature_fails(pki: Pki) -> None:
    parts = _cose_parts(encode_qr_text(_payload(), pki.signer_key, pki.signer))
    sig = bytearray(parts[3])
    sig[10] ^= 0x01
    parts[3] = bytes(sig)
    with pytest.raises(SignatureInvalidError):
        verify_qr_text(_rewrap(parts), pki.trust(), NOW)


def test_every_single_character_change_is_rejected(pki: Pki) -> None:
    text = encode_qr_text(_payload(), pki.signer_key, pki.signer)
    trust = pki.trust()
    alphabet = sorted(QR_ALPHANUMERIC)
    for i in range(len(text)):
        replacement = alphabet[(alphabet.index(text[i]) + 7) % len(alphabet)]
        altered = text[:i] + replacement + text[i + 1:]
        with pytest.raises((SignedFormatError, SignatureInvalidError, PkiError)):
            verify_qr_text(altered, trust, NOW)


def test_payload_resigned_by_attacker_under_genuine_kid(pki: Pki) -> None:
    attacker = _key()
    raw = sign1(_payload(valid_until=dt.date(2040, 1, 1)).to_cbor(), attacker, signer_kid(pki.signer))
    text = _text(raw)
    with pytest.raises(SignatureInvalidError):
        verify_qr_text(text, pki.trust(), NOW)


# --- signers -------------------------------------------------------------------------------------
def test_foreign_signer_unknown_kid(pki: Pki) -> None:
    foreign = _pki("伪造根证书")
    text = encode_qr_text(_payload(), foreign.signer_key, foreign.signer)
    with pytest.raises(UnknownSignerError):
        verify_qr_text(text, pki.trust(), NOW)


def test_foreign_signer_known_but_chaining_to_foreign_root(pki: Pki) -> None:
    foreign = _pki("伪造根证书")
    text = encode_qr_text(_payload(), foreign.signer_key, foreign.signer)
    crl = build_crl(pki.root_key, pki.root, [], 1, NOW - dt.timedelta(days=1))
    trust = TrustStore([pki.root], [crl], [pki.signer, foreign.signer], suite=GM)
    with pytest.raises(UntrustedSignerError) as info:
        verify_qr_text(text, trust, NOW)
    assert type(info.value) is UntrustedSignerError


def test_endorsement_signer_cannot_sign_qr(pki: Pki) -> None:
    key, cert = pki.issue(role=SignerRole.ENDORSEMENT)
    text = encode_qr_text(_payload(), key, cert)
    with pytest.raises(SignerProfileError):
        verify_qr_text(text, pki.trust(pki.signer, cert), NOW)


def test_revoked_signer(pki: Pki) -> None:
    text = encode_qr_text(_payload(), pki.signer_key, pki.signer)
    with pytest.raises(SignerRevokedError):
        verify_qr_text(text, pki.trust(pki.signer, revoked=(pki.signer,)), NOW)


def test_expired_signer(pki: Pki) -> None:
    key, cert = pki.issue(not_before=START, validity=dt.timedelta(days=10))
    text = encode_qr_text(_payload(), key, cert)
    with pytest.raises(SignerExpiredError):
        verify_qr_text(text, pki.trust(cert), NOW)


def test_no_current_crl(pki: Pki) -> None:
    text = encode_qr_text(_payload(), pki.signer_key, pki.signer)
    with pytest.raises(CrlError):
        verify_qr_text(text, pki.trust(with_crl=False), NOW)


def test_signer_of_another_authority(pki: Pki) -> None:
    key, cert = pki.issue(authority=JINSHUI)
    with pytest.raises(IssuerMismatchError):
        encode_qr_text(_payload(), key, cert)
    # Built around the encoder's check: the verifier refuses it as well.
    raw = sign_with_certificate(_payload().to_cbor(), key, cert)
    text = _text(raw)
    with pytest.raises(IssuerMismatchError):
        verify_qr_text(text, pki.trust(pki.signer, cert), NOW)


def test_key_must_match_certificate(pki: Pki) -> None:
    with pytest.raises(CardError, match="does not belong"):
        encode_qr_text(_payload(), _key(), pki.signer)


# --- validity and format -------------------------------------------------------------------------
def test_expired_printed_validity_is_reported_not_raised(pki: Pki) -> None:
    """Issue 12: the code proves identity and print-time data; a printed validity that has passed is
    reported as printed (an on-time endorsement extends validity on the chip and in the registry)."""
    payload = _payload(issue_date=dt.date(2025, 1, 1), valid_until=dt.date(2026, 1, 1))
    text = encode_qr_text(payload, pki.signer_key, pki.signer)
    verified = verify_qr_text(text, pki.trust(), NOW)
    assert verified.payload == payload and verified.printed_expired


def test_printed_validity_ends_on_the_valid_until_day_in_china_time(pki: Pki) -> None:
    """As on the chip, the valid-until day (the anniversary) is the first day without validity."""
    payload = _payload(valid_until=dt.date(2026, 11, 23))
    text = encode_qr_text(payload, pki.signer_key, pki.signer)
    # 15:59 UTC on the 22nd is 23:59 in UTC+8: the last valid day; 16:00 UTC is the valid-until day there.
    day_before = verify_qr_text(text, pki.trust(), dt.datetime(2026, 11, 22, 15, 59, tzinfo=dt.UTC))
    assert day_before.payload == payload and not day_before.printed_expired
    assert verify_qr_text(text, pki.trust(), dt.datetime(2026, 11, 22, 16, 0, tzinfo=dt.UTC)).printed_expired


@pytest.mark.parametrize(("text", "reason"), [
    ("HC1:NCFOXN6D2", "must start with"),
    ("JZ1:", "zlib"),
    ("JZ1:A", "base45"),
    ("JZ1:abc", "base45"),
    ("JZ1:" + base45.b45encode(b"not zlib").decode(), "zlib"),
    ("JZ1:" + base45.b45encode(zlib.compress(b"\x00" * 100_000)).decode(), "inflates beyond"),
    ("JZ1:" + base45.b45encode(zlib.compress(b"\xff")).decode(), "CBOR"),
    ("JZ1:" + base45.b45encode(zlib.compress(cbor2.dumps([1, 2]))).decode(), "array of 4"),
    ("JZ1:" + "0" * 2000, "exceeds"),
])
def test_format_errors_name_the_layer(text: str, reason: str) -> None:
    trust = _pki().trust()
    with pytest.raises(SignedFormatError, match=reason):
        verify_qr_text(text, trust, NOW)


def test_trailing_bytes_after_cose_rejected(pki: Pki) -> None:
    raw = sign_with_certificate(_payload().to_cbor(), pki.signer_key, pki.signer) + b"\x00"
    text = _text(raw)
    with pytest.raises(SignedFormatError, match="trailing"):
        verify_qr_text(text, pki.trust(), NOW)


def test_signed_payload_of_another_kind_rejected(pki: Pki) -> None:
    other = cbor2.dumps({0: 2, 1: "411200"})  # e.g. a status list, genuinely signed
    raw = sign_with_certificate(other, pki.signer_key, pki.signer)
    text = _text(raw)
    with pytest.raises(QrFormatError, match="payload"):
        verify_qr_text(text, pki.trust(), NOW)


def test_signed_payload_with_bad_field_names_it(pki: Pki) -> None:
    value = cbor2.loads(_payload().to_cbor())
    value = dict(value)
    value[1] = "41120220260001230"  # wrong MOD 11-2 check character
    raw = sign_with_certificate(cbor2.dumps(value), pki.signer_key, pki.signer)
    text = _text(raw)
    with pytest.raises(QrFormatError, match="permit_number"):
        verify_qr_text(text, pki.trust(), NOW)


@pytest.mark.parametrize(("changes", "field"), [
    ({"permit_number": "4112022026000123"}, "permit_number"),
    ({"card_number": "411200012345670"}, "card_number"),
    ({"name": ""}, "name"),
    ({"name": "王\n明"}, "name"),
    ({"sex": 5}, "sex"),
    ({"valid_until": dt.date(2020, 1, 1)}, "valid_until"),
    ({"authority_code": "4112"}, "authority_code"),
])
def test_payload_rejects_bad_fields(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(QrFormatError, match=field):
        replace(_payload(), **changes)


def test_naive_time_rejected(pki: Pki) -> None:
    text = encode_qr_text(_payload(), pki.signer_key, pki.signer)
    with pytest.raises(QrFormatError, match="now"):
        verify_qr_text(text, pki.trust(), NOW.replace(tzinfo=None))


def test_repr_has_no_name(pki: Pki) -> None:
    assert "王小明" not in repr(_payload())


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=400), st.text(alphabet=sorted(QR_ALPHANUMERIC), max_size=400).map(
    lambda s: PREFIX + s)))
def test_arbitrary_text_only_raises_qr_or_signed_data_errors(text: str) -> None:
    with pytest.raises((QrError, SignedDataError)):
        verify_qr_text(text, _TRUST, NOW)


_TRUST = _pki().trust()
