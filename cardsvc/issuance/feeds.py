"""Card feeds for `run_batch`: a PC/SC reader the operator loads with blank cards, or virtual card files.

The PC/SC feed waits for a card in its reader, and after each card waits until it is taken out before
asking for the next (pcscd notices within ~0.4 s, design §5). pyscard is imported only when a PC/SC feed
is made. Virtual card files come through an opener (the CLI passes the card side's, cardsvc.cardside),
so this module never imports the card side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cardsvc.issuance.jobs import IssueOutcome
from cardsvc.transport.base import Connection
from cardsvc.transport.errors import NoCardError

log = logging.getLogger(__name__)
Prompt = Callable[[str], None]


class PcscFeed:
    """One PC/SC reader; `prompt` tells the operator what to do (insert a blank card, take it out)."""

    def __init__(self, reader: str, *, prompt: Prompt | None = None, wait: float = 120.0) -> None:
        from cardsvc.transport.pcsc import PcscContext, connect

        self._connect = connect
        self._context = PcscContext
        self.reader = reader
        self.prompt = prompt
        self.wait = wait

    @property
    def name(self) -> str:
        return self.reader

    def next_card(self) -> Connection:
        if self.prompt is not None:
            self.prompt(f"insert a blank card into {self.reader}")
        return self._connect(self.reader, exclusive=True, wait=self.wait)

    def release(self, connection: Connection, outcome: IssueOutcome | None) -> None:
        connection.close()
        if self.prompt is not None:
            state = "issued" if outcome is not None and outcome.issued else "NOT issued: set it aside"
            self.prompt(f"{self.reader}: card {state}; take it out")
        deadline = time.monotonic() + self.wait
        with self._context() as ctx:
            status = ctx.statuses([self.reader])[0]
            while status.present:
                if time.monotonic() > deadline:
                    raise NoCardError(f"card still in {self.reader} after {self.wait:.0f} s")
                changed = ctx.wait_for_change([status], timeout=0.5)
                if changed:
                    status = changed[0]


CardFileOpener = Callable[[Path], tuple[Connection, Callable[[], None]]]  # → (connection, save)


class CardFileFeed:
    """Virtual card files, one card each, handed out in order; each is saved when released."""

    def __init__(self, name: str, paths: Sequence[Path], opener: CardFileOpener) -> None:
        self._name = name
        self._paths = list(paths)
        self._opener = opener
        self._save: dict[int, Callable[[], None]] = {}

    @property
    def name(self) -> str:
        return self._name

    def next_card(self) -> Connection:
        if not self._paths:
            raise NoCardError(f"{self._name}: no card file left for this request")
        connection, save = self._opener(self._paths.pop(0))
        self._save[id(connection)] = save
        return connection

    def release(self, connection: Connection, outcome: IssueOutcome | None) -> None:
        save = self._save.pop(id(connection), None)
        connection.close()
        if save is not None:
            save()
