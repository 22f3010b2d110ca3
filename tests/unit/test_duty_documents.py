"""The duties' papers carry their text (cardsvc.duties.documents): the notice of missing materials (SMX
Art.11), the fee receipt (SMX Art.20, ZZ Art.15) and the residence-years certificate (SMX Art.18) are A4
PDFs whose text, read back with pypdf, holds what the paper says, rare characters and the middle dot of
minority names included, in the order printed."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pypdf

from cardsvc.duties.documents import Document, fee_receipt, missing_materials_notice, render_document
from cardsvc.duties.residence import ResidenceRecord, Span, certificate

A4_PT = (595.28, 841.89)


def _text(pdf: bytes) -> tuple[list[str], pypdf.PdfReader]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [page.extract_text() for page in reader.pages], reader


def _assert_a4(reader: pypdf.PdfReader) -> None:
    for page in reader.pages:
        assert (round(float(page.mediabox.width), 1), round(float(page.mediabox.height), 1)) == \
            (round(A4_PT[0], 1), round(A4_PT[1], 1))
        assert len(page.images) == 1  # the printed page itself


def test_notice_of_missing_materials() -> None:
    doc = missing_materials_notice(17, "三门峡市", date(2026, 3, 2), [
        {"any_of": ["employment_proof", "residence_proof"], "article": "SMX Art.8"},
        {"any_of": ["registration_cert"], "article": "SMX Art.9"}], datetime(2026, 3, 2, 9, tzinfo=UTC), "阿依古丽·𠈌")
    [text], reader = _text(render_document(doc))
    _assert_a4(reader)
    lines = text.splitlines()
    assert lines[0] == "三门峡市居住证申领补充材料一次性告知书"
    assert lines[1] == "申领人：阿依古丽·𠈌"
    assert "申请编号：17" in text and "申请日期：2026-03-02" in text
    assert "1. 合法稳定就业证明 或 合法稳定住所证明（SMX Art.8）" in lines
    assert "2. 暂住登记凭证（SMX Art.9）" in lines
    assert reader.metadata is not None and reader.metadata.title == "notice of missing materials, application 17"


def test_fee_receipt() -> None:
    doc = fee_receipt("ZZ-20260302-000005", "郑州市", "410105-2026-000123", "补领居住证", 2000, "ZZ Art.15",
                      datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    [text], _ = _text(render_document(doc))
    for line in ("郑州市居住证工本费收据", "收据编号：ZZ-20260302-000005", "居住证号码：410105-2026-000123",
                 "收费事项：补领居住证", "金额：人民币 20.00 元", "依据：ZZ Art.15"):
        assert line in text.splitlines(), (line, text)


def test_certificate_with_a_rare_character_and_a_middle_dot_over_two_pages() -> None:
    late = "补办签注 (SMX Art.18)"
    broken = [Span(date(2010 + n, 1, 1), date(2010 + n, 12, 31), "首次发证" if n == 0 else late,
                   "逾期未签注 (SMX Art.19(3))") for n in range(30)]
    spans = (*broken, Span(date(2041, 1, 1), None, late, None))
    record = ResidenceRecord(("411202-2041-000001",), spans, date(2043, 6, 1))
    doc = certificate(record, "三门峡市", "买买提·𠈌艾力", datetime(2043, 6, 1, tzinfo=UTC))
    pages, reader = _text(render_document(doc))
    assert len(pages) > 1  # 31 spans (some wrapped) do not fit one page
    _assert_a4(reader)
    text = "\n".join(pages)
    assert "持证人：买买提·𠈌艾力" in text and "居住证号码：411202-2041-000001" in text
    assert "截至 2043-06-01，连续居住年限：2 年" in text
    assert "31. 2041-01-01 — 至今（起算：补办签注 (SMX Art.18)）" in text.splitlines()
    assert pages[-1].splitlines()[-1] == "出具日期：2043-06-01"


def test_an_empty_line_is_printed_but_not_in_the_text() -> None:
    [text], _ = _text(render_document(Document("标题", ("第一段", "", "第二段"), "t")))
    assert text.splitlines() == ["标题", "第一段", "第二段"]
