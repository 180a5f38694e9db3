"""The architecture, checked: no import circles (lazy imports included), and the library does
not reach into the viewer. (That the Qt-free parts run with Qt blocked: test_environment.py,
test_viewer_core.py.)"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGES = ("recorder", "viewer")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_only(tree: ast.AST) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``: imports for annotations, never run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports anywhere in its code (functions included;
    annotation-only imports under ``if TYPE_CHECKING:`` left out, as they never run)."""
    modules = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # `from . import x` imports the module x when there is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not _is_parent_package(target, name):
                    graph[name].add(target)
    return graph


def _is_parent_package(target: str, name: str) -> bool:
    # importing a submodule runs its packages' __init__ first; that is not a circle of ours
    return name.startswith(target + ".")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circles_lazy_imports_included():
    graph = import_graph()
    assert graph["recorder._state"], "the graph reads imports"  # a guard against an empty graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_recorder_does_not_import_the_viewer():
    # but `sessiontrail view`, which opens it (inside the command, so the library never does)
    graph = import_graph()
    graph["recorder.cli"].discard("viewer.app")
    offenders = {
        m: sorted(t for t in deps if t.startswith("viewer")) for m, deps in graph.items() if m.startswith("recorder")
    }
    assert not any(offenders.values()), offenders


def test_the_command_starts_without_the_recorder_and_the_api_loads_when_used():
    """``import recorder`` (which every ``sessiontrail`` command does) loads no recording
    machinery; each name of the API, and each module as an attribute, loads when first used."""
    from conftest import run_script

    out = run_script(
        """
        import sys
        import recorder, recorder.cli
        heavy = sorted(m for m in ("recorder._api", "recorder._state", "recorder._writer", "recorder.decorators",
                                   "recorder.folder", "recorder.transfer", "asyncio") if m in sys.modules)
        print("loaded:", heavy)
        from recorder import agent, tool
        assert callable(recorder.init) and recorder.record is recorder.record and callable(agent)
        assert "recorder._state" in sys.modules and recorder._state.config is None
        assert recorder.prune.parse_age("2d") == 2 * 86400
        try:
            recorder.no_such_name
        except AttributeError as exc:
            print("missing:", exc)
        """
    ).stdout
    assert "loaded: []" in out, out
    assert "missing: module 'recorder' has no attribute 'no_such_name'" in out, out
