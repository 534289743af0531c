"""Print plait's package-level import graph and fail on any import cycle.

Every ``import`` in ``src/plait`` counts, including those inside functions (a lazy
import still ties two modules together) and those under ``if TYPE_CHECKING:`` (a
cycle of type names is still two modules that each need the other). Two graphs are
checked:

- packages (``plait.index``, ``plait.io``, ...; a top-level module such as
  ``plait.embed`` is its own node): printed, one line per package, and no cycle allowed;
- modules: no cycle allowed either (``plait.index.ann`` <-> ``plait.index.vector`` would
  pass the package check).

    python scripts/import_graph.py            # prints the graph; exit 1 on a cycle
    python scripts/import_graph.py --quiet    # cycles only
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
Edge = tuple[str, str, str]  # importer module, imported module, "file:line"


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file for every module of the plait package."""
    out = {}
    for f in sorted((root / "plait").rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def _base(name: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    keep = len(parts) - node.level + (1 if is_package else 0)
    return ".".join(parts[:keep] + ([node.module] if node.module else []))


def edges(mods: dict[str, Path]) -> list[Edge]:
    """(importer, imported, where) for every import of one plait module by another."""
    out: list[Edge] = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        for node in _imports(tree):
            where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = _base(name, node, is_package)
                for a in node.names:  # a submodule if there is one, else the package itself
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in mods else base)
            for t in targets:
                while t and t not in mods:  # "import plait.index.ann as x" and the like
                    t = t.rpartition(".")[0]
                if t and t != name and t.startswith("plait") and (name, t, where) not in out:
                    out.append((name, t, where))
    return out


def package(module: str) -> str:
    """``plait.index.ann`` -> ``plait.index``; ``plait.embed`` -> ``plait.embed``."""
    return ".".join(module.split(".")[:2])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.append(x)
                    if x == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quiet", action="store_true", help="print cycles only")
    args = ap.parse_args(argv)
    mods = modules()
    es = edges(mods)
    by_module: dict[str, set[str]] = defaultdict(set)
    by_package: dict[str, set[str]] = defaultdict(set)
    for a, b, _ in es:
        by_module[a].add(b)
        if package(a) != package(b):
            by_package[package(a)].add(package(b))
    if not args.quiet:
        for p in sorted({package(m) for m in mods}):
            print(f"{p} -> {', '.join(sorted(by_package.get(p, ()))) or '(nothing)'}")
    bad = 0
    for level, graph, key in (("package", by_package, package), ("module", by_module, str)):
        for comp in cycles(graph):
            bad += 1
            members = set(comp)
            print(f"\nimport cycle between {level}s: {' <-> '.join(comp)}", file=sys.stderr)
            for a, b, where in es:
                if key(a) in members and key(b) in members and key(a) != key(b):
                    print(f"  {where}: {a} imports {b}", file=sys.stderr)
    if bad:
        print(f"\n{bad} import cycle(s)", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"\n{len(mods)} modules, {len(es)} imports, no cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
