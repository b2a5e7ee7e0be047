"""The layout keeps its promises: rooms under 700 lines, functions under 100, imports one way (no cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "loyalty_sim"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = (path, ast.parse(path.read_text()))
    return out


def test_no_module_over_700_lines_and_no_function_over_100():
    long = []
    for name, (path, tree) in _modules().items():
        n = len(path.read_text().splitlines())
        if n > 700:
            long.append(f"{name}: {n} lines")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 100:
                long.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not long, long


def _top_level_imports(name: str, tree: ast.Module, known: set[str], is_package: bool) -> set[str]:
    """Package modules imported at module level (imports inside functions are deliberate late imports)."""
    base = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                target = base[: len(base) - node.level + 1] + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            mod = ".".join(target)
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                found.add(sub if sub in known else mod)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in known and m != name}


def test_import_graph_has_no_cycles():
    mods = _modules()
    known = set(mods)
    graph = {name: _top_level_imports(name, tree, known, path.name == "__init__.py")
             for name, (path, tree) in mods.items()}
    # a package's __init__ re-exporting its own submodules is not an upward import
    for name in graph:
        graph[name] = {m for m in graph[name] if not (m.startswith(name + ".") and mods[name][0].name == "__init__.py")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt):] + [node, nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, stack + [node]):
                return True
        state[node] = 2
        return False

    for name in sorted(graph):
        if state.get(name) is None and visit(name, []):
            break
    assert not cycle, " -> ".join(cycle)
