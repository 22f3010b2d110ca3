"""Service settings: plain frozen dataclass, read from `CARDSVC_*` environment variables or given directly.

No pydantic-settings: the service has a handful of settings and tests build them directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from cardsvc.api.errors import ApiError


class ReaderMode(StrEnum):
    PCSC = "pcsc"  # real readers (or vpcd's virtual ones) through pcscd
    VIRTUAL = "virtual"  # in-process virtual readers with virtual cards (dev, tests; no pcscd)
    NONE = "none"  # no readers: registry, faces, QR and card-image verification only


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///var/registry.sqlite3"
    keystore_dir: Path = Path("var/keystore")  # the CLI's default too (cardsvc/cli.py)
    readers: ReaderMode = ReaderMode.NONE
    virtual_readers: tuple[str, ...] = ("Virtual Reader 0", "Virtual Reader 1")
    cards_dir: Path | None = None  # virtual readers: keep the virtual cards' images here across restarts
    station_id: str = "service"  # this service's own station id in the audit log
    status_list_issuer: str = "410000"  # GB/T 2260: the province publishes one list for both cities
    status_list_hours: int = 24  # next_update of the signed status list
    dev: bool = False  # dev pages show the virtual card desk (insert/remove buttons)
    max_upload_bytes: int = 512 * 1024  # card image uploads; a real image is ~20-40 KB
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        base = cls()
        try:
            mode = ReaderMode(env.get("CARDSVC_READERS", base.readers.value))
        except ValueError:
            raise ApiError(500, "settings", f"CARDSVC_READERS: must be one of {[m.value for m in ReaderMode]}",
                           field="CARDSVC_READERS") from None
        return replace(
            base,
            database_url=env.get("CARDSVC_DB_URL", base.database_url),
            keystore_dir=Path(env.get("CARDSVC_KEYSTORE", str(base.keystore_dir))),
            readers=mode,
            station_id=env.get("CARDSVC_STATION", base.station_id),
            dev=env.get("CARDSVC_DEV", "") in ("1", "true", "yes"),
        )
