"""`cardsvc --help` and argument errors import none of the heavy libraries (issue 11 item 4, issue 15 item 4).

Each case runs `python -X importtime -m cardsvc.cli ...` in a fresh interpreter and reads the modules it
imported from the importtime report on stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {"cryptography", "sqlalchemy", "fastapi", "smartcard"}  # smartcard: pyscard's package
REPO = Path(__file__).resolve().parents[2]


def imported(args: list[str]) -> tuple[int, set[str], str]:
    """Exit code, top-level packages imported, and stderr without the importtime report."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cardsvc.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    modules, rest = set(), []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip()
            modules.add(name.split(".")[0])
        else:
            rest.append(line)
    assert "cardsvc" in modules  # the report is there and names our own modules
    return proc.returncode, modules, "\n".join(rest)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--help"], 0, ""),
    (["verify", "--help"], 0, ""),
    (["tokens", "issue", "--help"], 0, ""),
    (["issue", "--layout", "zz"], 2, "one of --reader or --card is required"),
    (["issue", "--layout", "nowhere", "--card", "x.cbor", "--sample", "1"], 2, "'nowhere' is not one of"),
    (["verify", "--card", "x.cbor"], 2, "Missing option '--layout'"),
    (["tokens", "issue", "--role", "janitor", "--station", "s", "--label", "l"], 2, "'janitor' is not one of"),
    (["status", "--permit-number", "1", "--card-number", "2"], 2, "either --permit-number or --card-number"),
    (["no-such-command"], 2, "No such command"),
])
def test_help_and_argument_errors_import_no_heavy_library(args: list[str], code: int, message: str) -> None:
    exit_code, modules, err = imported(args)
    assert exit_code == code, err
    assert message in err
    assert not modules & HEAVY, sorted(modules & HEAVY)


def test_a_command_that_runs_does_import_them() -> None:
    """The check can fail: a command that reaches the registry imports SQLAlchemy (lazily, inside it)."""
    exit_code, modules, err = imported(["status", "--db", "sqlite://", "--permit-number", "NONE"])
    assert exit_code == 1 and "NONE" in err
    assert "sqlalchemy" in modules
