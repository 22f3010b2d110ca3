"""Printable A4 documents of the duties: the one-time written notice of missing materials (SMX Art.11)
and the fee receipt (SMX Art.20, ZZ Art.15).

Rendered like the card face (cardsvc.face): the same CJK font chain with per-character fallback and the
same line drawing, onto a 300 dpi A4 page; a character no installed font covers is an error naming it,
never a box on a paper handed to the applicant. The documents hold no citizen ID number.

The PDF (fpdf2, pyproject.toml says why) carries each page as that image and, over every drawn line, the
same text in invisible text mode (PDF 32000-1 §9.3.6, Tr 3) with the main face embedded as a subset: what
is printed is exactly the raster (rare characters from the fallback fonts included), and the text can be
searched, copied and read out of the file, e.g. by a clerk's screen reader or an archive's full-text index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fpdf import FPDF
from fpdf.enums import TextMode
from PIL import Image, ImageDraw

from cardsvc.face.fonts import FontChain, FontFace, find_fonts
from cardsvc.face.layout import DPI
from cardsvc.face.text import EM_ASCENT, draw_line, pt_to_px, wrap
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


@dataclass(frozen=True)
class _Line:
    page: int
    x: float  # px from the left edge
    baseline: float  # px from the top edge
    size_px: int
    text: str


def render_document(doc: Document) -> bytes:
    """One A4 page (more when the text is long) as PDF: the raster, with the text under it."""
    width, height = round(_mm(A4_MM[0])), round(_mm(A4_MM[1]))
    body, bold = find_fonts("serif"), find_fonts("sans", bold=True)
    title_px, body_px = pt_to_px(18), pt_to_px(11.5)
    left, usable = _mm(MARGIN_MM), width - 2 * _mm(MARGIN_MM)
    pages: list[Image.Image] = []
    drawn: list[_Line] = []

    def new_page() -> tuple[Image.Image, ImageDraw.ImageDraw]:
        page = Image.new("L", (width, height), 255)  # black text on white: one grey channel
        pages.append(page)
        return page, ImageDraw.Draw(page)

    _, draw = new_page()
    y = _mm(MARGIN_MM)
    for line in wrap(bold, title_px, doc.title, usable, "title"):
        draw_line(draw, bold, left, y, line, title_px, "black", "title")
        drawn.append(_Line(len(pages) - 1, left, y + EM_ASCENT * title_px, title_px, line))
        y += title_px * 1.5
    y += body_px
    for paragraph in doc.lines:
        for line in wrap(body, body_px, paragraph, usable, "text") or [""]:
            if y + body_px > height - _mm(MARGIN_MM):
                _, draw = new_page()
                y = _mm(MARGIN_MM)
            draw_line(draw, body, left, y, line, body_px, "black", "text")
            if line:
                drawn.append(_Line(len(pages) - 1, left, y + EM_ASCENT * body_px, body_px, line))
            y += body_px * 1.6
        y += body_px * 0.6
    return _pdf(doc, pages, drawn, body)


def _layer_faces(chain: FontChain) -> list[FontFace]:
    """The faces of the text layer: the chain's TrueType-outlined ones (HanaMin A/B: BMP and Extension B),
    which fpdf2 writes with Identity-H, read by every text extractor; its CFF path (Noto CJK) writes an
    embedded encoding CMap that pypdf misreads. Without them, the main face: the text is there all the same."""
    return [f for f in chain.faces if f.path.suffix.lower() == ".ttf"] or [chain.main]


def _pdf(doc: Document, pages: list[Image.Image], drawn: list[_Line], chain: FontChain) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_title(doc.title_for_pdf)
    pdf.set_producer("cardsvc.duties")
    pdf.set_auto_page_break(False)
    faces = _layer_faces(chain)
    for n, face in enumerate(faces):
        pdf.add_font(f"text{n}", fname=str(face.path), collection_font_number=face.index)
    pdf.set_fallback_fonts([f"text{n}" for n in range(1, len(faces))])
    px_to_mm = 25.4 / DPI
    for n, page in enumerate(pages):
        pdf.add_page()
        pdf.image(page, x=0, y=0, w=A4_MM[0], h=A4_MM[1])
        pdf.text_mode = TextMode.INVISIBLE
        for line in (d for d in drawn if d.page == n):
            pdf.set_font("text0", size=line.size_px * 72 / DPI)
            pdf.text(line.x * px_to_mm, line.baseline * px_to_mm, line.text)
        pdf.text_mode = TextMode.FILL
    return bytes(pdf.output())


def missing_materials_notice(application_id: int, city_name: str, applied_on: date,
                             missing: list[dict[str, object]], issued_at: datetime,
                             applicant_name: str = "") -> Document:
    """SMX Art.11 "对申请材料不全的，应当一次性书面告知申领人需要补充的材料": every missing material at once,
    addressed to the applicant by name."""
    items = []
    for n, need in enumerate(missing, 1):
        options = [MATERIAL_NAMES.get(Material(str(m)), str(m)) for m in need.get("any_of", [])]  # type: ignore[attr-defined]
        items.append(f"{n}. {' 或 '.join(options) or '（依申请情形）'}（{need.get('article', '')}）")
    return Document(
        title=f"{city_name}居住证申领补充材料一次性告知书",
        lines=(*([f"申领人：{applicant_name}"] if applicant_name else []),
               f"申请编号：{application_id}    申请日期：{applied_on.isoformat()}",
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
