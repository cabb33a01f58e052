"""Every public module says what it offers (`__all__`), every name it lists exists, and the public API documents
its arguments."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _modules() -> list[Path]:
    """analyzers/ and explorer/, less the Streamlit pages (scripts that run when imported), `__main__` and
    packages whose `__init__` holds only a docstring (nothing to offer)."""
    found = []
    for path in sorted([*ROOT.glob("analyzers/**/*.py"), *ROOT.glob("explorer/**/*.py")]):
        if "pages" in path.parts or path.name == "__main__.py" or path.name.startswith("_") and path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.name == "__init__.py" and all(isinstance(node, ast.Expr) for node in tree.body):
            continue
        found.append(path)
    return found


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_public_module_has_all():
    assert [str(p.relative_to(ROOT)) for p in _modules() if "__all__" not in p.read_text(encoding="utf-8")] == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _name(p))
def test_every_name_in_all_exists(path: Path):
    module = importlib.import_module(_name(path))
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


@pytest.mark.parametrize("function", ["analyzers.analyze", "analyzers.training.analyze.analyze_training",
                                      "analyzers.InputSpec"])
def test_the_public_api_documents_every_argument(function: str):
    owner, _, name = function.rpartition(".")
    target = getattr(importlib.import_module(owner), name)
    doc = inspect.getdoc(target) or ""
    arguments = [p for p in inspect.signature(target).parameters if p != "self"]
    assert [a for a in arguments if f"\n    {a}: " not in "\n" + doc.split("Args:", 1)[-1]] == []
