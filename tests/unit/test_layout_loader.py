"""The layouts directory (CARDSVC_LAYOUTS_DIR or a directory given) and `extends` between city files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cardsvc.layout import LayoutError, builtin_layout, layouts_dir, load_layout, load_layouts
from cardsvc.layout.loader import LAYOUT_DIR

SHIPPED = LAYOUT_DIR.resolve()


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "layouts"
    shutil.copytree(SHIPPED, target)
    return target


def test_directory_given_else_environment_else_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARDSVC_LAYOUTS_DIR", raising=False)
    assert layouts_dir() == LAYOUT_DIR
    monkeypatch.setenv("CARDSVC_LAYOUTS_DIR", str(tmp_path))
    assert layouts_dir() == tmp_path and layouts_dir(SHIPPED) == SHIPPED
    with pytest.raises(LayoutError, match="no layouts"):
        load_layouts()  # the environment's (empty) directory is the one in force
    assert sorted(load_layouts(SHIPPED)) == ["smx", "zz"]


def test_extends_overrides_by_name_and_replaces_lists(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    (target / "child.toml").write_text('''
extends = "zhengzhou.toml"
authorities = [{ code = "410122", name = "中牟县公安局" }]
[[dfs]]
name = "housing"
fid = "1104"
aid = "D156000099 4101 0904"
label = "OTHER HOUSING"
department = "housing"
access = { create_ef = "key:issuer", delete = "never" }
[layout]
id = "zz-child"
[rules]
card_fee_fen = 1
''', encoding="utf-8")
    child, parent = load_layouts(target)["zz-child"], builtin_layout("zz")
    assert [a.code for a in child.authorities] == ["410122"]  # replaced, not merged
    assert [d.name for d in child.dfs] == [d.name for d in parent.dfs]  # one entry overridden in place
    assert child.df("housing").label == "OTHER HOUSING" and child.df("education") == parent.df("education")
    assert child.efs == parent.efs and child.layout.city == parent.layout.city  # the rest inherited
    assert child.rules.card_fee_fen == 1 and child.rules.endorsement_window == parent.rules.endorsement_window
    assert child.rules.city == "zz-child" and child.face_path() == target / "faces" / "zhengzhou.toml"


@pytest.mark.parametrize(("text", "message"), [
    ('extends = "child.toml"\n', "extends: cycle"),
    ('extends = "missing.toml"\n', "missing.toml: cannot read"),
    ("extends = 3\n", "extends: must be a file name"),
])
def test_bad_extends_is_named(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "child.toml").write_text(text, encoding="utf-8")
    with pytest.raises(LayoutError, match=message):
        load_layout(tmp_path / "child.toml")


def test_two_files_with_one_id_are_refused(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    shutil.copyfile(target / "zhengzhou.toml", target / "again.toml")
    with pytest.raises(LayoutError, match="layout id 'zz' is used by another file"):
        load_layouts(target)
