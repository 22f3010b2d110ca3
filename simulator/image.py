"""Card images: the full persistent card state as JSON or CBOR (never pickle).

An image holds the file tree (structure, FID, SFI, DF name, life cycle, security attributes in compact
form, contents, records and the cyclic head), the security module's objects, capacity, page size and
ATR, so a card issued at one station can be presented at another. Loading checks every field and names
the one that is wrong.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2

from applets.context import CardState
from applets.errors import CardImageError
from applets.fs import DedicatedFile, FileNode, RecordEf, TransparentEf
from cardsvc.iso7816.commands import MF_FID
from cardsvc.iso7816.fcp import FileStructure, LifeCycle, SecurityAttributes

FORMAT = "cardsvc.card-image"
VERSION = 1
Blob = Callable[[bytes], Any]


def _node_to_obj(node: FileNode, blob: Blob) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "fid": node.fid,
        "structure": node.structure.name,
        "lifecycle": node.lifecycle.name,
        "security": None if node.security is None else blob(node.security.encode_compact()),
    }
    if isinstance(node, DedicatedFile):
        obj["name"] = None if node.df_name is None else blob(node.df_name)
        obj["children"] = [_node_to_obj(child, blob) for child in node.children.values()]
        return obj
    obj["sfi"] = node.sfi
    if isinstance(node, TransparentEf):
        obj["data"] = blob(bytes(node.data))
    elif isinstance(node, RecordEf):
        obj["record_length"] = node.record_length
        obj["max_records"] = node.max_records
        obj["head"] = node.head
        obj["records"] = [blob(bytes(slot)) for slot in node.slots]
    return obj


def state_to_obj(state: CardState, atr: bytes, page_size: int, blob: Blob = bytes) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "atr": blob(atr),
        "capacity": state.capacity,
        "page_size": page_size,
        "objects": {name: blob(value) for name, value in sorted(state.objects.items())},
        "mf": _node_to_obj(state.mf, blob),
    }


class _Reader:
    """Typed field access that names the path of a bad field."""

    def __init__(self, hex_blobs: bool) -> None:
        self.hex_blobs = hex_blobs

    def field(self, obj: Any, key: str, kind: type, path: str, optional: bool = False) -> Any:
        if not isinstance(obj, dict):
            raise CardImageError(f"{path}: expected a map, got {type(obj).__name__}")
        if key not in obj:
            raise CardImageError(f"{path}.{key}: missing")
        value = obj[key]
        if value is None and optional:
            return None
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise CardImageError(f"{path}.{key}: expected an integer, got {value!r:.40}")
        if kind is bytes:
            return self.blob(value, f"{path}.{key}")
        if kind is not int and not isinstance(value, kind):
            raise CardImageError(f"{path}.{key}: expected {kind.__name__}, got {type(value).__name__}")
        return value

    def blob(self, value: Any, path: str) -> bytes:
        if self.hex_blobs:
            if not isinstance(value, str):
                raise CardImageError(f"{path}: expected a hex string, got {type(value).__name__}")
            try:
                return bytes.fromhex(value)
            except ValueError:
                raise CardImageError(f"{path}: not valid hex") from None
        if not isinstance(value, bytes):
            raise CardImageError(f"{path}: expected a byte string, got {type(value).__name__}")
        return value

    def enum(self, obj: Any, key: str, kind: type[FileStructure] | type[LifeCycle], path: str) -> Any:
        name = self.field(obj, key, str, path)
        try:
            return kind[name]
        except KeyError:
            raise CardImageError(f"{path}.{key}: {name!r:.40} is not a {kind.__name__}") from None

    def ranged(self, obj: Any, key: str, low: int, high: int, path: str) -> int:
        value: int = self.field(obj, key, int, path)
        if not low <= value <= high:
            raise CardImageError(f"{path}.{key}: {value} is outside {low}..{high}")
        return value


def _node_from_obj(r: _Reader, obj: Any, path: str) -> FileNode:
    fid = r.ranged(obj, "fid", 0, 0xFFFF, path)
    path = f"{path}[{fid:04X}]"
    structure = r.enum(obj, "structure", FileStructure, path)
    lifecycle = r.enum(obj, "lifecycle", LifeCycle, path)
    raw_security = r.field(obj, "security", bytes, path, optional=True)
    try:
        security = None if raw_security is None else SecurityAttributes.parse_compact(raw_security)
    except ValueError as exc:
        raise CardImageError(f"{path}.security: {exc}") from None
    if structure == FileStructure.DF:
        name = r.field(obj, "name", bytes, path, optional=True)
        df = DedicatedFile(fid, name, lifecycle, security)
        for i, child_obj in enumerate(r.field(obj, "children", list, path)):
            child = _node_from_obj(r, child_obj, f"{path}.children[{i}]")
            if child.fid in df.children:
                raise CardImageError(f"{path}.children[{i}]: duplicate FID {child.fid:04X}")
            df.attach(child)
        return df
    sfi = r.field(obj, "sfi", int, path, optional=True)
    if sfi is not None and not 1 <= sfi <= 30:
        raise CardImageError(f"{path}.sfi: {sfi} is outside 1..30")
    if structure == FileStructure.TRANSPARENT:
        data = r.field(obj, "data", bytes, path)
        return TransparentEf(fid, len(data), lifecycle, security, sfi, data)
    record_length = r.ranged(obj, "record_length", 1, 0xFFFF, path)
    max_records = r.ranged(obj, "max_records", 1, 254, path)
    records = [r.blob(v, f"{path}.records[{i}]") for i, v in enumerate(r.field(obj, "records", list, path))]
    if len(records) > max_records:
        raise CardImageError(f"{path}.records: {len(records)} records, more than {max_records}")
    ef = RecordEf(fid, structure, record_length, max_records, lifecycle, security, sfi)
    for i, rec in enumerate(records):
        fits = len(rec) == record_length if ef.fixed_length else 1 <= len(rec) <= record_length
        if not fits:
            raise CardImageError(f"{path}.records[{i}]: {len(rec)} bytes do not fit record length "
                                 f"{record_length}")
        ef.slots.append(bytearray(rec))
    ef.head = r.ranged(obj, "head", -1 if not records else 0, max(len(records) - 1, -1), path)
    return ef


def state_from_obj(obj: Any, hex_blobs: bool = False) -> tuple[CardState, bytes, int]:
    """(state, ATR, page size) from a decoded image; raises CardImageError naming the bad field."""
    r = _Reader(hex_blobs)
    if r.field(obj, "format", str, "image") != FORMAT:
        raise CardImageError(f"image.format: not a {FORMAT}")
    if r.field(obj, "version", int, "image") != VERSION:
        raise CardImageError(f"image.version: only version {VERSION} is understood")
    atr = r.field(obj, "atr", bytes, "image")
    capacity = r.ranged(obj, "capacity", 0, 1 << 30, "image")
    page_size = r.ranged(obj, "page_size", 1, 1 << 16, "image")
    raw_objects = r.field(obj, "objects", dict, "image")
    objects = {}
    for name, value in raw_objects.items():
        if not isinstance(name, str):
            raise CardImageError(f"image.objects: key {name!r:.40} is not a string")
        objects[name] = r.blob(value, f"image.objects[{name}]")
    mf = _node_from_obj(r, r.field(obj, "mf", dict, "image"), "image.mf")
    if not isinstance(mf, DedicatedFile) or mf.fid != MF_FID:
        raise CardImageError("image.mf: the root must be DF 3F00")
    return CardState(mf, objects, capacity), atr, page_size


def encode_image(obj_of: Callable[[Blob], dict[str, Any]], fmt: str) -> bytes:
    if fmt == "cbor":
        return bytes(cbor2.dumps(obj_of(bytes)))
    if fmt == "json":
        return json.dumps(obj_of(bytes.hex), ensure_ascii=False, separators=(",", ":")).encode()
    raise ValueError(f"image format {fmt!r}: use 'json' or 'cbor'")


def decode_image(raw: bytes, fmt: str) -> tuple[CardState, bytes, int]:
    try:
        if fmt == "cbor":
            obj = cbor2.loads(raw)
        elif fmt == "json":
            obj = json.loads(raw)
        else:
            raise ValueError(f"image format {fmt!r}: use 'json' or 'cbor'")
    except (ValueError, cbor2.CBORDecodeError, UnicodeDecodeError) as exc:
        raise CardImageError(f"image: not valid {fmt}: {exc}") from None
    return state_from_obj(obj, hex_blobs=fmt == "json")


def format_for(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix == ".cbor":
        return "cbor"
    raise ValueError(f"{path}: card image files end in .json or .cbor")


def write_atomically(path: Path, raw: bytes) -> None:
    """Write next to the target and rename over it, so a crash never leaves half an image."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
