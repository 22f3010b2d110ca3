"""What every `cardsvc` command shares: `--json`, station options, settings, card sources, output.

Module level imports click and the standard library only (`cardsvc --help` must not import cryptography,
SQLAlchemy, FastAPI or pyscard); everything else is imported inside the functions that need it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from cardsvc.cardside import CardSide
    from cardsvc.issuance.keys import StationKeys
    from cardsvc.layout import Layout
    from cardsvc.registry import Actor
    from cardsvc.settings import Settings
    from cardsvc.transport.base import Connection

F = TypeVar("F", bound=Callable[..., Any])
JSON_KEY = "cardsvc.json"  # in click's ctx.meta, shared by a command and its parent groups
CARD_SIDE_KEY = "cardsvc.card_side"


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[JSON_KEY] = True


def json_option(f: F) -> F:
    """`--json` on any level (`cardsvc tokens --json list` and `cardsvc tokens list --json` alike)."""
    return click.option("--json", is_flag=True, expose_value=False, callback=_set_json,
                        help="machine-readable output on stdout")(f)


def as_json() -> bool:
    return bool(click.get_current_context().meta.get(JSON_KEY))


def emit(data: Any, text: str, *, line: bool = False) -> None:
    """`data` as JSON with --json, else `text` (stdout). `line`: the JSON on one line (a stream of events,
    and the service commands' output as it always was: scripts read it line by line)."""
    if as_json():
        click.echo(json.dumps(data, ensure_ascii=False, indent=None if line else 2, default=str))
    else:
        click.echo(text)


def fail(command: str, message: str, code: int = 2) -> int:
    """One line on stderr, no trace; returns the exit code."""
    print(f"cardsvc {command}: {message}", file=sys.stderr)
    return code


def settings(**overrides: Any) -> Settings:
    """The one settings object (CARDSVC_* environment); options given on the command line (not None) win."""
    from cardsvc.settings import load_settings

    return load_settings(**overrides)


class LayoutId(click.ParamType[str, Any]):
    """A layout id, checked against the layouts when given (loading them is too slow for `--help`)."""

    name = "LAYOUT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from cardsvc.iso7816.errors import CardError
        from cardsvc.settings import SettingsError

        try:
            known = sorted(settings().layouts())
        except (SettingsError, CardError) as exc:  # a bad CARDSVC_LAYOUTS_DIR or layout file
            self.fail(str(exc), param, ctx)
        if value not in known:
            self.fail(f"{value!r} is not one of {', '.join(map(repr, known))}", param, ctx)
        return str(value)


LAYOUT = LayoutId()


def station_options(f: F) -> F:
    """--db, --keystore, --station, --operator (defaults: the settings) and --json."""
    decorators = [
        click.option("--db", metavar="URL", help="registry database URL (default $CARDSVC_DB_URL or var/)"),
        click.option("--keystore", type=click.Path(path_type=Path), metavar="DIR",
                     help="key store (default $CARDSVC_KEYSTORE or var/keystore; passphrase from "
                          "CARDSVC_KEYSTORE_PASSPHRASE)"),
        click.option("--station", help="station id for the audit log (default $CARDSVC_STATION or the host name)"),
        click.option("--operator", help="operator for the audit log (default $CARDSVC_OPERATOR or the user)"),
        json_option,
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def station_settings(db: str | None, keystore: Path | None, station: str | None, operator: str | None) -> Settings:
    return settings(database_url=db, keystore_dir=keystore, station_id=station, operator=operator)


def layout(s: Settings, layout_id: str) -> Layout:
    return s.layouts()[layout_id]


def registry(s: Settings) -> sessionmaker[Session]:
    """Sessions on the registry the settings name, migrated to head first."""
    from cardsvc.registry import make_engine, migrate, session_factory

    migrate(s.database_url)
    return session_factory(make_engine(s.database_url))


def station_keys(s: Settings) -> StationKeys:
    from cardsvc.issuance.keys import StationKeys
    from cardsvc.security.keystore import EncryptedFileKeyStore

    return StationKeys(EncryptedFileKeyStore.for_layouts(s.keystore_dir, s.layouts().values(), cache_private_keys=True))


def actor(s: Settings, role: str) -> Actor:
    from cardsvc.registry import Actor

    return Actor(station_id=s.station_id, operator=s.operator, role=role)


def card_side() -> CardSide:
    """The card side handed to `main`, else the installed one (virtual card files need it)."""
    from cardsvc.cardside import installed_card_side

    side: CardSide | None = click.get_current_context().meta.get(CARD_SIDE_KEY)
    return side if side is not None else installed_card_side()


def open_card_file(path: Path, *, create: bool) -> tuple[Connection, Callable[[], None]]:
    return card_side().open_card_file(path, create=create)


def connect_one(reader: str | None, card: Path | None, wait: float, *, create: bool
                ) -> tuple[Connection, Callable[[], None]]:
    """The card in `reader` (PC/SC; None: the first holding a card) or the virtual card file `card`."""
    if card is not None:
        return open_card_file(card, create=create)
    from cardsvc.transport.pcsc import connect  # pyscard only when a reader is used

    return connect(reader, wait=wait), lambda: None


def one_card_source(reader: object, card: object, *, required: bool) -> None:
    """--reader and --card exclude each other (and one of them is needed where `required`)."""
    if reader and card:
        raise click.UsageError("--reader and --card exclude each other")
    if required and not reader and not card:
        raise click.UsageError("one of --reader or --card is required")


def reader_options(many: bool, wait: float) -> Callable[[F], F]:
    """--reader NAME / --card FILE (repeatable for a batch) and --wait S."""
    def apply(f: F) -> F:
        f = click.option("--wait", type=float, default=wait, show_default=True, metavar="S",
                         help="seconds to wait for " + ("each card" if many else "a card"))(f)
        card_help = "virtual card image (.json or .cbor)" + (" (repeat: one card per file)" if many else "")
        f = click.option("--card", type=click.Path(path_type=Path), multiple=many, metavar="FILE", help=card_help)(f)
        return click.option("--reader", multiple=many, metavar="NAME",
                            help="PC/SC reader, exact name or unique prefix"
                                 + (" (repeat for a batch across readers)" if many else ""))(f)
    return apply


class LazyChoice(click.ParamType[str, Any]):
    """A choice among an enum's values, imported when the option is given (not for `--help`)."""

    def __init__(self, name: str, values: Callable[[], list[str]]) -> None:
        self.name = name
        self._values = values

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        choices = self._values()
        if value not in choices:
            self.fail(f"{value!r} is not one of {', '.join(map(repr, choices))}", param, ctx)
        return str(value)
