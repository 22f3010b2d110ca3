"""Virtual readers for development and tests: in-process readers, or virtual cards in vpcd's readers.

Card-side wiring of the service (design §3: outside `cardsvc`): the service gets these through
`devtools.cardside.CARD_SIDE` when settings ask for virtual readers or a card image is uploaded.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from pathlib import Path

from cardsvc.api.errors import ApiError
from cardsvc.api.readers import CardDesk, DeskCard, ReaderEventKind, ReaderHub
from cardsvc.transport import Connection, NoCardError
from devtools.vpcd import READERS
from simulator.card import VirtualCard
from simulator.transport import InProcessConnection
from simulator.vpcd import VpcdBridge

log = logging.getLogger(__name__)

VPCD_PORTS = {name: port for port, name in READERS.items()}  # reader name → vpcd port (design §5)
REMOVAL_SEEN = 0.6  # seconds out of the reader before pcscd has surely noticed the removal


def image_connection(raw: bytes, fmt: str) -> Connection:
    """A connection to an uploaded card image (JSON or CBOR, simulator format); raises ApiError 422."""
    try:
        card = VirtualCard.from_bytes(raw, fmt)
    except Exception as exc:  # the image decoder raises CardImageError/ValueError with the path at fault
        raise ApiError(422, "invalid-card-image", f"file: not a card image ({exc})", field="file") from None
    return InProcessConnection(card)


class _Desk(CardDesk):
    """Cards by id, each in at most one reader; images saved under `image_dir` when given."""

    def __init__(self, readers: list[str], image_dir: Path | None) -> None:
        self._lock = threading.RLock()
        self._cards: dict[str, VirtualCard] = {}
        self._labels: dict[str, str] = {}
        self._slots: dict[str, str | None] = dict.fromkeys(readers)
        self._ids = itertools.count(1)
        self._dir = image_dir
        if image_dir is not None:
            image_dir.mkdir(parents=True, exist_ok=True)
            for path in sorted(image_dir.glob("card-*.cbor")):
                try:
                    self._cards[path.stem] = VirtualCard.load(path)
                except Exception as exc:  # a damaged file must not stop the service
                    log.warning("card image %s skipped: %s", path.name, exc)
                    continue
                self._labels[path.stem] = path.stem
            numbers = [int(k.split("-")[1]) for k in self._cards if k.split("-")[1].isdigit()]
            self._ids = itertools.count(max(numbers, default=0) + 1)

    def _save(self, card_id: str) -> None:
        if self._dir is not None:
            self._cards[card_id].save(self._dir / f"{card_id}.cbor")

    def _check_reader(self, reader: str) -> None:
        if reader not in self._slots:
            raise ApiError(404, "unknown-reader", f"reader: no virtual reader {reader!r}; readers: "
                           f"{list(self._slots)}", field="reader")

    def card_in(self, reader: str) -> VirtualCard | None:
        with self._lock:
            card_id = self._slots.get(reader)
            return None if card_id is None else self._cards[card_id]

    def cards(self) -> list[DeskCard]:
        with self._lock:
            where = {cid: r for r, cid in self._slots.items() if cid is not None}
            return [DeskCard(cid, where.get(cid), self._labels[cid]) for cid in self._cards]

    def _put(self, reader: str, card: VirtualCard) -> None:
        """Hook: the card goes into the reader (subclasses connect it)."""

    def _take(self, reader: str, card: VirtualCard) -> None:
        """Hook: the card leaves the reader."""

    def insert(self, reader: str, card_id: str | None) -> DeskCard:
        with self._lock:
            self._check_reader(reader)
            if self._slots[reader] is not None:
                raise ApiError(409, "reader-occupied", f"reader: {reader!r} already holds a card", field="reader")
            if card_id is None:
                card_id = f"card-{next(self._ids)}"
                self._cards[card_id] = VirtualCard.blank()
                self._labels[card_id] = card_id
                self._save(card_id)
            elif card_id not in self._cards:
                raise ApiError(404, "unknown-card", f"card_id: no virtual card {card_id!r}", field="card_id")
            elif card_id in self._slots.values():
                raise ApiError(409, "card-in-reader", f"card_id: {card_id!r} is in another reader", field="card_id")
            self._slots[reader] = card_id
            self._put(reader, self._cards[card_id])
            return DeskCard(card_id, reader, self._labels[card_id])

    def remove(self, reader: str) -> DeskCard:
        with self._lock:
            self._check_reader(reader)
            card_id = self._slots[reader]
            if card_id is None:
                raise ApiError(409, "no-card", f"reader: no card in {reader!r}", field="reader")
            card = self._cards[card_id]
            card.power_off()  # a command in flight now meets a mute card, as with a real pull
            self._slots[reader] = None
            self._take(reader, card)
            self._save(card_id)
            return DeskCard(card_id, None, self._labels[card_id])

    def label_in(self, reader: str, text: str) -> None:
        """Name the card in `reader` (the print station labels a card with its number once issued)."""
        with self._lock:
            card_id = self._slots.get(reader)
            if card_id is not None:
                self._labels[card_id] = text

    def close(self) -> None:
        with self._lock:
            for card_id in self._cards:
                self._save(card_id)

    def image(self, card_id: str) -> bytes:
        with self._lock:
            if card_id not in self._cards:
                raise ApiError(404, "unknown-card", f"card_id: no virtual card {card_id!r}", field="card_id")
            return self._cards[card_id].to_bytes("cbor")


class InProcessDesk(_Desk):
    def __init__(self, hub: InProcessHub, readers: list[str], image_dir: Path | None) -> None:
        self._hub = hub
        super().__init__(readers, image_dir)

    def _put(self, reader: str, card: VirtualCard) -> None:
        self._hub.events.append(ReaderEventKind.INSERTED, reader)

    def _take(self, reader: str, card: VirtualCard) -> None:
        self._hub.events.append(ReaderEventKind.REMOVED, reader)


class InProcessHub(ReaderHub):
    """Readers that exist only in this process; cards are inserted through the desk."""

    def __init__(self, readers: list[str], image_dir: Path | None = None) -> None:
        super().__init__()
        self._names = list(readers)
        self.desk: InProcessDesk = InProcessDesk(self, self._names, image_dir)

    def _list(self) -> list[tuple[str, bool, bytes]]:
        out = []
        for name in self._names:
            card = self.desk.card_in(name)
            out.append((name, card is not None, b"" if card is None else card.atr))
        return out

    def _connect(self, reader: str) -> Connection:
        card = self.desk.card_in(reader)
        if card is None:
            raise NoCardError(f"no card in {reader!r}")
        return InProcessConnection(card)



class VpcdDesk(_Desk):
    """Virtual cards in vpcd's readers: one `VpcdBridge` thread per reader; pcscd sees real insertions."""

    def __init__(self, image_dir: Path | None, host: str = "127.0.0.1") -> None:
        super().__init__(list(VPCD_PORTS), image_dir)
        self._bridges: dict[str, VpcdBridge] = {}
        self._removed_at: dict[str, float] = {}
        self._threads: list[threading.Thread] = []
        for reader, port in VPCD_PORTS.items():
            bridge = VpcdBridge(VirtualCard.blank(), host, port, inserted=False)
            thread = threading.Thread(target=bridge.run, name=f"vpcd-{port}", daemon=True)
            thread.start()
            self._bridges[reader], self._threads = bridge, [*self._threads, thread]

    def _put(self, reader: str, card: VirtualCard) -> None:
        # pcscd polls a vpcd reader about every 400 ms (design §5): a card swapped faster than that is
        # never seen removed, and pcscd keeps talking to the new card as if it were the old one.
        wait = REMOVAL_SEEN - (time.monotonic() - self._removed_at.get(reader, 0.0))
        if wait > 0:
            time.sleep(wait)
        bridge = self._bridges[reader]
        bridge.card = card
        bridge.insert()

    def _take(self, reader: str, card: VirtualCard) -> None:
        self._bridges[reader].remove()
        self._removed_at[reader] = time.monotonic()

    def close(self) -> None:
        for bridge in self._bridges.values():
            bridge.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        super().close()
