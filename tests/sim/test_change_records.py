"""Change-registration records on the card (ZZ Art.14 "服务处所等登记事项发生变更的…办理变更登记").

A changed service place is written to the card as a record of the layout's change EF, signed by the
registering authority's endorsement signer for this card and record number, over the record type 'DF40 01
43' and the record's bytes. These tests hold what the signature binds: the record type (a signature made
as for an endorsement record over the same bytes does not verify), the card, the record number and every
byte of the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import pytest

from cardsvc.issuance.endorse_records import raw_signature, sign_change_for_card
from cardsvc.issuance.keys import StationKeys
from cardsvc.layout import builtin_layout
from cardsvc.layout.codec import encode_change
from cardsvc.permit.model import Change
from cardsvc.security.errors import EndorsementError
from cardsvc.verification.endorsements import check_endorsements, verify_change_record
from cardsvc.verification.verdict import Outcome, Result
from tests.issuance_support import make_station_keys

CARD = "410100000000071"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StationKeys]:
    yield make_station_keys(tmp_path_factory.mktemp("keystore"))


def _record(keys: StationKeys, card: str = CARD, number: int = 1) -> bytes:
    layout = builtin_layout("zz")
    c = Change(dt.date(2026, 11, 22), dt.date(2026, 11, 18), "郑州𠈌园物流有限公司", "410105")
    return encode_change(sign_change_for_card(c, layout, keys, card, number), layout)


def test_a_change_record_verifies_for_its_card_and_number(keys: StationKeys) -> None:
    layout = builtin_layout("zz")
    record = _record(keys)
    c = verify_change_record(record, 1, CARD, layout, keys.trust(), dt.datetime.now(dt.UTC))
    assert c.service_place == "郑州𠈌园物流有限公司" and c.changed_on == dt.date(2026, 11, 18)
    with pytest.raises(EndorsementError):  # another record number
        verify_change_record(record, 2, CARD, layout, keys.trust(), dt.datetime.now(dt.UTC))
    with pytest.raises(EndorsementError):  # another card
        verify_change_record(record, 1, "410100000000089", layout, keys.trust(), dt.datetime.now(dt.UTC))


def test_the_record_type_is_signed(keys: StationKeys) -> None:
    """The same bytes signed as an endorsement record would be (no record type): refused."""
    layout = builtin_layout("zz")
    c = Change(dt.date(2026, 11, 22), dt.date(2026, 11, 18), "郑州某公司", "410105")
    body = encode_change(c, layout, signed_part=True)
    as_endorsement = replace(c, signature=raw_signature(keys.sign_endorsement("410105", CARD, 1, body)))
    with pytest.raises(EndorsementError):
        verify_change_record(encode_change(as_endorsement, layout), 1, CARD, layout, keys.trust(),
                             dt.datetime.now(dt.UTC))


def test_every_altered_byte_is_tampered(keys: StationKeys) -> None:
    layout = builtin_layout("zz")
    record = _record(keys)
    for i in range(len(record)):
        altered = bytearray(record)
        altered[i] ^= 0x01
        found = check_endorsements((), CARD, layout, keys.trust(), dt.datetime.now(dt.UTC), changes=(bytes(altered),))
        assert found.result.outcome is Outcome.FAIL and found.result.result in (Result.TAMPERED,
                                                                                Result.UNTRUSTED_ISSUER), i
    found = check_endorsements((), CARD, layout, keys.trust(), dt.datetime.now(dt.UTC), changes=(record,))
    assert found.result.outcome is Outcome.PASS and "1 change record(s)" in found.result.detail
