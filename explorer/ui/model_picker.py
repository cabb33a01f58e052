"""Pick a zoo model (grouped by family, searchable by typing), its builder options, input size and batch."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import streamlit as st

from explorer.ui.cached_analysis import ModelRequest
from explorer.zoo import Family, ModelInfo, get_model_info, list_models

ALL_FAMILIES = "All families"
PREFERRED_START = ("inception_module", "lenet5", "inception_5x5_bottleneck")  # what the app opens on


@dataclass(frozen=True)
class ModelChoice:
    info: ModelInfo
    request: ModelRequest


def start_model() -> str:
    """The model shown on first load: `?model=NAME` in the address, else the first seed model registered."""
    names = [m.name for m in list_models()]
    wanted = st.query_params.get("model")
    if wanted in names:
        return wanted
    for name in PREFERRED_START:
        if name in names:
            return name
    return names[0]


def families_in_order() -> list[Family]:
    present = {m.family for m in list_models()}
    return [f for f in Family if f in present]


def model_names(family: Family | None) -> list[str]:
    """Names grouped by family in the seeds' order (LeNet → EfficientNet), registration order within one."""
    models = list_models(family=family)
    order = {f: i for i, f in enumerate(Family)}
    return [m.name for m in sorted(models, key=lambda m: order[m.family])]


def builder_defaults(info: ModelInfo) -> dict[str, Any]:
    """Keyword-only builder options with simple default values (numbers and switches) a widget can edit."""
    params = inspect.signature(info.builder).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and isinstance(p.default, (bool, int, float))
    }


def _option_widget(name: str, default: Any, key: str) -> Any:
    label = name.replace("_", " ")
    if isinstance(default, bool):
        return st.toggle(label, value=default, key=key)
    if isinstance(default, int):
        return int(st.number_input(label, value=default, min_value=1, step=1, key=key))
    return float(st.number_input(label, value=float(default), min_value=0.0, step=0.05, format="%.3g", key=key))


def pick_model(scope: str = "arch") -> ModelChoice:
    """The sidebar controls; returns the chosen model and the analysis request they describe."""
    start = start_model()
    families = families_in_order()
    family_label = st.selectbox(
        "Family",
        [ALL_FAMILIES, *(f.value for f in families)],
        key=f"{scope}_family",
        help="Narrow the list to one family, or type in the model box below to search every model.",
    )
    family = None if family_label == ALL_FAMILIES else Family(family_label)
    names = model_names(family)
    index = names.index(start) if start in names else 0
    name = st.selectbox(
        "Model",
        names,
        index=index,
        key=f"{scope}_model",
        format_func=lambda n: f"{n}  ·  {get_model_info(n).family.value}",
        help="Type to search.",
    )
    info = get_model_info(name)

    options: dict[str, Any] = {}
    defaults = builder_defaults(info)
    if defaults:
        with st.expander("Builder options", expanded=False):
            for option, default in defaults.items():
                options[option] = _option_widget(option, default, key=f"{scope}_{name}_{option}")
    options = {k: v for k, v in options.items() if v != defaults[k]}  # defaults stay implicit: one cache entry

    c, h, w = info.default_input(**options)
    st.caption("Input (H×W×C) and batch")
    cols = st.columns(3)
    height = cols[0].number_input("H", min_value=1, max_value=4096, value=h, step=1, key=f"{scope}_{name}_{h}_h")
    width = cols[1].number_input("W", min_value=1, max_value=4096, value=w, step=1, key=f"{scope}_{name}_{w}_w")
    channels = cols[2].number_input("C", min_value=1, max_value=4096, value=c, step=1, key=f"{scope}_{name}_{c}_c")
    batch = st.number_input("Batch", min_value=1, max_value=4096, value=1, step=1, key=f"{scope}_batch")
    request = ModelRequest.of(name, (int(channels), int(height), int(width)), int(batch), **options)
    return ModelChoice(info, request)
