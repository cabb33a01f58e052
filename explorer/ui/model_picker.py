"""Pick a zoo model (grouped by family, searchable by typing), its builder options, input size and batch."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import streamlit as st

from explorer.ui.cached_analysis import ModelRequest
from explorer.zoo import Family, ModelInfo, get_model_info, list_models

ALL_FAMILIES = "All families"
PREFERRED_START = ("resnet50", "vgg16", "lenet5")  # what the app opens on: a whole network, not one block


MAX_SIDE = 4096  # H, W and C a user may ask for (the meta-device analysis costs the same at any size)
MAX_BATCH = 4096
RANGE_TEXT = f"H, W and C 1–{MAX_SIDE:,}; batch 1–{MAX_BATCH:,}"


@dataclass(frozen=True)
class ModelChoice:
    """The chosen model and its request; `input_problem` says why the input cannot be analysed (None: it can)."""

    info: ModelInfo
    request: ModelRequest
    input_problem: str | None = None


def input_problem(sizes: dict[str, int], batch: int) -> str | None:
    """One line naming every field outside its range and what is allowed, or None when all are in range."""
    wrong = [f"{name} = {value:,}" for name, value in sizes.items() if not 1 <= value <= MAX_SIDE]
    if not 1 <= batch <= MAX_BATCH:
        wrong.append(f"batch = {batch:,}")
    if not wrong:
        return None
    return f"{', '.join(wrong)} is out of range: allowed are {RANGE_TEXT}. Nothing is analysed until it is."


def start_model() -> str:
    """The model shown on first load: `?model=NAME` in the address, else the first of PREFERRED_START registered."""
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
    if st.query_params.get("model") != name:  # the address names the view, so it can be shared or bookmarked
        st.query_params["model"] = name

    options: dict[str, Any] = {}
    defaults = builder_defaults(info)
    if defaults:
        with st.expander("Builder options", expanded=False):
            for option, default in defaults.items():
                options[option] = _option_widget(option, default, key=f"{scope}_{name}_{option}")
    options = {k: v for k, v in options.items() if v != defaults[k]}  # defaults stay implicit: one cache entry

    c, h, w = info.default_input(**options)
    # No min/max on the widgets: the browser would keep an out-of-range entry to itself (a red field, the old
    # numbers still shown as if for it); we take every entry and say plainly what is allowed instead.
    st.caption(f"Input (H×W×C) and batch · allowed: {RANGE_TEXT}")
    cols = st.columns(3)
    side_help = f"1 to {MAX_SIDE:,}"
    height = cols[0].number_input("H", value=h, step=1, key=f"{scope}_{name}_{h}_h", help=f"Input height, {side_help}")
    width = cols[1].number_input("W", value=w, step=1, key=f"{scope}_{name}_{w}_w", help=f"Input width, {side_help}")
    channels = cols[2].number_input("C", value=c, step=1, key=f"{scope}_{name}_{c}_c",
                                    help=f"Input channels, {side_help}")  # fmt: skip
    batch = st.number_input("Batch", value=1, step=1, key=f"{scope}_batch", help=f"Images per forward, 1 to {MAX_BATCH:,}")
    sizes = {"H": int(height), "W": int(width), "C": int(channels)}
    problem = input_problem(sizes, int(batch))
    if problem is not None:
        st.error(problem, icon=":material/error:")
    safe = tuple(min(max(v, 1), MAX_SIDE) for v in (sizes["C"], sizes["H"], sizes["W"]))
    request = ModelRequest.of(name, safe, min(max(int(batch), 1), MAX_BATCH), **options)
    return ModelChoice(info, request, problem)
