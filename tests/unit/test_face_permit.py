"""FaceData.from_permit: synthetic permits of both cities with a real signed QR, printed and scanned back."""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from cardsvc.face import FaceData, FaceDataError, Fonts, load_face_layout, render_face
from cardsvc.layout.loader import load_layout
from cardsvc.permit.model import Endorsement, Permit
from cardsvc.qr import QrPayload, encode_qr_text
from cardsvc.samples import generate_permit
from cardsvc.security.pki import Authority, SignerRole, issue_signer, make_root_ca

ROOT = Path(__file__).resolve().parents[2] / "layouts"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)


def _permit(city: str, seed: int) -> Permit:
    return generate_permit(load_layout(ROOT / f"{city}.toml"), random.Random(seed), today=TODAY)


def _signed_qr(permit: Permit) -> str:
    # Keys are generated at test time (never stored).
    root_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = make_root_ca(root_key, "河南省居住证根证书", START)
    authority = Authority(permit.authority.code, permit.authority.name)
    cert = issue_signer(root_key, root, signer_key.public_key(), authority, SignerRole.DOCUMENT, START)
    return encode_qr_text(QrPayload.from_permit(permit), signer_key, cert)


@pytest.mark.parametrize("city", ["sanmenxia", "zhengzhou"])
@pytest.mark.parametrize("seed", [1, 7, 18])
def test_printed_signed_qr_scans_back(city: str, seed: int) -> None:
    zxingcpp = pytest.importorskip("zxingcpp", reason="no QR decoder installed (pip install zxing-cpp)")
    permit = _permit(city, seed)
    qr_text = _signed_qr(permit)
    layout = load_face_layout(ROOT / "faces" / f"{city}.toml")
    images = render_face(FaceData.from_permit(permit, qr_text), layout, Fonts.for_layout(layout))
    side = Image.open(io.BytesIO(images.front_png if layout.front.qr else images.back_png))
    found = zxingcpp.read_barcodes(side.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [r.text for r in found] == [qr_text]


def test_from_permit_uses_labels_and_latest_endorsement() -> None:
    permit = _permit("sanmenxia", 3)
    data = FaceData.from_permit(permit, "HC1:X")
    assert data.sex == permit.sex.label and data.sex in ("男", "女")
    assert data.ethnicity.endswith("族") or data.ethnicity in ("其他", "外国血统中国籍人士")
    assert data.authority == permit.authority.name
    endorsement = Endorsement(date=TODAY, residence_address="河南省三门峡市湖滨区崤山路1号",
                              valid_until=permit.valid_until + dt.timedelta(days=365), authority=permit.authority)
    endorsed = FaceData.from_permit(permit.with_endorsement(endorsement), "HC1:X")
    # SMX Art.16: the endorsement carries the current address and validity.
    assert endorsed.residence_address == "河南省三门峡市湖滨区崤山路1号"
    assert endorsed.valid_until == endorsement.valid_until
    assert endorsed.issue_date == permit.issue_date


def test_from_permit_unknown_ethnicity_code() -> None:
    permit = replace(_permit("zhengzhou", 2), ethnicity="77")
    with pytest.raises(FaceDataError, match="ethnicity: '77' is not a GB/T 3304 code"):
        FaceData.from_permit(permit, "HC1:X")
