"""The engine stays model-agnostic: nothing under analyzers/ imports explorer, streamlit or plotly."""

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
FORBIDDEN = ("explorer", "streamlit", "plotly")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_analyzers_never_import_the_app_side():
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN)
        for path in (ROOT / "analyzers").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make app" in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1] == "make test"
