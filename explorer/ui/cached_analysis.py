"""Analyses cached across reruns and sessions: the first look at a model costs one meta-device run, later
reruns (a widget change, a click on the table) cost nothing.

A `ModelRequest` names a zoo model or a library model (`torchvision:NAME`, `timm:NAME`: only names the library
lists, so the app never runs code a user typed); `built_model` builds either on the meta device, and every view
(analysis, training step, fvcore check, transfer stages) starts from it.

One process-wide `ByteBudgetCache` keeps one immutable `ModelAnalysis` per (model, options, input, batch) or per
spec text and batch, bounded by its estimated size (`ANALYSIS_BUDGET_BYTES`) as well as by count: a 1,999-layer
spec is about 7 MB, a LeNet a few kB. Its table is shared, so callers copy before changing it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch
from torch import nn

from analyzers import Analysis, analyze
from analyzers.counting.inputs import Inputs
from analyzers.devices import Precision
from analyzers.reports.table import to_dataframe
from explorer.ui.byte_budget_cache import ByteBudgetCache
from explorer.zoo import build_model

if TYPE_CHECKING:
    from explorer.catalogue import CatalogueModel

__all__ = [
    "ANALYSES", "ANALYSIS_BUDGET_BYTES", "BuiltModel", "MAX_ANALYSES", "ModelAnalysis", "ModelRequest", "Options",
    "RECORD_BYTES", "analyze_model", "analyze_spec_text", "built_model", "default_input", "estimated_bytes",
    "library_default_size", "library_model",
]

Options = tuple[tuple[str, Any], ...]  # sorted (name, value) pairs: hashable, so they can key the cache


@dataclass(frozen=True)
class ModelRequest:
    """Everything that decides an analysis; equal requests share one cached result.

    `name` is a zoo name or a library reference (`timm:convnext_tiny`); `input_size` is one image (C×H×W, a clip
    C×T×H×W) without the batch, or None for a library model's own inputs; `dtype` is the storage precision of
    weights and activations (the CLI's `--dtype`); `on_cpu` runs a data-dependent model once on random data."""

    name: str
    input_size: tuple[int, ...] | None
    batch_size: int = 1
    options: Options = ()
    dtype: str = Precision.FP32.value
    on_cpu: bool = False

    @staticmethod
    def of(name: str, input_size: tuple[int, ...] | None, batch_size: int = 1, *, dtype: str = "fp32",
           on_cpu: bool = False, **options: Any) -> ModelRequest:
        size = tuple(int(d) for d in input_size) if input_size is not None else None
        return ModelRequest(name, size, int(batch_size), tuple(sorted(options.items())), str(Precision(dtype)),
                            bool(on_cpu))

    @property
    def is_library_model(self) -> bool:
        return ":" in self.name


@dataclass(frozen=True)
class BuiltModel:
    """A request's module on the meta device and the inputs one forward takes (batch included)."""

    module: nn.Module
    inputs: Inputs | None  # a library model's inputs; None: one image of `input_size`
    input_size: tuple[int, ...] | None  # one image or clip without the batch; None where the input is not one


@functools.lru_cache(maxsize=8)
def library_model(ref: str) -> CatalogueModel:
    """A torchvision / timm model by its library name, built on meta once per process (the last few are kept;
    an analysis leaves a model exactly as it found it, so sessions can share one)."""
    from explorer.catalogue import build

    return build(ref)


def library_default_size(model: CatalogueModel) -> tuple[int, ...] | None:
    """The image size a library model's default inputs hold (C×H×W, a clip C×T×H×W), also for a detection
    model's list of images or an optical-flow pair; None for token inputs."""
    if model.input_size is not None:
        return tuple(model.input_size)
    inputs = model.inputs
    first = inputs[0] if isinstance(inputs, tuple) and inputs else inputs
    if isinstance(first, list) and first:
        return tuple(first[0].shape)
    shape = getattr(first, "shape", None)
    return tuple(shape[1:]) if shape is not None and len(shape) >= 4 else None


def built_model(request: ModelRequest) -> BuiltModel:
    """Build the request's model on the meta device (raises the zoo's or the catalogue's one-line errors)."""
    from analyzers.counting.inputs import with_batch
    from explorer.catalogue import inputs_at

    if request.is_library_model:
        model = library_model(request.name)
        inputs = inputs_at(model, request.input_size) if request.input_size is not None else model.inputs
        size = request.input_size if request.input_size is not None else model.input_size
        return BuiltModel(model.module, with_batch(inputs, request.batch_size), size)
    model = build_model(request.name, device="meta", **dict(request.options))
    return BuiltModel(model.module, None, request.input_size or model.input_size)


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
        built = built_model(request)
        dtype = Precision(request.dtype).torch_dtype
        device = "cpu" if request.on_cpu else "meta"
        if built.inputs is not None:
            analysis = analyze(built.module, inputs=built.inputs, dtype=dtype, model_name=request.name, device=device)
        else:
            analysis = analyze(built.module, built.input_size, request.batch_size, dtype=dtype,
                               model_name=request.name, device=device)
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
