"""What the running service owns: database, key store, readers, background jobs. Built by the lifespan."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cardsvc.api.errors import ApiError
from cardsvc.api.principals import PrincipalCache
from cardsvc.api.readers import NoReaders, PcscHub, ReaderHub
from cardsvc.api.status_reader import StatusReader
from cardsvc.cardside import CardSide, CardSideMissing, installed_card_side
from cardsvc.face import FaceLayout, face_layout_for
from cardsvc.issuance.keys import StationKeys
from cardsvc.layout import Layout
from cardsvc.registry import make_engine, migrate, session_factory
from cardsvc.security.errors import KeyStoreError
from cardsvc.security.keystore import EncryptedFileKeyStore, KeyStore
from cardsvc.settings import ReaderMode, Settings

log = logging.getLogger(__name__)

def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    hub: ReaderHub
    clock: Callable[[], datetime] = utc_now
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="card-job"))
    # job id → live progress of the runs in this process (display only: the claim is database state,
    # registry.jobs.claim, so several processes can share one registry)
    progress: dict[int, dict[str, object]] = field(default_factory=dict)
    progress_lock: threading.Lock = field(default_factory=threading.Lock)
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")
    card_side: CardSide | None = None  # virtual cards (image uploads); default: the installed one
    _keystore: KeyStore | None = None
    _station_keys: StationKeys | None = None
    _faces: dict[str, FaceLayout] = field(default_factory=dict)
    # Derived from the database, never the truth: authenticated tokens for a few seconds (api/deps.py).
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache())
    _status_reader: StatusReader | None = None

    @classmethod
    def open(cls, settings: Settings, *, hub: ReaderHub | None = None,
             card_side: CardSide | None = None) -> AppContext:
        engine = make_engine(settings.database_url)
        migrate(engine=engine)
        return cls(settings=settings, engine=engine, sessions=session_factory(engine),
                   hub=hub if hub is not None else open_hub(settings, card_side), card_side=card_side)

    @property
    def status_reader(self) -> StatusReader:
        """The online status answer's own connection (api/status_reader.py), opened on first use."""
        if self._status_reader is None:
            self._status_reader = StatusReader(self.engine)
        return self._status_reader

    def close(self) -> None:
        if self._status_reader is not None:
            self._status_reader.close()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.hub.close()
        self.engine.dispose()

    @property
    def keystore(self) -> KeyStore:
        """The key store, opened on first use (its passphrase comes from the environment)."""
        if self._keystore is None:
            if not self.settings.keystore_dir.is_dir():
                raise ApiError(503, "no-keys", f"key store: {self.settings.keystore_dir} does not exist; run "
                               "'cardsvc keys init' (the dev bring-up does it)")
            try:
                self._keystore = EncryptedFileKeyStore.for_layouts(
                    self.settings.keystore_dir, self.layouts.values(), cache_private_keys=True)
            except (KeyStoreError, ValueError) as exc:  # ValueError: the layouts name different suites
                raise ApiError(503, "no-keys", f"key store: {exc}") from None
        return self._keystore

    @keystore.setter
    def keystore(self, store: KeyStore) -> None:
        self._keystore = store
        self._station_keys = None

    def virtual_cards(self) -> CardSide:
        """The card side handed in, else the installed one (503 when there is none)."""
        if self.card_side is None:
            try:
                self.card_side = installed_card_side()
            except CardSideMissing as exc:
                raise ApiError(503, "no-virtual-cards", str(exc)) from None
        return self.card_side

    def station_keys(self) -> StationKeys:
        """Signing, diversification and trust for this station, over the key store (built once)."""
        if self._station_keys is None:
            self._station_keys = StationKeys(self.keystore)
        return self._station_keys

    @cached_property
    def layouts(self) -> dict[str, Layout]:
        return self.settings.layouts()  # its layouts directory (CARDSVC_LAYOUTS_DIR) or the shipped one

    def layout(self, layout_id: str) -> Layout:
        try:
            return self.layouts[layout_id]
        except KeyError:
            raise ApiError(404, "unknown-layout", f"layout_id: no layout {layout_id!r}; known: "
                           f"{sorted(self.layouts)}", field="layout_id") from None

    @cached_property
    def departments(self) -> frozenset[str]:
        return frozenset(d.department for layout in self.layouts.values() for d in layout.dfs
                         if d.department is not None)

    def face_layout(self, layout_id: str) -> FaceLayout:
        """The printed face the layout names (its `face` key), read once."""
        layout = self.layout(layout_id)
        face = self._faces.get(layout_id)
        if face is None:  # two threads may both read it once: harmless, same result
            if layout.face_path() is None:
                raise ApiError(404, "unknown-layout", f"layout_id: no card face for layout {layout_id!r}",
                               field="layout_id")
            face = self._faces[layout_id] = face_layout_for(layout)
        return face

    def set_progress(self, job_id: int, **values: object) -> None:
        with self.progress_lock:
            self.progress.setdefault(job_id, {}).update(values)

    def get_progress(self, job_id: int) -> dict[str, object]:
        with self.progress_lock:
            return dict(self.progress.get(job_id, {}))


def open_hub(settings: Settings, card_side: CardSide | None = None) -> ReaderHub:
    """The readers the settings name; virtual ones come from the card side (design §3: not from cardsvc)."""
    if settings.readers is ReaderMode.PCSC:
        return PcscHub()
    if settings.readers is ReaderMode.VIRTUAL:
        side = card_side if card_side is not None else installed_card_side()
        return side.virtual_hub(settings.virtual_readers, settings.cards_dir)
    return NoReaders()
