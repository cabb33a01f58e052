"""The layout shows the architecture: the engine stays model-agnostic, its subpackages import only downwards, and no
module imports another that (directly or not) imports it back — also inside functions, where cycles hide."""

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).parents[1]
FORBIDDEN = ("explorer", "streamlit", "plotly")

# Each layer of analyzers/ may import its own layer and the layers before it, never a later one. The plain modules
# at the top of the package (errors, records, numbers, devices, ops) are layer 0, the base everything stands on.
LAYERS = (
    frozenset(),
    frozenset({"shapes"}),
    frozenset({"counting"}),
    frozenset({"training"}),
    frozenset({"predict"}),
    frozenset({"bench", "reports", "distributed"}),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def project_modules() -> dict[str, Path]:
    return {module_name(p): p for top in ("analyzers", "explorer") for p in (ROOT / top).rglob("*.py")}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Nodes under `if TYPE_CHECKING:`: read by type checkers, never run, so no cycle at import time."""
    return {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)}


def imported_names(path: Path) -> set[str]:
    """Every module an import statement names (top-level or inside a function): `from package import submodule`
    names the submodule, `from module import name` the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    modules = project_modules()
    names = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in modules else node.module)
    return names


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Project module → the project modules it imports."""
    modules = project_modules()
    return {name: frozenset(imported_names(path) & modules.keys()) for name, path in modules.items()}


def cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    for start in graph:
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
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def layer_of(module: str) -> int | None:
    """The layer of an analyzers/ module (0 for the plain modules at its top), None outside analyzers/ or where
    a subpackage is in no layer."""
    parts = module.split(".")
    if parts[0] != "analyzers" or len(parts) < 2:
        return None
    if len(parts) == 2 and not (ROOT / "analyzers" / parts[1]).is_dir():
        return 0
    return next((i for i, layer in enumerate(LAYERS) if parts[1] in layer), None)


def test_analyzers_never_import_the_app_side():
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in imported_names(path) if name.split(".")[0] in FORBIDDEN)
        for path in (ROOT / "analyzers").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_analyzers_module_belongs_to_a_layer():
    unplaced = [m for m in project_modules() if m.startswith("analyzers.") and layer_of(m) is None]
    assert unplaced == []


def test_engine_layers_import_only_downwards():
    """counting/ never imports training/, predict/, bench/ or reports/; shapes/ never imports counting/; and so on."""
    upward = sorted((module, imported) for module, imports in import_graph().items() for imported in imports
                    if layer_of(module) is not None and layer_of(imported) is not None
                    and layer_of(imported) > layer_of(module))
    assert upward == []


def test_no_import_cycles_anywhere():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}) == [
        ["a", "b", "c"]]


def test_figures_are_pure():
    """Figure builders turn an analysis into a Plotly figure; only pages and UI parts talk to Streamlit."""
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in imported_names(p) if n.split(".")[0] == "streamlit")
                 for p in (ROOT / "explorer" / "figures").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make app" in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1] == "make test"
