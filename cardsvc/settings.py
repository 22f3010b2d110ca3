"""One settings object for the service and the CLI: `CARDSVC_*` environment variables, one set of defaults.

`load_settings(**overrides)` reads the environment and lets command-line options win; a bad value is a
`SettingsError` naming the variable. The CLI imports this module only inside commands, so `cardsvc --help`
never pays for pydantic.

The model is plain pydantic with the environment read here (`_environment`), not pydantic-settings: that
library's import (its .env, secrets, cloud and CLI sources) was ~50 ms of every `cardsvc verify` start
(issue 15), for the one source we use. As pydantic-settings did: names match case-insensitively, a field
without an alias reads CARDSVC_<FIELD>, a tuple field reads JSON, and `Settings(...)` built directly also
takes the environment under the values it is given.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import typing
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


ENV_PREFIX = "CARDSVC_"


class Settings(BaseModel):
    """Every `CARDSVC_*` setting; the environment variable is the field's alias."""

    # Fields without an alias read CARDSVC_<FIELD> (e.g. CARDSVC_MAX_UPLOAD_BYTES), never a bare name.
    model_config = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True)

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

    @model_validator(mode="before")
    @classmethod
    def _under_the_environment(cls, data: Any) -> Any:
        """Values given (by field name or alias) win; the environment fills the fields not given."""
        if not isinstance(data, dict):
            return data
        given = dict(data)
        for name, value in _environment().items():
            key = cls.model_fields[name].alias or name
            if name not in given and key not in given:
                given[key] = value
        return given

    def layouts(self) -> dict[str, Layout]:
        """The city layouts by id: those in `layouts_dir` when set, else the ones shipped with cardsvc."""
        from cardsvc.layout import load_layouts

        return load_layouts(self.layouts_dir)  # the one loader; None: its default (the shipped layouts)

    def named(self, name: str) -> bool:
        """Whether `name` was set explicitly (environment or option) rather than left at its default."""
        return name in self.model_fields_set


def _environment() -> dict[str, Any]:
    """The CARDSVC_* variables that name a field, by field name."""
    env = {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}
    out: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        variable = (field.alias or f"{ENV_PREFIX}{name}").upper()
        if variable in env:
            out[name] = _json_if_structured(env[variable], field.annotation)
    return out


def _json_if_structured(value: str, annotation: Any) -> Any:
    """A tuple field's variable holds JSON; text that is not JSON stays text (pydantic then names the field)."""
    if typing.get_origin(annotation) not in (tuple, list, dict):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


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
