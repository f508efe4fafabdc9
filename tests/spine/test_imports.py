"""The import graph (every `import`, lazy ones included, read with ast): no cycle; the spine (components/) imports
no layer; a layer imports only the spine (which holds every layer's outputs type, components/outputs.py) and its
own package; only the program (stacks/) imports the composition (components/platform.py), which loads the layers
by name."""

from __future__ import annotations

import ast

from stacks.handoffs import project_modules

LAYER_PACKAGES = ("gpu_nodepools", "networking", "storage", "serving")
SPINE = "components"
COMPOSITION = "components.platform"

# Spine modules that use a pure library living in a layer package: spec validation needs the library's data and
# arithmetic, not the layer. Each target is checked to be pure (it and everything it imports register nothing:
# no pulumi, no PlatformContext), so it cannot close a cycle through the composition. Moving these libraries into
# the spine is a separate change (serving/planner is being reworked on another branch).
SPINE_USES_LIBRARY: dict[tuple[str, str], str] = {
    # `sizing: auto` models are sized by the capacity planner before the rules check them
    ("components.loader", "serving.planner.sizing"): "capacity planner (pure, no Pulumi)",
    # the acceptance-thresholds rule asks whether a GPU has burn-in thresholds (stdlib-only data)
    ("components.rules.acceptance", "gpu_nodepools.thresholds"): "burn-in thresholds (data)",
    # the storage rules check capacity, cold start and CSI support with the storage layer's own arithmetic
    ("components.rules.storage", "storage.budget"): "storage budget arithmetic",
    ("components.rules.storage", "storage.profiles"): "CSI profiles (data and pure builders)",
}


def import_graph(sources: dict[str, str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """({module: project modules it imports}, {module: other top-level modules it imports})."""
    graph: dict[str, set[str]] = {}
    external: dict[str, set[str]] = {}
    for module, source in sources.items():
        inner, outer = graph.setdefault(module, set()), external.setdefault(module, set())
        for node in ast.walk(ast.parse(source)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0 and node.module, f"{module}: relative import"
                names = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in sources else node.module
                    for a in node.names
                ]
            for name in names:
                (inner if name in sources else outer).add(name if name in sources else name.split(".")[0])
    return graph, external


def _package(module: str) -> str:
    return module.split(".")[0]


def spine_violations(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{m} imports {t}"
        for m, targets in sorted(graph.items())
        if _package(m) == SPINE
        for t in sorted(targets)
        if _package(t) in LAYER_PACKAGES and (m, t) not in SPINE_USES_LIBRARY
    ]


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{m} imports {t}"
        for m, targets in sorted(graph.items())
        if _package(m) in LAYER_PACKAGES
        for t in sorted(targets)
        if t == COMPOSITION or _package(t) not in (SPINE, _package(m))
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def closure(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        if (m := todo.pop()) not in seen:
            seen.add(m)
            todo.extend(graph.get(m, ()))
    return seen


SOURCES = {m: p.read_text(encoding="utf-8") for m, p in project_modules().items()}
GRAPH, EXTERNAL = import_graph(SOURCES)


def test_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def test_the_spine_imports_no_layer() -> None:
    assert spine_violations(GRAPH) == []


def test_spine_uses_of_layer_libraries_are_pure_and_current() -> None:
    for (importer, library), _why in SPINE_USES_LIBRARY.items():
        assert library in GRAPH[importer], f"{importer} no longer imports {library}: drop the entry"
        reach = closure(GRAPH, library)
        assert not any(m in reach for m in ("components.context", COMPOSITION)), library
        assert not [m for m in reach if any(x.startswith("pulumi") for x in EXTERNAL[m])], library


def test_layers_import_only_the_spine_and_their_own_package() -> None:
    assert layer_violations(GRAPH) == []


def test_only_the_program_imports_the_composition() -> None:
    assert sorted(m for m, targets in GRAPH.items() if COMPOSITION in targets) == ["stacks.program"]


def test_the_checks_fail_on_the_round_one_shapes() -> None:
    # the circle of issue 24 and a layer importing another layer's implementation
    circle = {
        "components.platform": {"components.providers"},
        "components.providers": {"gpu_nodepools.eks"},
        "gpu_nodepools.eks": {"components.kms"},
        "components.kms": {"components.platform"},
        "serving.graphs": {"networking.profile", "components.outputs"},
    }
    assert cycles(circle) == [["components.kms", "components.platform", "components.providers", "gpu_nodepools.eks"]]
    assert spine_violations(circle) == ["components.providers imports gpu_nodepools.eks"]
    assert layer_violations(circle) == ["serving.graphs imports networking.profile"]
    assert layer_violations({"serving.keda": {"components.platform"}}) == ["serving.keda imports components.platform"]
