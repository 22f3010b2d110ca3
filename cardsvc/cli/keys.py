"""`cardsvc keys init`: the key ceremony (root CA, a signer per authority, CRL, master keys per role)."""

from __future__ import annotations

from pathlib import Path

import click

from cardsvc.cli.common import LAYOUT, emit, json_option, settings


@click.group("keys", help="key ceremony and key store")
def keys() -> None:
    pass


@keys.command("init", help="root CA, signers per authority, CRL, master keys per role")
@click.option("--keystore", type=click.Path(path_type=Path), metavar="DIR",
              help="key store to create (default $CARDSVC_KEYSTORE or var/keystore)")
@click.option("--layout", "layout_ids", type=LAYOUT, multiple=True,
              help="authorities and keys of this layout (repeat; default: all)")
@json_option
def init(keystore: Path | None, layout_ids: tuple[str, ...]) -> int:
    from cardsvc.issuance.plan import layout_key_roles
    from cardsvc.security import ceremony
    from cardsvc.security.kdf import KeyRole
    from cardsvc.security.keystore import EncryptedFileKeyStore
    from cardsvc.security.suite import common_suite

    s = settings(keystore_dir=keystore)
    known = s.layouts()
    layouts = [known[i] for i in layout_ids] if layout_ids else list(known.values())
    authorities = list({a.code: (a.code, a.name) for layout in layouts for a in layout.authorities}.values())
    roles = sorted({str(r) for r in KeyRole} | {r for layout in layouts for r in layout_key_roles(layout)})
    result = ceremony.init_key_ceremony(EncryptedFileKeyStore(s.keystore_dir), authorities, roles=roles,
                                        suite=common_suite(layouts))  # the layouts' `suite` (gm by default)
    emit({"keystore": str(s.keystore_dir), "root": result.root.subject.rfc4514_string(),
          "signers": sorted(result.signers), "master_keys": list(result.master_keys)},
         f"key store {s.keystore_dir}: root CA, {len(result.signers)} signer certificates, "
         f"{len(result.master_keys)} master keys")
    return 0
