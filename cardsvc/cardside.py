"""The card side as host code sees it: what only the composition root (package `devtools`) can build.

Host code never imports `simulator` or `applets` (design §3). Virtual card files (the CLI's `--card FILE`),
uploaded card images, in-process virtual readers, virtual cards in vpcd's readers and the dev bring-up of
`serve --dev` come from a `CardSide` object. Whoever composes the program hands one in (`create_app(...,
card_side=...)`, `cardsvc.cli.main(..., card_side=...)`); when none is handed in, the one the installed
distribution declares under the entry-point group `cardsvc.card_side` (pyproject.toml) is used, so the
`cardsvc` command and `python -m cardsvc.cli` work from a wheel as from a checkout.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cardsvc.transport.base import Connection

if TYPE_CHECKING:
    from cardsvc.api.readers import ReaderHub
    from cardsvc.settings import Settings

ENTRY_POINT_GROUP = "cardsvc.card_side"


class CardSideMissing(LookupError):
    """No card-side wiring is installed (virtual cards and readers need the `devtools` package)."""


class DevService(Protocol):
    """What `serve --dev` runs: settings and readers for `create_app`, and a token to sign in with."""

    settings: Settings
    hub: ReaderHub
    admin_token: str

    def close(self) -> None: ...


class CardSide(Protocol):
    vpcd_ports: tuple[int, ...]  # TCP ports of vpcd's readers (design §5), for `start_vpcd_card`

    def open_card_file(self, path: Path, *, create: bool) -> tuple[Connection, Callable[[], None]]:
        """A virtual card image (.json or .cbor) → (connection, save); a blank card when missing and `create`."""
        ...

    def image_connection(self, raw: bytes, fmt: str) -> Connection:
        """A connection to an uploaded card image ("json" or "cbor"); ApiError 422 naming the fault."""
        ...

    def virtual_hub(self, readers: Sequence[str], cards_dir: Path | None) -> ReaderHub:
        """In-process virtual readers (ReaderMode.VIRTUAL); card images kept in `cards_dir` when given."""
        ...

    def bring_up(self, var: Path, *, use_pcscd: bool) -> DevService:
        """The dev service of `make run`: registry, keys, readers with blank cards, samples, an admin token."""
        ...

    def start_vpcd_card(self, port: int, card_file: Path) -> subprocess.Popen[bytes]:
        """A virtual card process in vpcd's reader on `port` (ends, saving the image, on SIGTERM)."""
        ...


@cache
def installed_card_side() -> CardSide:
    """The card side the installed distribution declares (entry point group `cardsvc.card_side`)."""
    from importlib.metadata import entry_points

    found = list(entry_points(group=ENTRY_POINT_GROUP))
    if not found:
        raise CardSideMissing("virtual cards and readers need the card-side wiring (package devtools), "
                              f"and no distribution declares the entry point group {ENTRY_POINT_GROUP!r}")
    side: CardSide = found[0].load()
    return side
