"""One settings object (issue 11 item 4): CARDSVC_* environment, options over environment over defaults,
bad values named, and the layouts directory (CARDSVC_LAYOUTS_DIR) reaching the CLI and the service."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardsvc.cli import main
from cardsvc.layout import LayoutError
from cardsvc.layout.loader import LAYOUT_DIR
from cardsvc.security.keystore import PASSPHRASE_ENV
from cardsvc.settings import ReaderMode, Settings, SettingsError, load_settings


def test_environment_then_options(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CARDSVC_DB_URL", "CARDSVC_KEYSTORE", "CARDSVC_READERS", "CARDSVC_LAYOUTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    defaults = load_settings()
    assert defaults.database_url == "sqlite:///var/registry.sqlite3" and defaults.readers is ReaderMode.NONE
    assert defaults.keystore_dir == Path("var/keystore") and not defaults.named("keystore_dir")
    monkeypatch.setenv("CARDSVC_DB_URL", "sqlite:///from-env.sqlite3")
    monkeypatch.setenv("CARDSVC_READERS", "virtual")
    monkeypatch.setenv("CARDSVC_KEYSTORE", "/srv/keys")
    monkeypatch.setenv("CARDSVC_MAX_UPLOAD_BYTES", "4096")
    env = load_settings()
    assert (env.database_url, env.readers, env.keystore_dir) == ("sqlite:///from-env.sqlite3", ReaderMode.VIRTUAL,
                                                                Path("/srv/keys"))
    assert env.named("keystore_dir") and env.max_upload_bytes == 4096
    given = load_settings(database_url="sqlite:///option.sqlite3", readers=None)  # None: option not given
    assert given.database_url == "sqlite:///option.sqlite3" and given.readers is ReaderMode.VIRTUAL
    assert Settings(database_url="sqlite://").database_url == "sqlite://"  # code builds them directly too


@pytest.mark.parametrize(("name", "value", "message"), [
    ("CARDSVC_READERS", "bluetooth", "CARDSVC_READERS: Input should be 'pcsc', 'virtual' or 'none'"),
    ("CARDSVC_DEV", "perhaps", "CARDSVC_DEV: Input should be a valid boolean"),
    ("CARDSVC_MAX_UPLOAD_BYTES", "lots", "max_upload_bytes: Input should be a valid integer"),
])
def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                        message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"^{message}"):
        load_settings()


def layouts_dir(tmp_path: Path) -> Path:
    """A layouts directory with one city, the shipped Zhengzhou file under another id."""
    (tmp_path / "faces").mkdir(parents=True)
    text = (LAYOUT_DIR / "zhengzhou.toml").read_text(encoding="utf-8")
    assert '\nid = "zz"\n' in text
    (tmp_path / "elsewhere.toml").write_text(text.replace('\nid = "zz"\n', '\nid = "zz-copy"\n'), encoding="utf-8")
    return tmp_path


def test_layouts_dir_is_read_and_an_empty_one_refused(tmp_path: Path) -> None:
    assert sorted(Settings(layouts_dir=layouts_dir(tmp_path / "one")).layouts()) == ["zz-copy"]
    assert sorted(Settings().layouts()) == ["smx", "zz"]  # the shipped ones
    (tmp_path / "empty").mkdir()
    with pytest.raises(LayoutError, match="empty: no layouts"):
        Settings(layouts_dir=tmp_path / "empty").layouts()


def test_the_cli_takes_its_layouts_from_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "settings test")
    monkeypatch.delenv("CARDSVC_LAYOUTS_DIR", raising=False)
    with pytest.raises(SystemExit) as refused:  # not a shipped layout: an argument error
        main(["keys", "init", "--keystore", str(tmp_path / "ks0"), "--layout", "zz-copy"])
    assert refused.value.code == 2 and "'zz-copy' is not one of 'smx', 'zz'" in capsys.readouterr().err
    monkeypatch.setenv("CARDSVC_LAYOUTS_DIR", str(layouts_dir(tmp_path / "layouts")))
    assert main(["keys", "init", "--keystore", str(tmp_path / "ks"), "--layout", "zz-copy", "--json"]) == 0
    assert '"signers"' in capsys.readouterr().out
