"""City card layouts (layouts/*.toml): schema, loader, field codecs and the card-image codec."""

from cardsvc.layout.errors import FieldValueError, ImageDecodeError, LayoutError
from cardsvc.layout.image import CardFile, CardImage
from cardsvc.layout.loader import (
    builtin_layout,
    builtin_layouts,
    layouts_dir,
    load_layout,
    load_layouts,
    parse_layout,
)
from cardsvc.layout.schema import Content, EfDecl, FieldDecl, Layout

__all__ = ["CardFile", "CardImage", "Content", "EfDecl", "FieldDecl", "FieldValueError", "ImageDecodeError",
           "Layout", "LayoutError", "builtin_layout", "builtin_layouts", "layouts_dir", "load_layout",
           "load_layouts", "parse_layout"]
