"""Standard ISO 7816-4/-9 command handlers, one module per INS group, registered by INS."""

from __future__ import annotations

from applets.commands import admin, binary, record, select
from applets.context import CommandTable


def register_standard(table: CommandTable) -> None:
    for module in (select, binary, record, admin):
        for ins, handler in module.HANDLERS.items():
            table.register(ins, handler)
