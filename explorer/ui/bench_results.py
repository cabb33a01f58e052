"""Benchmark results shipped with the app (`assets/benchmarks/*.csv`) and uploaded ones, validated by the schema.

An upload is parsed once: the result is cached under the SHA-256 of its bytes, so a rerun (a widget change) or
the same file chosen again costs a hash, not a parse (a 5 MB file takes about a second to validate).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from analyzers.bench.results_file import ResultsFileError
from analyzers.bench.schema import load_results

__all__ = [
    "BENCH_DIR", "BENCH_DIR_VARIABLE", "LoadedResults", "ParsedUpload", "bench_dir", "parse_upload", "shipped_results",
]

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
        except ResultsFileError as exc:
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


@dataclass(frozen=True)
class ParsedUpload:
    """An uploaded file's validated rows, or the one line saying why it was refused."""

    results: pd.DataFrame | None
    problem: str | None


@st.cache_data(show_spinner="Reading the results file…", max_entries=4)
def _parse(digest: str, _data: bytes) -> ParsedUpload:  # `_data` is not hashed: the digest stands for it
    try:
        return ParsedUpload(load_results(_data), None)
    except ResultsFileError as exc:
        return ParsedUpload(None, str(exc))


def parse_upload(data: bytes) -> ParsedUpload:
    """The rows of an uploaded results CSV, parsed once per distinct content."""
    return _parse(hashlib.sha256(data).hexdigest(), data)
