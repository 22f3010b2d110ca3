"""The QR code of the face (ZZ Art.8 视读信息 "二维码"), drawn with segno at whole pixels per module."""

from __future__ import annotations

import segno
from PIL import Image

from cardsvc.face.errors import FaceDataError
from cardsvc.face.layout import DPI, QrBox, mm_to_px

# A module narrower than 3 dots (0.25 mm at 300 dpi) does not survive dye-sublimation printing and a
# counter scanner reliably; a longer payload needs a bigger box in the layout.
MIN_MODULE_PX = 3


def qr_image(text: str, box: QrBox) -> Image.Image:
    """A square 'L' image of box.size_mm, QR centred inside, each module a whole number of pixels."""
    try:
        code = segno.make_qr(text, error=box.error.lower(), boost_error=False)
    except segno.DataOverflowError as exc:
        raise FaceDataError("qr_text", f"{len(text)} characters do not fit in any QR version: {exc}") from None
    side_px = mm_to_px(box.size_mm)
    modules = int(code.symbol_size(scale=1, border=box.border_modules)[0])
    scale = side_px // modules
    if scale < MIN_MODULE_PX:
        raise FaceDataError(
            "qr_text",
            f"{len(text)} characters need a version-{code.version} QR of {modules} modules with quiet zone: "
            f"{scale} px per module in the {box.size_mm} mm box, at least {MIN_MODULE_PX} px ({DPI} dpi) needed",
        )
    matrix = Image.new("L", (modules, modules), 255)
    matrix.putdata([0 if dark else 255 for row in code.matrix_iter(scale=1, border=box.border_modules) for dark in row])
    symbol = matrix.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    out = Image.new("L", (side_px, side_px), 255)
    offset = (side_px - symbol.width) // 2
    out.paste(symbol, (offset, offset))
    return out
