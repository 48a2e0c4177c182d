"""The layout's rules that import-linter's contracts do not say: no import cycles at all,
between modules or between the packages of backend/ (imports inside functions count)."""

from __future__ import annotations

import grimp
import pytest

ROOTS = ("backend", "mobile_api", "geodata")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*ROOTS, exclude_type_checking_imports=True)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _ours(module: str) -> bool:
    return module.split(".")[0] in ROOTS


def test_architecture__modules__import_no_cycle(graph):
    edges = {module: {target for target in graph.find_modules_directly_imported_by(module)
                      if _ours(target)}
             for module in graph.modules if _ours(module)}

    assert _cycles(edges) == []


def test_architecture__packages_of_backend__import_no_cycle(graph):
    # given: every module of backend/ counted as the package right below backend/
    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if not module.startswith("backend."):
            continue
        for target in graph.find_modules_directly_imported_by(module):
            if target.startswith("backend.") and package(target) != package(module):
                edges.setdefault(package(module), set()).add(package(target))

    assert _cycles(edges) == []


def test_architecture__composition_root__imported_by_nobody_of_ours(graph):
    assert {m for m in graph.find_modules_that_directly_import("backend.app") if _ours(m)} \
        == set()
