"""The lazy command table of `cardsvc` (issue 15 item 4) names every command the CLI modules define, so a
new command group cannot be left out of the program by forgetting its line."""

from __future__ import annotations

import importlib
import pkgutil

import click

import cardsvc.cli
from cardsvc.cli import COMMANDS, cli


def test_every_top_level_command_of_the_cli_modules_is_in_the_table() -> None:
    defined: set[tuple[str, str]] = set()
    nested: set[int] = set()
    for info in pkgutil.iter_modules(cardsvc.cli.__path__):
        if info.name == "__main__":  # runs the program
            continue
        module = importlib.import_module(f"cardsvc.cli.{info.name}")
        for attribute, value in vars(module).items():
            if isinstance(value, click.Command) and getattr(value.callback, "__module__", None) == module.__name__:
                defined.add((info.name, attribute))
                if isinstance(value, click.Group):
                    nested.update(id(c) for c in value.commands.values())
    top_level = {(m, a) for m, a in defined
                 if id(getattr(importlib.import_module(f"cardsvc.cli.{m}"), a)) not in nested}
    assert top_level == set(COMMANDS.values())
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
    assert cli.get_command(ctx, "no-such-command") is None
