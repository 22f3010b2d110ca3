"""Load layouts/*.toml (tomllib) into the validated schema; errors name the file and the entry."""

from __future__ import annotations

import logging
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


def parse_layout(text: str, source: str = "<string>") -> Layout:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{source}: not valid TOML: {exc}") from None
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


def load_layout(path: str | Path) -> Layout:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LayoutError(f"{path}: cannot read: {exc.strerror}") from None
    layout = parse_layout(text, str(path))
    log.debug("loaded layout %s v%d from %s", layout.id, layout.version, path)
    return layout


def layout_paths(directory: Path = LAYOUT_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))


@cache
def builtin_layout(layout_id: str) -> Layout:
    """A layout shipped in layouts/ by its id ("smx", "zz"); loaded once."""
    for path in layout_paths():
        layout = load_layout(path)
        if layout.id == layout_id:
            return layout
    raise LayoutError(f"no layout with id {layout_id!r} in {LAYOUT_DIR}")


def builtin_layouts() -> list[Layout]:
    return [builtin_layout(load_layout(p).id) for p in layout_paths()]
