"""Design §3 import rules, checked on the source tree:

- applets/ and simulator/ import from cardsvc only the pure protocol (and the transport errors a
  Connection raises); host code never imports them (import-linter contracts in pyproject, run below);
- cardsvc/transport/pcsc.py is the only module that imports pyscard (`smartcard`);
- cardsvc/api/ is the only package that imports fastapi or starlette.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CARD_SIDE_ALLOWED = ("cardsvc.iso7816", "cardsvc.transport.errors")
SOURCE_PACKAGES = ("cardsvc", "applets", "simulator")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _sources() -> list[Path]:
    return sorted(p for pkg in SOURCE_PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("package", ["applets", "simulator"])
def test_card_side_imports_only_pure_protocol(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    bad = [f"{path.relative_to(ROOT)}: {name}" for path in files for name in _imports(path)
           if name.split(".")[0] == "cardsvc" and not name.startswith(CARD_SIDE_ALLOWED)]
    assert not bad, bad


@pytest.mark.parametrize(
    ("library", "allowed_prefix"),
    [("smartcard", "cardsvc/transport/pcsc.py"), ("fastapi", "cardsvc/api/"), ("starlette", "cardsvc/api/")],
)
def test_third_party_adapters_stay_in_their_module(library: str, allowed_prefix: str) -> None:
    users = {str(p.relative_to(ROOT)) for p in _sources() if any(n.split(".")[0] == library for n in _imports(p))}
    assert users, f"nothing imports {library}: the rule would be vacuous"
    strays = sorted(u for u in users if not u.startswith(allowed_prefix))
    assert not strays, f"{library} imported outside {allowed_prefix}: {strays}"


def test_import_linter_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
