"""Example vectors declared beside each EF in a layout: TOML value <-> content bytes.

TOML gives dates natively; bytes and jpeg values are written as hex strings. A vector of a record EF
is one record.
"""

from __future__ import annotations

from typing import Any

from cardsvc.layout.efcodec import FieldsCodec, decode_dir_record, encode_dir_record
from cardsvc.layout.entries import _hex_bytes
from cardsvc.layout.fields import Value
from cardsvc.layout.schema import Content, EfDecl, Example, Layout
from cardsvc.layout.vocabulary import Encoding


def example_values(ef: EfDecl, example: Example) -> dict[str, Any]:
    """The example's value with hex strings turned into bytes for bytes/jpeg fields."""
    if ef.content is Content.DIR:
        return {"aid": _hex_bytes(example.value["aid"]), "label": example.value["label"]}
    by_name = {f.field: f for f in ef.fields}
    out: dict[str, Any] = {}
    for name, value in example.value.items():
        decl = by_name.get(name)
        if decl is not None and decl.encoding in (Encoding.BYTES, Encoding.JPEG):
            value = _hex_bytes(value)
        out[name] = value
    return out


def encode_example(layout: Layout, ef: EfDecl, example: Example) -> bytes:
    values = example_values(ef, example)
    if ef.content is Content.DIR:
        return encode_dir_record(values["aid"], values["label"])
    return FieldsCodec(ef, layout.layout.charset).encode(values)


def decode_example(layout: Layout, ef: EfDecl, raw: bytes) -> dict[str, Value]:
    if ef.content is Content.DIR:
        app = decode_dir_record(raw, ef.name)
        return {"aid": app.aid, "label": app.label}
    return FieldsCodec(ef, layout.layout.charset).decode(raw).values
