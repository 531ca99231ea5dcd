"""The tree reads as the data flow and stays so: every part placed in a layer, no import cycles,
small modules, and each stage saying what it takes and gives (docs/architecture.md)."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator, Mapping, Set
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = {
    "egress_watch": ROOT / "egress_watch",
    "egress_watch_tui": ROOT / "tui" / "egress_watch_tui",
}
MAX_LINES = 400
OVER_THE_LIMIT: frozenset[str] = frozenset()  # none: keep it so
NOT_CODE = {"egress_watch.data"}  # the service catalog's TOML


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    found: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return found


def layered_names() -> set[str]:
    (layers,) = [c["layers"] for c in contracts() if c["type"] == "layers"]
    assert isinstance(layers, list)
    return {name.strip() for layer in layers for name in str(layer).replace(":", "|").split("|")}


def test_every_part_of_the_package_has_its_place_in_the_layers() -> None:
    """A new top-level module or package must be put in a layer, not left loose beside them."""
    top = {
        f"egress_watch.{p.stem}"
        for p in PACKAGES["egress_watch"].iterdir()
        if (p.suffix == ".py" and not p.stem.startswith("__")) or (p / "__init__.py").is_file()
    }
    assert top - NOT_CODE - layered_names() == set()


def strongly_connected(edges: Mapping[str, Set[str]]) -> Iterator[list[str]]:
    """Tarjan's strongly connected components with more than one member (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
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
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    yield sorted(component)


def test_strongly_connected_finds_a_cycle_and_nothing_in_a_chain() -> None:
    assert list(strongly_connected({"a": {"b"}, "b": {"c"}, "c": set()})) == []
    assert list(strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [
        ["a", "b", "c"]
    ]


def test_no_module_imports_itself_round_a_cycle() -> None:
    """Lazy imports inside functions count: a command importing the group that imports it is one."""
    graph = grimp.build_graph(*PACKAGES)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert list(strongly_connected(edges)) == []


def python_files() -> Iterator[Path]:
    for folder in PACKAGES.values():
        yield from (p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_modules_stay_under_the_size_guide() -> None:
    too_long = {
        str(path.relative_to(ROOT if "egress_watch_tui" not in path.parts else ROOT / "tui")): n
        for path in python_files()
        if (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert set(too_long) <= OVER_THE_LIMIT, too_long


@pytest.mark.parametrize(
    "init",
    sorted(
        str(p.relative_to(ROOT))
        for p in PACKAGES["egress_watch"].glob("*/__init__.py")
        if p.parent.name != "data"
    ),
)
def test_each_stage_says_what_it_takes_and_gives(init: str) -> None:
    docstring = ast.get_docstring(ast.parse((ROOT / init).read_text("utf-8")))
    assert docstring is not None, init
    assert " in" in docstring, docstring
    assert " out" in docstring, docstring
