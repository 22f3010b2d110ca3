"""Design §3 import rule: applets/ and simulator/ import from cardsvc only the pure protocol (and the
transport errors a Connection raises); host code never imports them (import-linter contracts, run below)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = ("cardsvc.iso7816", "cardsvc.transport.errors")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", ["applets", "simulator"])
def test_card_side_imports_only_pure_protocol(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    bad = [f"{path.relative_to(ROOT)}: {name}" for path in files for name in _imports(path)
           if name.split(".")[0] == "cardsvc" and not name.startswith(ALLOWED)]
    assert not bad, bad


def test_import_linter_contracts_hold() -> None:
    import subprocess
    import sys

    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
