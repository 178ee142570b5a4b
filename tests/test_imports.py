"""The house holds: no import cycles among the project's modules, read from the source.

Every `import` and `from ... import` of zoo/ and exporters/, at module level and inside
functions alike (an import inside a function still ties the two modules together), is mapped
to the project module it names; a cycle in that graph fails the test, naming its modules. An
import of `zoo.a.b` runs `zoo/__init__.py` and `zoo/a/__init__.py` first, but those package
imports are not edges: a package's `__init__` that imports its submodules would otherwise make
every submodule's import of a sibling a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("zoo", "exporters")


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(name: str, path: Path, modules) -> set[str]:
    """The project modules that module `name` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            # `from zoo import data` imports the module zoo.data; `from zoo.names import Task`
            # imports zoo.names.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 50 and "zoo.models" in graph["exporters.keras_runtime"]  # the reader sees the imports
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_deploy_imports_nothing_above_it():
    """zoo.deploy runs where TensorFlow and Keras are not installed: it imports only the bottom
    layer (names, errors, files, portable random numbers), never the models, training, the exporters or the API."""
    graph = import_graph()
    allowed = {"zoo.names", "zoo.errors", "zoo.fileio", "zoo.log", "zoo.portable_random"}
    for name, imported in graph.items():
        if name.startswith("zoo.deploy"):
            above = {m for m in imported if not m.startswith("zoo.deploy") and m not in allowed}
            assert not above, f"{name} imports {sorted(above)}"
