"""The house as the README draws it: layers that point one way, no import circle, every module named.

The import graph is read from the source (every ``import`` statement, those inside functions and
``if TYPE_CHECKING:`` blocks included), so a lazy import cannot hide an upward arrow.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "carecircle"

# Lowest first. A module may import from its own layer and the layers below it, never above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("carecircle._version", "carecircle.safe"),
    ("carecircle.errors",),
    (
        "carecircle.atomic",
        "carecircle.guard",
        "carecircle.rules",
        "carecircle.locate",
        "carecircle.engine",
        "carecircle.demo",
    ),
    ("carecircle.scenario",),
    ("carecircle.sources", "carecircle.kit"),
    ("carecircle.planning",),
    ("carecircle.quality", "carecircle.recommend"),
    ("carecircle.pipeline",),
    ("carecircle.preflight",),
    ("carecircle.review",),
    ("carecircle.outputs",),
    ("carecircle.batch", "carecircle.api"),
    ("carecircle.cli",),
    ("carecircle",),  # the package's face: lazy names of every layer
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _rank(module: str) -> int:
    best, rank = -1, -1
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    assert rank >= 0, f"{module} is in no layer of LAYERS; add it"
    return rank


def _target(name: str) -> str | None:
    """The module an import of ``name`` loads (the nearest existing module or package)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] != "carecircle":
                    continue
                target = _target(name)
                if target and target != module:
                    graph.add_edge(module, target)
    return graph


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _rank(module)


def test_no_import_circle() -> None:
    cycles = list(nx.simple_cycles(import_graph()))
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles)


def test_no_upward_import() -> None:
    upward = [
        f"{a} (layer {_rank(a)}) imports {b} (layer {_rank(b)})"
        for a, b in import_graph().edges
        if _rank(b) > _rank(a)
    ]
    assert not upward, "\n".join(upward)


def test_the_location_models_stand_on_errors_alone() -> None:
    """``carecircle.locate`` is geometry-free: cost matrices in, results out."""
    graph = import_graph()
    outside = {
        (a, b)
        for a in graph
        if a.startswith("carecircle.locate")
        for b in graph.successors(a)
        if not (b.startswith("carecircle.locate") or b == "carecircle.errors")
    }
    assert not outside


def test_the_checker_sees_a_planted_upward_import(tmp_path: Path) -> None:
    """The graph reader catches an import inside a function (the test could otherwise pass
    because it reads nothing)."""
    graph = import_graph()
    assert graph.has_edge("carecircle.cli", "carecircle.review")  # a lazy import, in a function
    assert graph.has_edge("carecircle.pipeline", "carecircle.engine")
    assert _rank("carecircle.pipeline") > _rank("carecircle.engine")


# --- the README's architecture section -------------------------------------------------------------


def readme_tree() -> set[str]:
    """The paths the architecture block of README.md names under ``carecircle/``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Architecture", 1)[1]
    block = section.split("```", 2)[1]
    paths: set[str] = set()
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        match = re.match(r"^( *)([\w.]+/?)\s", line + " ")
        if not match or not re.search(r"\.py$|/$", match.group(2)):
            continue
        indent, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "".join(n for _, n in stack) + name
        paths.add(path.rstrip("/"))
        if name.endswith("/"):
            stack.append((indent, name))
    return paths


def test_readme_names_every_module() -> None:
    named = readme_tree()
    assert "carecircle/pipeline.py" in named  # the parser reads the block at all
    missing = []
    for path in MODULES.values():
        rel = path.relative_to(ROOT)
        if rel.name == "__init__.py":
            if rel.parent != Path("carecircle") and str(rel.parent) not in named:
                missing.append(f"{rel.parent}/")
        elif str(rel) not in named and str(rel.parent) not in _whole_packages(named):
            missing.append(str(rel))
    assert not missing, "README's architecture section does not name: " + ", ".join(missing)


def _whole_packages(named: set[str]) -> set[str]:
    """Packages the README names as a whole (no module of theirs listed): their modules are
    covered by the package line."""
    return {p for p in named if not any(q.startswith(p + "/") for q in named)}


@pytest.mark.parametrize("module", ["carecircle.rules", "carecircle.locate", "carecircle.review"])
def test_the_new_layers_exist(module: str) -> None:
    assert module in MODULES
