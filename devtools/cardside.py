"""`CARD_SIDE`: virtual cards for the CLI and the service (the `cardsvc.card_side` entry point).

Imports stay inside the methods: the CLI loads this object for `--card FILE` and pays only for what the
command uses (the simulator for a card file; the service's reader classes only for virtual readers).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cardsvc.transport.base import Connection
from devtools.vpcd import READERS, simulator_command

if TYPE_CHECKING:
    from cardsvc.api.readers import ReaderHub
    from devtools.devenv import DevEnv


class SimulatorCardSide:
    """Virtual cards from `simulator`, in process or in vpcd's readers."""

    vpcd_ports = tuple(READERS)  # design §5: vpcd's two readers

    def open_card_file(self, path: Path, *, create: bool) -> tuple[Connection, Callable[[], None]]:
        from simulator.card import VirtualCard
        from simulator.transport import InProcessConnection

        card = VirtualCard.load(path) if path.exists() or not create else VirtualCard.blank()
        return InProcessConnection(card), lambda: card.save(path)

    def image_connection(self, raw: bytes, fmt: str) -> Connection:
        from devtools.simreaders import image_connection

        return image_connection(raw, fmt)

    def virtual_hub(self, readers: Sequence[str], cards_dir: Path | None) -> ReaderHub:
        from devtools.simreaders import InProcessHub

        return InProcessHub(list(readers), cards_dir)

    def bring_up(self, var: Path, *, use_pcscd: bool) -> DevEnv:
        from devtools.devenv import bring_up

        return bring_up(var, use_pcscd=use_pcscd)

    def start_vpcd_card(self, port: int, card_file: Path) -> subprocess.Popen[bytes]:
        # Its own process, as a card in a real reader: pcscd sees it come and go.
        return subprocess.Popen(simulator_command(port, card_file))


CARD_SIDE = SimulatorCardSide()
