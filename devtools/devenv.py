"""Development bring-up behind `make run`: registry, key ceremony, readers with blank cards, samples, token.

First run: creates var/ (git-ignored) with the SQLite registry, a random key-store passphrase (dev only,
file mode 0600) and a development key ceremony for every authority of the built-in layouts. Every run:
readers — vpcd's two readers through pcscd when pcscd runs (started here as root if needed), else two
in-process virtual readers — each holding a blank card; two sample applications per city if there are
none; a fresh admin token printed with the URL.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from cardsvc.api.auth import Role, issue_token
from cardsvc.api.context import AppContext
from cardsvc.api.readers import PcscHub, ReaderHub
from cardsvc.cli.keys import layout_ceremony
from cardsvc.registry.audit import Actor
from cardsvc.registry.models import PermitApplication
from cardsvc.security.keystore import PASSPHRASE_ENV
from cardsvc.settings import ReaderMode, Settings, load_settings

log = logging.getLogger(__name__)
SETUP = Actor("dev-setup", "make run", "admin")


@dataclass
class DevEnv:
    settings: Settings
    hub: ReaderHub
    admin_token: str
    pcscd: subprocess.Popen[bytes] | None = None

    def close(self) -> None:
        if self.pcscd is not None:
            self.pcscd.terminate()
            self.pcscd.wait(timeout=10)  # always reap pcscd: an unreaped one blocks the next start


def passphrase(var: Path) -> None:
    """Dev key-store passphrase: the environment's, else a random one kept in var/ (never tracked)."""
    if os.environ.get(PASSPHRASE_ENV):
        return
    path = var / "dev-passphrase"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    os.environ[PASSPHRASE_ENV] = path.read_text().strip()


def key_ceremony(keys: Path, settings: Settings | None = None) -> bool:
    """Run the development key ceremony once (root, signers per authority, every role's master key)."""
    if (keys / "certs").exists() or (keys.exists() and any(keys.iterdir())):
        return False
    result = layout_ceremony(keys, (settings or load_settings()).layouts().values())  # as `cardsvc keys init`
    log.info("dev key ceremony: %d signers, %d master keys", len(result.signers), len(result.master_keys))
    return True


def _vpcd_readers() -> list[str] | None:
    try:
        from cardsvc.transport.pcsc import list_readers

        names = [s.name for s in list_readers()]
    except Exception:  # no pyscard, no pcscd: use in-process readers
        return None
    vpcd = [n for n in names if n.startswith("Virtual PCD")]
    return vpcd or None


def start_pcscd() -> subprocess.Popen[bytes] | None:
    """As root, start pcscd in the foreground (reaped in DevEnv.close) and wait for vpcd's readers."""
    binary = shutil.which("pcscd")
    if binary is None or os.geteuid() != 0:
        return None
    proc = subprocess.Popen([binary, "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if _vpcd_readers():
            return proc
        time.sleep(0.2)
    proc.terminate()
    proc.wait(timeout=10)
    return None


def open_readers(settings: Settings, cards: Path, *, use_pcscd: bool) -> tuple[Settings, ReaderHub,
                                                                               subprocess.Popen[bytes] | None]:
    from devtools.simreaders import VPCD_PORTS, InProcessHub, VpcdDesk

    proc = None
    if use_pcscd and _vpcd_readers() is None:
        proc = start_pcscd()
    if use_pcscd and _vpcd_readers():
        hub: ReaderHub = PcscHub()
        hub.desk = VpcdDesk(cards)
        settings = settings.model_copy(update={"readers": ReaderMode.PCSC})
    else:
        hub = InProcessHub(list(settings.virtual_readers), cards)
        settings = settings.model_copy(update={"readers": ReaderMode.VIRTUAL})
    desk = hub.desk
    assert desk is not None
    readers = list(settings.virtual_readers) if settings.readers is ReaderMode.VIRTUAL else list(VPCD_PORTS)
    for name in readers[:2]:
        if not any(c.reader == name for c in desk.cards()):
            # The cards of an earlier run go back into the readers; a new blank card only when none is left.
            lying = [c.card_id for c in desk.cards() if c.reader is None]
            desk.insert(name, lying[0] if lying else None)
    return settings, hub, proc


def bring_up(var: Path = Path("var"), *, use_pcscd: bool = True, samples: int = 2) -> DevEnv:
    var.mkdir(mode=0o700, parents=True, exist_ok=True)
    var.chmod(0o700)  # registry, passphrase, keys and cards: personal data and secrets (design §7)
    passphrase(var)
    settings = load_settings(database_url=f"sqlite:///{var / 'registry.sqlite3'}", keystore_dir=var / "keystore",
                             dev=True, cards_dir=var / "cards")
    key_ceremony(settings.keystore_dir, settings)
    settings, hub, proc = open_readers(settings, var / "cards", use_pcscd=use_pcscd)
    ctx = AppContext.open(settings, hub=hub)
    try:
        with ctx.sessions.begin() as s:
            have = s.scalar(select(func.count()).select_from(PermitApplication)) or 0
        if have == 0 and samples:
            from cardsvc.api.auth import Principal
            from cardsvc.api.services.records import sample_application

            setup = Principal(0, Role.ADMIN, SETUP.station_id, SETUP.operator)
            for layout_id in sorted(ctx.layouts):
                for seed in range(samples):
                    with ctx.sessions.begin() as s:
                        sample_application(ctx, s, setup, layout_id, seed + 1)
        with ctx.sessions.begin() as s:
            token = issue_token(s, SETUP, role=Role.ADMIN, station_id="dev-admin", label="make run admin",
                                department=None, at=datetime.now(UTC)).token
    finally:
        ctx.engine.dispose()  # the service opens its own context; the hub stays open for it
    return DevEnv(settings, hub, token, proc)
