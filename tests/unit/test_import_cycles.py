"""No import cycles inside cardsvc, applets and simulator (issue 11 item 8).

Every import counts, including those under `if TYPE_CHECKING:` and inside functions: a cycle hidden
behind a lazy import is still two modules that cannot be understood (or moved) one without the other.
The graph comes from grimp, import-linter's own graph builder.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

PACKAGES = ("cardsvc", "applets", "simulator")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(root: str) -> None:  # Tarjan's algorithm, iterative: the graph is deep enough to matter
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.find_modules_directly_imported_by(node):
                    cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(cycles)


def test_no_import_cycles_in_our_packages() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    assert len(graph.modules) > 50  # the whole tree was read, not an empty graph
    assert import_cycles(graph) == []


def test_the_check_finds_a_cycle_behind_type_checking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "cyclic_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclic_pkg.b import B\n\nclass A(B): ...\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                              "    from cyclic_pkg.a import A\n\nclass B: ...\n")
    (pkg / "c.py").write_text("def late():\n    from cyclic_pkg import d\n")
    (pkg / "d.py").write_text("import cyclic_pkg.c\n")
    (pkg / "e.py").write_text("import cyclic_pkg.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("cyclic_pkg", include_external_packages=False)
    assert import_cycles(graph) == [["cyclic_pkg.a", "cyclic_pkg.b"], ["cyclic_pkg.c", "cyclic_pkg.d"]]
