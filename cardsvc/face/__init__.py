"""Printed card face (issue 7 item 4): front and back at 300 dpi on the ID-1 card, PNG and PDF.

Typical use at a printing station::

    layout = load_face_layout("layouts/faces/zhengzhou.toml")
    images = render_face(FaceData.from_permit(permit, qr_text), layout)
    pdf = render_pdf(FaceData.from_permit(permit, qr_text), layout)
"""

from cardsvc.face.errors import FaceDataError, FaceError, FaceLayoutError, FontNotFoundError
from cardsvc.face.fonts import FontChain, FontFace, find_fonts
from cardsvc.face.layout import (
    CARD_HEIGHT_MM,
    CARD_HEIGHT_PX,
    CARD_WIDTH_MM,
    CARD_WIDTH_PX,
    DPI,
    DateStyle,
    FaceField,
    FaceLayout,
    face_layout_for,
    load_face_layout,
)
from cardsvc.face.model import FaceData, FaceImages, format_date
from cardsvc.face.render import Fonts, images_to_pdf, render_face, render_images, render_pdf

__all__ = [
    "CARD_HEIGHT_MM",
    "CARD_HEIGHT_PX",
    "CARD_WIDTH_MM",
    "CARD_WIDTH_PX",
    "DPI",
    "DateStyle",
    "FaceData",
    "FaceDataError",
    "FaceError",
    "FaceField",
    "FaceImages",
    "FaceLayout",
    "FaceLayoutError",
    "FontChain",
    "FontFace",
    "FontNotFoundError",
    "Fonts",
    "face_layout_for",
    "find_fonts",
    "format_date",
    "images_to_pdf",
    "load_face_layout",
    "render_face",
    "render_images",
    "render_pdf",
]
