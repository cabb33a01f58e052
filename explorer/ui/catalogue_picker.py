"""torchvision and timm models on the Compare page: picked by their library names, each one a row like a zoo
model's, with the ImageNet top-1 its library publishes (torchvision's weights' meta; timm's results table, joined
in the shipped atlas).

The app never runs code a user typed: every choice is a name the library itself lists (`list_models()`), and
`explorer.catalogue.build` refuses anything else. Models are built on the meta device without weights.
"""

from __future__ import annotations

import math

import streamlit as st

from explorer.ui.cached_analysis import (
    ModelAnalysis,
    ModelRequest,
    analyze_model,
    library_default_size,
    library_model,
)
from explorer.ui.model_picker import SOURCES, ZOO, library_families

__all__ = ["catalogue_row", "pick_catalogue_models", "published_top1"]


def pick_catalogue_models(scope: str) -> list[str]:
    """Several torchvision / timm models for a comparison, by library name (searchable)."""
    choices = [f"{source}:{n}" for source in SOURCES if source != ZOO
               for group in library_families(source).values() for n in group]
    return st.multiselect("torchvision / timm models", choices, key=f"{scope}_catalogue_models",
                          placeholder="Type a library name, e.g. timm:convnext_tiny")


def catalogue_row(ref: str) -> tuple[dict, ModelAnalysis]:
    """A catalogue model's row for the Compare page's table (the same columns as a zoo model's), at batch 1."""
    from explorer.catalogue import Catalogue, family
    from explorer.figures.shape_text import input_volume

    model = library_model(ref)
    size = library_default_size(model)
    result = analyze_model(ModelRequest.of(ref, size))
    t = result.analysis.totals
    source, _, name = ref.partition(":")
    row = {
        "model": ref, "family": f"{source} {family(Catalogue(source), name)}",
        "input": input_volume(size) if size is not None else "", "params": t.params, "macs": t.macs,
        "flops": t.flops, "activation_bytes": t.activation_bytes, "param_bytes": t.param_bytes, "layers": t.layers,
        "top1": published_top1(ref), "paper": "",
    }  # fmt: skip
    return row, result


@st.cache_data(show_spinner=False)
def published_top1(ref: str) -> float | None:
    """ImageNet-1K top-1 as the library publishes it: torchvision's default weights' meta, timm's results table for
    the model's default pretrained tag (as the Catalogue page shows it); None where neither has one."""
    source, _, name = ref.partition(":")
    if source == "torchvision":
        return library_model(ref).published.top1
    from explorer.atlas_table import atlas_frame

    frame = atlas_frame(source)
    if frame.empty:
        return None
    rows = frame.loc[frame["model"] == name, "top1"]
    value = rows.iloc[0] if len(rows) else None
    return float(value) if value is not None and not (isinstance(value, float) and math.isnan(value)) else None
