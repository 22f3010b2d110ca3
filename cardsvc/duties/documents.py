"""Printable A4 documents of the duties: the one-time written notice of missing materials (SMX Art.11)
and the fee receipt (SMX Art.20, ZZ Art.15).

Rendered like the card face (cardsvc.face): the same CJK font chain with per-character fallback and the
same line drawing, onto a 300 dpi A4 page saved as PDF; a character no installed font covers is an error
naming it, never a box on a paper handed to the applicant. The documents hold no citizen ID number.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from PIL import Image, ImageDraw

from cardsvc.face.fonts import find_fonts
from cardsvc.face.layout import DPI
from cardsvc.face.text import draw_line, pt_to_px, wrap
from cardsvc.rules.materials import Material

A4_MM = (210.0, 297.0)
MARGIN_MM = 20.0

# How a material is named to the applicant on paper (SMX Art.9-10, ZZ Art.12).
MATERIAL_NAMES: dict[Material, str] = {
    Material.ID_CARD: "居民身份证或其他合法有效身份证件",
    Material.DIGITAL_PHOTO: "数码照片",
    Material.REGISTRATION_CERT: "暂住登记凭证",
    Material.EMPLOYMENT_PROOF: "合法稳定就业证明",
    Material.RESIDENCE_PROOF: "合法稳定住所证明",
    Material.STUDY_PROOF: "连续就读证明",
    Material.AGENT_ID: "代办人的合法有效身份证件",
    Material.PHOTOS: "近期免冠1寸照片2张",
}


@dataclass(frozen=True)
class Document:
    title: str
    lines: tuple[str, ...]  # paragraphs; each wraps to the page width
    title_for_pdf: str  # ASCII metadata title


def _mm(mm: float) -> float:
    return mm * DPI / 25.4


def render_document(doc: Document) -> bytes:
    """One A4 page (more when the text is long) as PDF."""
    width, height = round(_mm(A4_MM[0])), round(_mm(A4_MM[1]))
    body, bold = find_fonts("serif"), find_fonts("sans", bold=True)
    title_px, body_px = pt_to_px(18), pt_to_px(11.5)
    left, usable = _mm(MARGIN_MM), width - 2 * _mm(MARGIN_MM)
    pages: list[Image.Image] = []

    def new_page() -> tuple[Image.Image, ImageDraw.ImageDraw]:
        page = Image.new("RGB", (width, height), "white")
        pages.append(page)
        return page, ImageDraw.Draw(page)

    _, draw = new_page()
    y = _mm(MARGIN_MM)
    for line in wrap(bold, title_px, doc.title, usable, "title"):
        draw_line(draw, bold, left, y, line, title_px, "black", "title")
        y += title_px * 1.5
    y += body_px
    for paragraph in doc.lines:
        for line in wrap(body, body_px, paragraph, usable, "text") or [""]:
            if y + body_px > height - _mm(MARGIN_MM):
                _, draw = new_page()
                y = _mm(MARGIN_MM)
            draw_line(draw, body, left, y, line, body_px, "black", "text")
            y += body_px * 1.6
        y += body_px * 0.6
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=DPI, title=doc.title_for_pdf,
                  producer="cardsvc.duties")
    return out.getvalue()


def missing_materials_notice(application_id: int, city_name: str, applied_on: date,
                             missing: list[dict[str, object]], issued_at: datetime) -> Document:
    """SMX Art.11 "对申请材料不全的，应当一次性书面告知申领人需要补充的材料": every missing material at once."""
    items = []
    for n, need in enumerate(missing, 1):
        options = [MATERIAL_NAMES.get(Material(str(m)), str(m)) for m in need.get("any_of", [])]  # type: ignore[attr-defined]
        items.append(f"{n}. {' 或 '.join(options) or '（依申请情形）'}（{need.get('article', '')}）")
    return Document(
        title=f"{city_name}居住证申领补充材料一次性告知书",
        lines=(f"申请编号：{application_id}    申请日期：{applied_on.isoformat()}",
               "经审验，您的居住证申领材料不全，现一次性书面告知您需要补充的全部材料如下：",
               *items,
               "请补齐上述材料后再到居住地登记站办理。符合申领条件且材料齐全的，当场受理。",
               f"告知日期：{issued_at.date().isoformat()}"),
        title_for_pdf=f"notice of missing materials, application {application_id}",
    )


def fee_receipt(receipt_number: str, city_name: str, permit_number: str, event_name: str, amount_fen: int,
                article: str, paid_at: datetime) -> Document:
    """SMX Art.20 ¶2 / ZZ Art.15: the card fee (工本费) for a replacement or renewal, one receipt per payment."""
    return Document(
        title=f"{city_name}居住证工本费收据",
        lines=(f"收据编号：{receipt_number}", f"居住证号码：{permit_number}", f"收费事项：{event_name}",
               f"金额：人民币 {amount_fen // 100}.{amount_fen % 100:02d} 元", f"依据：{article}",
               f"收费时间：{paid_at.isoformat(timespec='minutes')}"),
        title_for_pdf=f"fee receipt {receipt_number}",
    )
