"""Analyses cached across reruns and sessions: the first look at a model costs one meta-device run, later
reruns (a widget change, a click on the table) cost nothing.

One process-wide `ByteBudgetCache` keeps one immutable `ModelAnalysis` per (model, options, input, batch) or per
spec text and batch, bounded by its estimated size (`ANALYSIS_BUDGET_BYTES`) as well as by count: a 1,999-layer
spec is about 7 MB, a LeNet a few kB. Its table is shared, so callers copy before changing it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from analyzers import Analysis, analyze
from analyzers.reports.table import to_dataframe
from explorer.ui.byte_budget_cache import ByteBudgetCache
from explorer.zoo import build_model

Options = tuple[tuple[str, Any], ...]  # sorted (name, value) pairs: hashable, so they can key the cache


@dataclass(frozen=True)
class ModelRequest:
    """Everything that decides an analysis; equal requests share one cached result."""

    name: str
    input_size: tuple[int, ...]
    batch_size: int = 1
    options: Options = ()

    @staticmethod
    def of(name: str, input_size: tuple[int, ...], batch_size: int = 1, **options: Any) -> ModelRequest:
        return ModelRequest(name, tuple(int(d) for d in input_size), int(batch_size), tuple(sorted(options.items())))


@dataclass(frozen=True)
class ModelAnalysis:
    """An analysis with its per-layer table (the report's column contract) and a key naming what was analysed."""

    key: str  # stable across reruns: keys the figure cache
    analysis: Analysis
    table: pd.DataFrame


# What one layer record of a kept analysis costs in memory, beyond its row of the table: measured with
# tracemalloc on a 1,999-record spec (conv + ReLU lines), 6.1 MB for the analysis alone, ≈ 3.0 kB a record;
# rounded up so that the estimate errs on the large side.
RECORD_BYTES = 3_200
ANALYSIS_BUDGET_BYTES = 256 * 2**20  # all cached analyses of the process together
MAX_ANALYSES = 96


def estimated_bytes(result: ModelAnalysis) -> int:
    """An analysis's records at `RECORD_BYTES` each plus its table as pandas measures it."""
    return len(result.analysis.records) * RECORD_BYTES + int(result.table.memory_usage(deep=True).sum())


ANALYSES: ByteBudgetCache[ModelAnalysis] = ByteBudgetCache(
    budget_bytes=ANALYSIS_BUDGET_BYTES, max_entries=MAX_ANALYSES, size_of=estimated_bytes
)


def analyze_model(request: ModelRequest) -> ModelAnalysis:
    """Build the zoo model on the meta device and analyse it; raises the zoo's or the analyzer's user errors."""

    def compute() -> ModelAnalysis:
        model = build_model(request.name, device="meta", **dict(request.options))
        analysis = analyze(model.module, request.input_size, request.batch_size, model_name=request.name)
        return ModelAnalysis(repr(request), analysis, to_dataframe(analysis))

    return ANALYSES.get(("model", request), compute)


def analyze_spec_text(text: str, batch_size: int = 1) -> ModelAnalysis:
    """Parse and build a user's spec (never executed: our parser reads it) and analyse it on the meta device."""
    from explorer.spec import load_spec

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    key = f"spec:{digest[:16]}:{batch_size}"

    def compute() -> ModelAnalysis:
        with torch.device("meta"):
            spec = load_spec(text)
        analysis = analyze(spec.module, spec.input_size, batch_size, model_name=spec.name)
        return ModelAnalysis(key, analysis, to_dataframe(analysis))

    return ANALYSES.get(("spec", digest, batch_size), compute)


def default_input(name: str, **options: Any) -> tuple[int, int, int]:
    from explorer.zoo import get_model_info

    return get_model_info(name).default_input(**options)
