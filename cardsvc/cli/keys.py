"""`cardsvc keys init`: the key ceremony (root CA, a signer per authority, CRL, master keys per role)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cardsvc.cli.common import LAYOUT, emit, json_option, settings

if TYPE_CHECKING:
    from cardsvc.layout import Layout
    from cardsvc.security.ceremony import CeremonyResult
    from cardsvc.security.suite import PublicKey


@click.group("keys", help="key ceremony and key store")
def keys() -> None:
    pass


def layout_ceremony(store_dir: Path, layouts: Iterable[Layout], root_out: Path | None = None, *,
                    progress: Callable[[int, int], None] | None = None) -> CeremonyResult:
    """The key ceremony for `layouts`: every authority's signers, every role's master key (also `make run`'s);
    the root CA key leaves the store for `root_out` (default: beside the store directory) to be kept offline.
    `progress(done, total)` after each key or secret made (the store's encryption makes each one slow)."""
    from cardsvc.issuance.plan import layout_key_roles
    from cardsvc.security import ceremony
    from cardsvc.security.kdf import KeyRole
    from cardsvc.security.keystore import EncryptedFileKeyStore
    from cardsvc.security.pki import SignerRole
    from cardsvc.security.suite import common_suite

    layouts = list(layouts)
    authorities = list({a.code: (a.code, a.name) for layout in layouts for a in layout.authorities}.values())
    roles = sorted({str(r) for r in KeyRole} | {r for layout in layouts for r in layout_key_roles(layout)})
    total = 1 + len(SignerRole) * len(authorities) + len(roles)  # root, signers, master keys
    done = 0

    class CountingStore(EncryptedFileKeyStore):
        """The key store, reporting each key pair and secret it makes."""

        def _made(self) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        def generate_key(self, *args: Any, **kwargs: Any) -> PublicKey:
            key = super().generate_key(*args, **kwargs)
            self._made()
            return key

        def generate_secret(self, *args: Any, **kwargs: Any) -> None:
            super().generate_secret(*args, **kwargs)
            self._made()

    store = CountingStore(store_dir, suite=common_suite(layouts))  # the layouts' suite and SM2 signer ID
    return ceremony.init_key_ceremony(store, authorities, roles=roles,
                                      root_out=root_out or default_root_out(store_dir))


def default_root_out(store_dir: Path) -> Path:
    return store_dir.parent / "root-ca.offline.p8.pem"


@keys.command("init", help="root CA, signers per authority, CRL, master keys per role")
@click.option("--keystore", type=click.Path(path_type=Path), metavar="DIR",
              help="key store to create (default $CARDSVC_KEYSTORE or var/keystore)")
@click.option("--layout", "layout_ids", type=LAYOUT, multiple=True,
              help="authorities and keys of this layout (repeat; default: all)")
@click.option("--root-out", type=click.Path(path_type=Path), metavar="FILE",
              help="where the root CA private key goes (encrypted) to be kept offline; the service's store "
                   "holds only signers, the root certificate and CRLs (default: root-ca.offline.p8.pem beside "
                   "the key store directory)")
@json_option
def init(keystore: Path | None, layout_ids: tuple[str, ...], root_out: Path | None) -> int:
    s = settings(keystore_dir=keystore)
    known = s.layouts()
    root_out = root_out or default_root_out(s.keystore_dir)
    with click.progressbar(length=1, label="key ceremony", file=sys.stderr) as bar:  # a line on a terminal only

        def advance(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        result = layout_ceremony(s.keystore_dir, [known[i] for i in layout_ids] if layout_ids else known.values(),
                                 root_out, progress=advance)
    emit({"keystore": str(s.keystore_dir), "root": result.root.subject.rfc4514_string(),
          "root_key_offline": str(root_out), "signers": sorted(result.signers),
          "master_keys": list(result.master_keys)},
         f"key store {s.keystore_dir}: root CA, {len(result.signers)} signer certificates, "
         f"{len(result.master_keys)} master keys; root CA key in {root_out}: move it offline now")
    return 0
