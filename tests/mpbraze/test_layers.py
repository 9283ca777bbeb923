"""The import graph stays a graph a reader can follow: no module imports itself back through
others, and our own code is imported at the top of a module, never inside a function to dodge
a circle. The layers themselves are import-linter's contracts (``[tool.importlinter]``)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mpbraze", "connections", "mapping", "devtools")
# Registration, not dependency: Django finds an app's models and admins through these.
REGISTRATION = {("connections.models", ".models"), ("connections.admin", ".admin")}
# Imports that must wait for something other than a circle, each with its reason.
DEFERRED = {
    # AppConfig.ready: the system checks read models, which exist once the apps are loaded.
    ("connections/apps.py", "connections.system_checks"),
}


def _graph() -> dict[str, set[str]]:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    modules = {m for m in graph.modules if ".migrations" not in m}
    return {
        module: {
            imported
            for imported in graph.find_modules_directly_imported_by(module)
            if imported in modules
            and not any(module == a and imported.endswith(b) for a, b in REGISTRATION)
        }
        for module in modules
    }


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_module_imports_itself_back_through_others() -> None:
    assert _circles(_graph()) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_our_code_is_imported_at_the_top_of_modules() -> None:
    inside = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for statement in ast.walk(node):
                    for module in _own_imports(statement):
                        line = getattr(statement, "lineno", "?")
                        if (name, module) not in DEFERRED:
                            inside.append(f"{name}:{line} {module}")
    assert inside == []


def _own_imports(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.module:
        names = [node.module]
    elif isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        return []
    return [name for name in names if name.split(".")[0] in PACKAGES]
