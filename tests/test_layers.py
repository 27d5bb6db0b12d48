"""The layout holds: no import cycle anywhere in src/parsecrm (module-level and function-level imports alike; only
`if TYPE_CHECKING:` imports, which never run, are left out), and the pure layers import nothing above them."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "parsecrm"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        found.extend(_imports(node))
    return found


def edges(name: str, path: Path) -> set[str]:
    """The parsecrm modules `name` imports when it runs."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in _imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in MODULES)
            continue
        base = package
        for _ in range(node.level - 1):
            base = base.rsplit(".", 1)[0]
        target = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
        submodules = {f"{target}.{alias.name}" for alias in node.names} & MODULES.keys()
        out |= submodules  # `from . import x` where x is a module
        if target in MODULES and len(submodules) < len(node.names):  # names defined in `target` itself
            out.add(target)
    out.discard(name)
    return out


GRAPH = {name: edges(name, path) for name, path in MODULES.items()}


def cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
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

    for v in GRAPH:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert len(GRAPH) > 50
    assert cycles() == []


def reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for w in GRAPH[todo.pop()]:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_pure_layers_import_nothing_above_them() -> None:
    """query/ is pure (values, errors, the schema model); security/ and storage/ sit below objects and the HTTP
    edge; cloud/ (the hook API) knows nothing of the paths that run it."""
    above = ("parsecrm.protocol", "parsecrm.objects", "parsecrm.app", "parsecrm.crm")
    for layer in ("parsecrm.query", "parsecrm.security", "parsecrm.storage", "parsecrm.cloud"):
        for name in [m for m in MODULES if m == layer or m.startswith(layer + ".")]:
            bad = sorted(m for m in reachable(name) if m.startswith(above))
            assert not bad, f"{name} reaches {bad}"
    query_deps = {m for n in MODULES if n.startswith("parsecrm.query.") for m in reachable(n)}
    assert not {m for m in query_deps if m.startswith(("parsecrm.security", "parsecrm.backend"))}
