"""Installable as a wheel (issue 11 item 7): layouts, faces, migrations, templates and static files travel as
package data, and the installed `cardsvc` runs the key ceremony, an issue onto a card file and a
verification from a directory outside the repository.

The wheel is built from a copy of the sources (no build isolation: setuptools and wheel come with the dev
extras, so this works offline). It goes into a fresh virtualenv with `--no-deps`; the dependencies are
those of the test's own environment, reached through a .pth line, so nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "README.md", "cardsvc", "applets", "simulator", "devtools", "layouts"]
pytestmark = pytest.mark.slow


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_NO_INPUT"] = "1"
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(src)], check=True, env=env, capture_output=True, timeout=300)
    wheel = next(dist.glob("cardsvc-*.whl"))
    target = root / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # this environment's libraries
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, env=env, capture_output=True, timeout=300)
    work = root / "elsewhere"  # outside the repository: nothing can be found by a path relative to it
    work.mkdir()
    env["CARDSVC_KEYSTORE_PASSPHRASE"] = "wheel test passphrase"
    env.pop("CARDSVC_LAYOUTS_DIR", None)
    yield target, env


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: tuple[Path, dict[str, str]]) -> None:
    target, env = installed
    code = ("import cardsvc, devtools, simulator, applets;"
            "from cardsvc.layout.loader import LAYOUT_DIR;"
            "from cardsvc.registry.migrate import MIGRATIONS;"
            "print(cardsvc.__file__, devtools.__file__, LAYOUT_DIR, MIGRATIONS)")
    out = run([str(target / "bin" / "python"), "-c", code], target.parent / "elsewhere", env).stdout.split()
    assert all(path.startswith(str(target)) for path in out), out
    assert not Path(out[2]).is_symlink() and sorted(p.name for p in Path(out[2]).glob("*.toml")) == \
        sorted(p.name for p in (REPO / "layouts").glob("*.toml"))
    assert (Path(out[2]) / "faces").is_dir() and (Path(out[2]) / "schema.json").is_file()
    assert sorted(p.name for p in (Path(out[3]) / "versions").glob("*.py")) == \
        sorted(p.name for p in (REPO / "cardsvc/registry/migrations/versions").glob("*.py"))


def test_ceremony_issue_and_verify_with_the_installed_command(installed: tuple[Path, dict[str, str]]) -> None:
    target, env = installed
    cardsvc, work = str(target / "bin" / "cardsvc"), target.parent / "elsewhere"
    station = ["--keystore", "ks", "--db", "sqlite:///registry.sqlite3", "--station", "W-01", "--operator", "t"]
    keys = json.loads(run([cardsvc, "keys", "init", "--keystore", "ks", "--layout", "zz", "--json"], work,
                          env).stdout)
    assert keys["signers"] and keys["master_keys"]
    issued = json.loads(run([cardsvc, "issue", "--layout", "zz", *station, "--card", "card.cbor", "--sample", "1",
                             "--seed", "3", "--json", "--quiet"], work, env).stdout)
    assert issued["issued"] == 1 and issued["cards"][0]["state"] == "issued", issued
    assert (work / "card.cbor").is_file() and (work / "registry.sqlite3").is_file()
    read = json.loads(run([cardsvc, "read", "--card", "card.cbor", "--layout", "zz", "--keystore", "ks", "--json"],
                          work, env).stdout)
    assert read["problems"] == [] and read["fields"]["card"]["card_number"] == issued["cards"][0]["card_number"]
    # Judged on a day the permit is valid (a sample's endorsement may be overdue today), with no status list:
    day = dt.date.fromisoformat(read["fields"]["visible"]["valid_until"]) - dt.timedelta(days=1)
    proc = run([cardsvc, "verify", "--card", "card.cbor", "--layout", "zz", "--keystore", "ks", "--today",
                day.isoformat(), "--json"], work, env)
    verdict = json.loads(proc.stdout)
    assert verdict["card_number"] == issued["cards"][0]["card_number"]
    checks = {c["check"]: c["outcome"] for c in verdict["checks"]}
    assert checks["passive_auth"] == checks["chip_auth"] == checks["validity"] == "pass", verdict
    # Genuine and in date, but no status source: the counter fails closed (exit 1), as from a checkout.
    assert proc.returncode == 1 and verdict["result"] == "status_unknown"


def test_the_installed_service_serves_its_pages(installed: tuple[Path, dict[str, str]]) -> None:
    """Templates and static files come from the wheel."""
    target, env = installed
    code = ("from fastapi.testclient import TestClient\n"
            "from cardsvc.api import create_app\n"
            "from cardsvc.settings import load_settings\n"
            "with TestClient(create_app(load_settings(database_url='sqlite://'))) as c:\n"
            "    print(c.get('/login').status_code, c.get('/static/style.css').status_code)\n")
    assert run([str(target / "bin" / "python"), "-c", code], target.parent / "elsewhere", env).stdout.split() == \
        ["200", "200"]
