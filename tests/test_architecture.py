"""The code's shape: no import cycles among the product's modules.

Counted the way the next engineer reads the code: imports inside functions and under
`TYPE_CHECKING` are imports too. (`make lint` checks the one-way rules between packages with
import-linter; this checks that no two modules need each other, directly or around a loop.)
"""

from __future__ import annotations

import grimp

PACKAGES = ("screenpop", "connectors", "agent_ui")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every group of modules that import each other, directly or around a loop: a module is
    in one with every module that it depends on and that depends on it."""
    groups: set[tuple[str, ...]] = set()
    for module in graph.modules:
        needs = graph.find_upstream_modules(module)
        needed_by = graph.find_downstream_modules(module)
        loop = needs & needed_by
        if loop:
            groups.add(tuple(sorted(loop | {module})))
    return [list(g) for g in sorted(groups)]


def test_no_module_needs_another_that_needs_it_back() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
