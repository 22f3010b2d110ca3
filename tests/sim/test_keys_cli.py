"""`cardsvc keys init` shows progress: the ceremony reports every key pair and secret it makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardsvc.cli.keys import layout_ceremony
from cardsvc.layout import builtin_layout
from cardsvc.security.keystore import PASSPHRASE_ENV


def test_the_ceremony_reports_each_key_and_its_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "progress test")
    seen: list[tuple[int, int]] = []
    result = layout_ceremony(tmp_path / "ks", [builtin_layout("smx")], tmp_path / "root.p8.pem",
                             progress=lambda done, total: seen.append((done, total)))
    total = 1 + len(result.signers) + len(result.master_keys)  # the root, every signer, every master key
    assert seen == [(n, total) for n in range(1, total + 1)]
