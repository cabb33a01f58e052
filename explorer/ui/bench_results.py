"""Benchmark results shipped with the app (`assets/benchmarks/*.csv`), validated by the results schema."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from analyzers.bench_schema import BenchSchemaError, load_results

BENCH_DIR = Path(__file__).resolve().parents[2] / "assets" / "benchmarks"
BENCH_DIR_VARIABLE = "EXPLORER_BENCH_DIR"  # another folder of results CSVs (tests, or a user's own collection)


def bench_dir() -> Path:
    return Path(os.environ.get(BENCH_DIR_VARIABLE) or BENCH_DIR)


@dataclass(frozen=True)
class LoadedResults:
    """Every valid file's rows concatenated (with a `source` column), and one line per file that failed."""

    results: pd.DataFrame | None
    problems: tuple[str, ...]
    files: tuple[str, ...]


def _signature(directory: Path) -> tuple[tuple[str, float, int], ...]:
    return tuple((p.name, p.stat().st_mtime, p.stat().st_size) for p in sorted(directory.glob("*.csv")))


@st.cache_data(show_spinner=False, max_entries=8)
def _load(directory: str, signature: tuple[tuple[str, float, int], ...]) -> LoadedResults:
    frames, problems, files = [], [], []
    for name, _, _ in signature:
        try:
            frame = load_results(Path(directory) / name)
        except BenchSchemaError as exc:
            problems.append(f"{name}: {exc}")
            continue
        frames.append(frame.assign(source=name))
        files.append(name)
    results = pd.concat(frames, ignore_index=True) if frames else None
    return LoadedResults(results, tuple(problems), tuple(files))


def shipped_results(directory: Path | None = None) -> LoadedResults:
    """The results CSVs in `directory` (default: `bench_dir()`), re-read only when a file changes."""
    directory = directory or bench_dir()
    if not directory.is_dir():
        return LoadedResults(None, (), ())
    return _load(str(directory), _signature(directory))
