"""Render both faces of a permit card as 300-dpi PNG (1011 × 638 px) and as a two-page PDF for the printer."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from cardsvc.face.errors import FaceDataError, FaceLayoutError
from cardsvc.face.fonts import FontChain, find_fonts
from cardsvc.face.layout import (
    CARD_HEIGHT_MM,
    CARD_HEIGHT_PX,
    CARD_WIDTH_MM,
    CARD_WIDTH_PX,
    DPI,
    Align,
    FaceLayout,
    FieldBlock,
    PhotoBox,
    Rect,
    Side,
    StaticText,
    mm_to_px,
)
from cardsvc.face.model import FaceData, FaceImages
from cardsvc.face.qr import qr_image
from cardsvc.face.text import draw_line, fit, pt_to_px, text_width

log = logging.getLogger(__name__)

# Photos larger than this are refused before decoding (a decompression bomb is not an ID photo).
_MAX_PHOTO_PIXELS = 4000 * 4000


@dataclass(frozen=True, slots=True)
class Fonts:
    """The regular and bold font chains of one layout's style."""

    regular: FontChain
    bold: FontChain

    @classmethod
    def for_layout(cls, layout: FaceLayout) -> Fonts:
        return cls(find_fonts(layout.font, bold=False), find_fonts(layout.font, bold=True))

    def chain(self, bold: bool) -> FontChain:
        return self.bold if bold else self.regular


def _px(mm: float) -> float:
    return mm * DPI / 25.4


def _decode_photo(photo: bytes, box: PhotoBox) -> Image.Image:
    try:
        with Image.open(io.BytesIO(photo)) as img:
            if img.format != "JPEG":
                raise FaceDataError("photo", f"is {img.format or 'an unknown format'}, a JPEG is required")
            if img.width * img.height > _MAX_PHOTO_PIXELS:
                raise FaceDataError("photo", f"{img.width} × {img.height} px is larger than an ID photo")
            rgb = ImageOps.exif_transpose(img).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise FaceDataError("photo", f"is not a decodable JPEG image ({exc})") from None
    # Cover the box and crop the overflow centred: an ID photo is never stretched.
    return ImageOps.fit(rgb, (mm_to_px(box.w_mm), mm_to_px(box.h_mm)), Image.Resampling.LANCZOS)


def _occupied(side: Side) -> list[tuple[str, Rect]]:
    boxes: list[tuple[str, Rect]] = [(f"field {f.field}", f.rect()) for f in side.fields]
    if side.photo is not None:
        boxes.append(("photo", side.photo))
    if side.qr is not None:
        boxes.append(("qr", side.qr.rect()))
    return boxes


def _draw_static(
    draw: ImageDraw.ImageDraw, fonts: Fonts, text: StaticText, where: str, occupied: list[tuple[str, Rect]]
) -> None:
    chain = fonts.chain(text.bold)
    size_px = pt_to_px(text.size_pt)
    spacing = _px(text.letter_spacing_mm)
    width = text_width(chain, size_px, text.text, where, spacing)
    x = _px(text.x_mm)
    if text.align is Align.CENTRE:
        x -= width / 2
    elif text.align is Align.RIGHT:
        x -= width
    top = _px(text.y_mm)
    if x < 0 or x + width > CARD_WIDTH_PX or top + size_px > CARD_HEIGHT_PX:
        raise FaceLayoutError(f"{where}: text {text.text!r} at {text.size_pt} pt runs off the card")
    # Static text is measured only now (it depends on the font), so its overlap check happens here.
    mm = 25.4 / DPI
    box = Rect.model_construct(x_mm=x * mm, y_mm=text.y_mm, w_mm=width * mm, h_mm=size_px * mm)
    hit = next((name for name, other in occupied if box.overlaps(other)), None)
    if hit is not None:
        raise FaceLayoutError(f"{where}: text {text.text!r} overlaps {hit}")
    draw_line(draw, chain, x, top, text.text, size_px, text.colour, where, spacing)


def _draw_field(draw: ImageDraw.ImageDraw, fonts: Fonts, block: FieldBlock, data: FaceData, layout: FaceLayout) -> None:
    chain = fonts.chain(block.bold)
    value = data.text(block.field, block.date_style or layout.date_style)
    width_px = _px(block.width_mm)
    size_px, lines = fit(chain, value, width_px, block.lines, block.size_pt, block.smallest_pt, block.field.value)
    top = _px(block.y_mm)
    if block.label:
        label_px = pt_to_px(block.label_size_pt or block.size_pt)
        label_chain = fonts.regular
        where = f"label of {block.field.value}"
        if _px(block.x_mm) + text_width(label_chain, label_px, block.label, where) > _px(block.value_x_mm) + 1:
            raise FaceLayoutError(f"{where}: {block.label!r} is wider than the space before value_x_mm")
        # Labels sit on the first value line's baseline when the value was shrunk.
        draw_line(draw, label_chain, _px(block.x_mm), top + 0.88 * (size_px - label_px), block.label, label_px,
                  block.label_colour, where)
    line_px = pt_to_px(block.size_pt) * block.line_spacing
    for i, line in enumerate(lines):
        draw_line(draw, chain, _px(block.value_x_mm), top + i * line_px, line, size_px, block.colour, block.field.value)


def _render_side(side: Side, name: str, data: FaceData, layout: FaceLayout, fonts: Fonts) -> Image.Image:
    img = Image.new("RGB", (CARD_WIDTH_PX, CARD_HEIGHT_PX), side.background)
    draw = ImageDraw.Draw(img)
    for band in side.bands:
        x0, y0 = mm_to_px(band.x_mm), mm_to_px(band.y_mm)
        draw.rectangle((x0, y0, mm_to_px(band.x_mm + band.w_mm) - 1, mm_to_px(band.y_mm + band.h_mm) - 1),
                       fill=band.colour)
    for i, text in enumerate(side.texts):
        _draw_static(draw, fonts, text, f"{name}.texts[{i}]", _occupied(side))
    if side.photo is not None:
        box = side.photo
        x0, y0 = mm_to_px(box.x_mm), mm_to_px(box.y_mm)
        img.paste(_decode_photo(data.photo, box), (x0, y0))
        if box.border_colour:
            draw.rectangle((x0, y0, x0 + mm_to_px(box.w_mm) - 1, y0 + mm_to_px(box.h_mm) - 1),
                           outline=box.border_colour, width=2)
    for block in side.fields:
        _draw_field(draw, fonts, block, data, layout)
    if side.qr is not None:
        img.paste(qr_image(data.qr_text, side.qr).convert("RGB"), (mm_to_px(side.qr.x_mm), mm_to_px(side.qr.y_mm)))
    return img


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", dpi=(DPI, DPI), optimize=False)
    return out.getvalue()


def render_images(data: FaceData, layout: FaceLayout, fonts: Fonts | None = None) -> tuple[Image.Image, Image.Image]:
    """Both faces as Pillow images (front, back)."""
    fonts = fonts or Fonts.for_layout(layout)
    front = _render_side(layout.front, "front", data, layout, fonts)
    back = _render_side(layout.back, "back", data, layout, fonts)
    log.debug("rendered face %s for permit %s", layout.id, data.permit_number)
    return front, back


def render_face(data: FaceData, layout: FaceLayout, fonts: Fonts | None = None) -> FaceImages:
    """Front and back as 300-dpi PNG of the ID-1 card (1011 × 638 px)."""
    front, back = render_images(data, layout, fonts)
    return FaceImages(front_png=_png(front), back_png=_png(back))


def images_to_pdf(front: Image.Image, back: Image.Image) -> bytes:
    """A two-page PDF, each page exactly 85.6 × 54 mm, for the card printer's driver."""
    # 1011 × 638 px is 85.60 × 54.02 mm at exactly 300 dpi; per-axis resolutions make each page the exact
    # ID-1 size (ISO/IEC 7810) so the printer does not scale.
    dpi = (CARD_WIDTH_PX * 25.4 / CARD_WIDTH_MM, CARD_HEIGHT_PX * 25.4 / CARD_HEIGHT_MM)
    out = io.BytesIO()
    # Pillow embeds RGB pages as JPEG: quality 95 without chroma subsampling keeps text and QR edges sharp.
    front.save(out, "PDF", save_all=True, append_images=[back], dpi=dpi, quality=95, subsampling=0,
               title="residence permit card face", producer="cardsvc.face")
    return out.getvalue()


def render_pdf(data: FaceData, layout: FaceLayout, fonts: Fonts | None = None) -> bytes:
    """Front and back as a two-page PDF of 85.6 × 54 mm pages."""
    return images_to_pdf(*render_images(data, layout, fonts))
