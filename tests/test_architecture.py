"""Structural invariants: no import circle between zshbench's rooms, the leaderboard's tables never read the code,
no module over 450 lines without a reason written at its top."""

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = {
    "zshbench": "zshbench",
    "methods": "zshbench.methods",
    "datasets": "zshbench.datasets",
    "protocols": "zshbench.protocols",
}


def _module(path: Path) -> str:
    rel = path.relative_to(REPO)
    pkg = ROOTS[rel.parts[0]]
    parts = list(rel.with_suffix("").parts[1:])
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([pkg, *parts])


def _room(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _files():
    for folder in ROOTS:
        yield from (p for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level and node.module.startswith("zshbench"):
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("zshbench")}
    return out


def test_no_import_circle_between_rooms():
    edges: dict[str, set[str]] = defaultdict(set)
    for p in _files():
        here = _room(_module(p))
        edges[here] |= {_room(m) for m in _imports(p) if _room(m) not in (here, "zshbench")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            assert state.get(v) != 1, "import circle: " + " -> ".join(stack[stack.index(v) :] + [v])
            if not state.get(v):
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(edges):
        if not state.get(u):
            visit(u)


def test_leaderboard_tables_are_a_function_of_records():
    """Only the check module reads the code (method versions); tables, rendering, reports and figures never
    import the registry or build a hasher."""
    for name in ("tables", "render", "report", "reported", "figures"):
        imports = _imports(REPO / "zshbench" / "leaderboard" / f"{name}.py")
        assert not {
            m
            for m in imports
            if m.startswith(("zshbench.registry", "zshbench.runner", "zshbench.hasher", "zshbench.methods"))
        }, name


def test_modules_stay_small_or_say_why():
    big = []
    for p in _files():
        lines = p.read_text().splitlines()
        if len(lines) > 450 and "longer than 450 lines because" not in "\n".join(lines[:40]):
            big.append(f"{p.relative_to(REPO)} ({len(lines)} lines)")
    assert not big, "split these modules or write why at their top: " + ", ".join(big)
