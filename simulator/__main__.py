"""`python -m simulator --port 35963 --card FILE`: a virtual card in a vpcd reader until SIGTERM.

SIGUSR1 removes / re-inserts the card (the socket to vpcd is closed / reopened); SIGTERM and SIGINT
save the image and exit 0. A missing --card file is created as a blank card. --cut-power N pulls the
card at its Nth NVM write (torn per EEPROM page); SIGUSR1 puts it back.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from applets.errors import CardImageError
from simulator.card import VirtualCard
from simulator.faults import PowerCut, When
from simulator.vpcd import VpcdBridge


def _power_cut(text: str) -> PowerCut:
    parts = text.split(":")
    try:
        when = When(parts[1]) if len(parts) > 1 else When.MIDDLE
        pages = int(parts[2]) if len(parts) > 2 else None
        return PowerCut(int(parts[0]), when, pages)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--cut-power {text!r}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="vpcd host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=35963, help="vpcd port: 35963 reader 0, 35964 reader 1")
    parser.add_argument("--card", type=Path, help="card image (.json or .cbor); loaded, and saved on change")
    parser.add_argument("--removed", action="store_true", help="start with the card out of the reader")
    parser.add_argument("--cut-power", metavar="N[:WHEN[:PAGES]]", type=_power_cut,
                        help="pull the card at its Nth NVM write; WHEN before|middle|after (default middle)")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * args.verbose,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    card_path: Path | None = args.card
    try:
        if card_path is not None and card_path.exists():
            card = VirtualCard.load(card_path)
        else:
            card = VirtualCard.blank()
            if card_path is not None:
                card.save(card_path)
    except (CardImageError, ValueError, OSError) as exc:
        print(f"cannot use card image {card_path}: {exc}", file=sys.stderr)
        return 2
    if args.cut_power is not None:
        card.faults.arm(args.cut_power)
    bridge = VpcdBridge(card, args.host, args.port, card_path, inserted=not args.removed)

    def on_stop(signum: int, frame: FrameType | None) -> None:
        bridge.stop()

    def on_toggle(signum: int, frame: FrameType | None) -> None:
        bridge.toggle()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGUSR1, on_toggle)
    bridge.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
