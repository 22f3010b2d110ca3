"""Load layouts/*.toml (tomllib) into the validated schema; errors name the file and the entry.

Which directory: the one the caller passes (the settings object's `layouts_dir`), else the environment
variable CARDSVC_LAYOUTS_DIR, else the layouts shipped with the package. A city is files only: its TOML
(and the face file it names) in that directory, nothing in Python.

A file may start with `extends = "<path>"` (relative to the file): the base is read first and the file
overrides it. Tables merge key by key; `efs` and `dfs` merge by `name`, an entry replacing the base's
entry of that name (new names are added); any other value (authorities, fields, lists) replaces.
"""

from __future__ import annotations

import logging
import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cardsvc.layout.errors import LayoutError
from cardsvc.layout.schema import Layout

log = logging.getLogger(__name__)

# cardsvc/_layouts: a link to the top-level layouts/ in a checkout, package data in a wheel (pyproject.toml).
LAYOUT_DIR = Path(__file__).resolve().parents[1] / "_layouts"
ENV_LAYOUTS_DIR = "CARDSVC_LAYOUTS_DIR"
_MAX_EXTENDS = 8


def layouts_dir(directory: str | Path | None = None) -> Path:
    """The layouts directory in force: `directory`, else $CARDSVC_LAYOUTS_DIR, else the shipped one."""
    if directory is not None:
        return Path(directory)
    env = os.environ.get(ENV_LAYOUTS_DIR)
    return Path(env) if env else LAYOUT_DIR


def parse_layout(text: str, source: str = "<string>") -> Layout:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{source}: not valid TOML: {exc}") from None
    if "extends" in data:
        raise LayoutError(f"{source}: extends: only a layout read from a file can extend another")
    return layout_from_dict(data, source)


def layout_from_dict(data: dict[str, Any], source: str = "<dict>") -> Layout:
    """Validate already-parsed layout data; every problem is named by its path in the file."""
    try:
        return Layout.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'layout'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise LayoutError(f"{source}: {problems}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LayoutError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{path}: not valid TOML: {exc}") from None


_BY_NAME = frozenset({"efs", "dfs"})  # arrays of tables whose entries a city overrides one by one, by `name`


def _merge(base: Any, over: Any, key: str = "") -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merge(base[k], v, k) if k in base else v for k, v in over.items()}}
    if key in _BY_NAME and isinstance(base, list) and isinstance(over, list) \
            and all(isinstance(e, dict) and "name" in e for e in (*base, *over)):
        by_name = {e["name"]: e for e in over}
        merged = [by_name.pop(e["name"], e) for e in base]
        return merged + [e for e in over if e["name"] in by_name]
    return over


def read_layout_data(path: Path) -> dict[str, Any]:
    """The file's data with its `extends` chain resolved (base first, the file last)."""
    chain: list[Path] = []
    data = _read_toml(path)
    layers = [data]
    current = path
    while "extends" in layers[-1]:
        target = layers[-1].pop("extends")
        if not isinstance(target, str) or not target:
            raise LayoutError(f"{current}: extends: must be a file name relative to {current.parent}")
        current = (current.parent / target).resolve()
        if current in chain or len(chain) >= _MAX_EXTENDS:
            raise LayoutError(f"{path}: extends: cycle or chain longer than {_MAX_EXTENDS} at {current}")
        chain.append(current)
        layers.append(_read_toml(current))
    merged: dict[str, Any] = {}
    for layer in reversed(layers):
        merged = _merge(merged, layer)
    return merged


def load_layout(path: str | Path) -> Layout:
    path = Path(path)
    layout = layout_from_dict(read_layout_data(path), str(path))
    layout._directory = path.parent.resolve()
    log.debug("loaded layout %s v%d from %s", layout.id, layout.version, path)
    return layout


def layout_paths(directory: str | Path | None = None) -> list[Path]:
    """The city files of a layouts directory (bases that others extend live in a subdirectory)."""
    return sorted(layouts_dir(directory).glob("*.toml"))


@cache
def _layouts_in(directory: Path) -> dict[str, Layout]:
    out: dict[str, Layout] = {}
    for path in layout_paths(directory):
        layout = load_layout(path)
        if layout.id in out:
            raise LayoutError(f"{path}: layout id {layout.id!r} is used by another file in {directory}")
        out[layout.id] = layout
    if not out:
        raise LayoutError(f"{directory}: no layouts (*.toml)")
    return out


def load_layouts(directory: str | Path | None = None) -> dict[str, Layout]:
    """Every layout of the directory in force by id; each directory is read once per process."""
    return dict(_layouts_in(layouts_dir(directory).resolve()))


def builtin_layout(layout_id: str, directory: str | Path | None = None) -> Layout:
    """A layout by its id ("smx", "zz", or any city a layouts directory adds)."""
    layouts = load_layouts(directory)
    try:
        return layouts[layout_id]
    except KeyError:
        raise LayoutError(f"no layout with id {layout_id!r} in {layouts_dir(directory)}; "
                          f"known: {sorted(layouts)}") from None


def builtin_layouts(directory: str | Path | None = None) -> list[Layout]:
    return list(load_layouts(directory).values())
