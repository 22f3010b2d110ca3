"""`cardsvc`: the one command line of stations, counters and operators (click; one module per command group).

keys (key ceremony), issue, endorse, status: `cardsvc.cli.keys`, `.issue`, `.endorse`, `.status`;
verify, read: `.verify`; serve, tokens, readers: `.service`; sim: `.sim`; dept: `.dept`; duties: `.duties`;
registration (temporary registrations as records): `.registration`.
Every command takes `--json`.
Settings come from `cardsvc.settings` (CARDSVC_* environment; options win). Nothing heavy is imported
before a command runs, so `cardsvc --help` and argument errors stay fast (checked by a test).

Cards: `--reader NAME` (PC/SC) or `--card FILE` (a virtual card image). Virtual cards are card-side code
that cardsvc never imports (design §3): they come from the `CardSide` handed to `main`, else the one the
installed distribution declares (cardsvc.cardside).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from cardsvc.cli.common import CARD_SIDE_KEY
from cardsvc.cli.progress import ProgressLine

if TYPE_CHECKING:
    from cardsvc.cardside import CardSide

__all__ = ["ProgressLine", "cli", "main"]


def _verbosity(_ctx: click.Context, _param: click.Parameter, value: int) -> int:
    logging.basicConfig(level=logging.WARNING - 10 * value, format="%(levelname)s %(name)s: %(message)s")
    return value


# Each command's module is imported when that command runs (or `--help` lists them all): `cardsvc verify`
# does not import the other command groups (~25 ms of its start, issue 15). name → (module, attribute).
COMMANDS = {
    "keys": ("keys", "keys"), "issue": ("issue", "issue"), "endorse": ("endorse", "endorse"),
    "status": ("status", "status"), "verify": ("verify", "verify"), "read": ("verify", "read"),
    "serve": ("service", "serve"), "tokens": ("service", "tokens"), "readers": ("service", "readers"),
    "sim": ("sim", "sim"), "dept": ("dept", "dept"), "duties": ("duties", "duties"),
    "registration": ("registration", "registration"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"cardsvc.cli.{module}"), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"cardsvc.cli.{module}.{attribute} is not a click command")
        return command


@click.group("cardsvc", cls=_LazyGroup, help="Residence-permit card middleware",
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.option("-v", "--verbose", count=True, expose_value=False, callback=_verbosity,
              help="more log output (-vv: debug)")
def cli() -> None:
    pass


def main(argv: Sequence[str] | None = None, *, card_side: CardSide | None = None) -> int:
    """Run one command; returns its exit code. `--help` and argument errors exit (0 and 2) like argparse."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if a in COMMANDS), "cardsvc")  # for error lines
    try:
        with cli.make_context("cardsvc", args) as ctx:
            ctx.meta[CARD_SIDE_KEY] = card_side
            code = cli.invoke(ctx)
    except click.exceptions.Exit as exc:  # --help
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:  # usage errors: exit 2, as argparse did
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.Abort:
        print("Aborted", file=sys.stderr)
        return 1
    except Exception as exc:
        return _refusal(command, exc)
    return int(code or 0)


def _refusal(command: str, exc: Exception) -> int:
    """Registry refusals, card and key store errors: one clear line, no trace (others propagate)."""
    from cardsvc.cardside import CardSideMissing
    from cardsvc.iso7816.errors import CardError
    from cardsvc.settings import SettingsError

    if isinstance(exc, SettingsError | CardSideMissing):
        print(f"cardsvc {command}: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, CardError):
        print(f"cardsvc {command}: {exc}", file=sys.stderr)
        return 1
    raise exc
