"""One settings object for the service and the CLI: `CARDSVC_*` environment variables, one set of defaults.

`load_settings(**overrides)` reads the environment (pydantic-settings) and lets command-line options win;
a bad value is a `SettingsError` naming the variable. The CLI imports this module only inside commands, so
`cardsvc --help` never pays for pydantic.
"""

from __future__ import annotations

import getpass
import socket
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from cardsvc.layout import Layout


class SettingsError(ValueError):
    """A setting with a bad value; the message names the environment variable or option."""


class ReaderMode(StrEnum):
    PCSC = "pcsc"  # real readers (or vpcd's virtual ones) through pcscd
    VIRTUAL = "virtual"  # in-process virtual readers with virtual cards (dev, tests; no pcscd)
    NONE = "none"  # no readers: registry, faces, QR and card-image verification only


def _operator() -> str:
    try:
        return getpass.getuser()[:64] or "operator"
    except (KeyError, OSError):  # no passwd entry and no $USER (containers)
        return "operator"


class Settings(BaseSettings):
    """Every `CARDSVC_*` setting; the environment variable is the field's alias."""

    # Fields without an alias read CARDSVC_<FIELD> (e.g. CARDSVC_MAX_UPLOAD_BYTES), never a bare name.
    model_config = SettingsConfigDict(env_prefix="CARDSVC_", frozen=True, extra="ignore", validate_by_name=True,
                                      validate_by_alias=True)

    database_url: str = Field("sqlite:///var/registry.sqlite3", alias="CARDSVC_DB_URL")
    # The key store's passphrase stays with the key store (CARDSVC_KEYSTORE_PASSPHRASE, cardsvc.security).
    keystore_dir: Path = Field(Path("var/keystore"), alias="CARDSVC_KEYSTORE")
    layouts_dir: Path | None = Field(None, alias="CARDSVC_LAYOUTS_DIR")  # None: the layouts shipped with cardsvc
    readers: ReaderMode = Field(ReaderMode.NONE, alias="CARDSVC_READERS")
    virtual_readers: tuple[str, ...] = ("Virtual Reader 0", "Virtual Reader 1")
    cards_dir: Path | None = None  # virtual readers: keep the virtual cards' images here across restarts
    station_id: str = Field(default_factory=lambda: socket.gethostname()[:64] or "station",
                            alias="CARDSVC_STATION")  # this station's id in the audit log
    operator: str = Field(default_factory=_operator, alias="CARDSVC_OPERATOR")  # CLI commands' audit operator
    status_list_issuer: str = "410000"  # GB/T 2260: the province publishes one list for both cities
    status_list_hours: int = 24  # next_update of the signed status list
    dev: bool = Field(False, alias="CARDSVC_DEV")  # dev pages show the virtual card desk (insert/remove buttons)
    max_upload_bytes: int = 512 * 1024  # card image uploads; a real image is ~20-40 KB
    # The registry's standing duties (cardsvc.duties) inside the service: every N seconds (0: off, cron only);
    # the first round a little after start, so a restart loop never hammers the registry.
    duties_interval_seconds: float = Field(3600.0, ge=0)
    duties_first_delay_seconds: float = Field(60.0, ge=0)

    def layouts(self) -> dict[str, Layout]:
        """The city layouts by id: those in `layouts_dir` when set, else the ones shipped with cardsvc."""
        from cardsvc.layout import load_layouts

        return load_layouts(self.layouts_dir)  # the one loader; None: its default (the shipped layouts)

    def named(self, name: str) -> bool:
        """Whether `name` was set explicitly (environment or option) rather than left at its default."""
        return name in self.model_fields_set


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; options in `overrides` (field names; None: not given) win over it."""
    fields = Settings.model_fields
    given = {(fields[k].alias or k): v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        raise SettingsError(f"{where}: {err['msg']}") from None
