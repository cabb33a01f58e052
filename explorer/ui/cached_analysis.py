"""Analyses cached across reruns and sessions: the first look at a model costs one meta-device run, later
reruns (a widget change, a click on the table) cost nothing.

`st.cache_resource` keeps one immutable `ModelAnalysis` per (model, options, input, batch); its table is shared,
so callers copy before changing it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
import torch

from analyzers import Analysis, analyze
from analyzers.report import to_dataframe
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


@st.cache_resource(show_spinner=False, max_entries=64)
def analyze_model(request: ModelRequest) -> ModelAnalysis:
    """Build the zoo model on the meta device and analyse it; raises the zoo's or the analyzer's user errors."""
    model = build_model(request.name, device="meta", **dict(request.options))
    analysis = analyze(model.module, request.input_size, request.batch_size, model_name=request.name)
    return ModelAnalysis(repr(request), analysis, to_dataframe(analysis))


@st.cache_resource(show_spinner=False, max_entries=32)
def analyze_spec_text(text: str, batch_size: int = 1) -> ModelAnalysis:
    """Parse and build a user's spec (never executed: our parser reads it) and analyse it on the meta device."""
    from explorer.spec import load_spec

    with torch.device("meta"):
        spec = load_spec(text)
    analysis = analyze(spec.module, spec.input_size, batch_size, model_name=spec.name)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return ModelAnalysis(f"spec:{digest}:{batch_size}", analysis, to_dataframe(analysis))


def default_input(name: str, **options: Any) -> tuple[int, int, int]:
    from explorer.zoo import get_model_info

    return get_model_info(name).default_input(**options)
