"""Pick a torchvision or timm model by its library name (source → family → model, each searchable) and show it.

The app never runs code a user typed: every choice is a name the library itself lists (`list_models()`), and
`explorer.catalogue.build` refuses anything else. Models are built on the meta device without weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from analyzers import analyze
from analyzers.counting.inputs import with_batch
from analyzers.errors import UserError
from analyzers.reports.table import to_dataframe
from explorer.catalogue import Catalogue, build, family, names
from explorer.ui.cached_analysis import ModelAnalysis

ZOO = "zoo"
SOURCES = (ZOO, Catalogue.TORCHVISION.value, Catalogue.TIMM.value)
ALL_FAMILIES = "All families"
STARTS = {Catalogue.TORCHVISION.value: "resnet50", Catalogue.TIMM.value: "resnet50"}


@dataclass(frozen=True)
class CatalogueRequest:
    """Everything that decides a catalogue analysis; equal requests share one cached result."""

    ref: str  # "timm:resnet50"
    batch_size: int = 1
    on_cpu: bool = False  # a data-dependent model, run once on random data


@st.cache_data(show_spinner=False)
def families_and_names(source: str) -> dict[str, list[str]]:
    """Family → names, as the library lists them (cached: timm lists ~1,400)."""
    catalogue = Catalogue(source)
    grouped: dict[str, list[str]] = {}
    for name in names(catalogue):
        grouped.setdefault(family(catalogue, name), []).append(name)
    return dict(sorted(grouped.items()))


@st.cache_resource(show_spinner=False, max_entries=32)
def analyze_catalogue_model(request: CatalogueRequest) -> ModelAnalysis:
    """Build the library's model on meta and analyse it at its default input (raises one-line user errors)."""
    model = build(request.ref)
    analysis = analyze(model.module, inputs=with_batch(model.inputs, request.batch_size), model_name=model.ref,
                       device="cpu" if request.on_cpu else "meta")
    return ModelAnalysis(repr(request), analysis, to_dataframe(analysis))


def pick_source(scope: str) -> str:
    return st.radio("Source", SOURCES, horizontal=True, key=f"{scope}_source",
                    help="zoo: this project's models; torchvision / timm: every model those libraries list")


def pick_catalogue_model(scope: str, source: str) -> str:
    """Family, then model (both searchable by typing); returns the `source:name` reference."""
    grouped = families_and_names(source)
    family_name = st.selectbox("Family", [ALL_FAMILIES, *grouped], key=f"{scope}_{source}_family",
                               help="The library module that defines the architecture. Type to search.")
    options = sorted(n for group in grouped.values() for n in group) if family_name == ALL_FAMILIES else (
        grouped[family_name])
    start = STARTS.get(source)
    name = st.selectbox("Model", options, index=options.index(start) if start in options else 0,
                        key=f"{scope}_{source}_{family_name}_model", help="Type to search.")
    return f"{source}:{name}"


def pick_catalogue_models(scope: str) -> list[str]:
    """Several torchvision / timm models for a comparison, by library name (searchable)."""
    choices = [f"{source}:{n}" for source in SOURCES[1:] for group in families_and_names(source).values()
               for n in group]
    return st.multiselect("torchvision / timm models", choices, key=f"{scope}_catalogue_models",
                          placeholder="Type a library name, e.g. timm:convnext_tiny")


def show_catalogue_model(scope: str) -> bool:
    """On the Architecture page: a source choice in the sidebar; for torchvision / timm, the picker there and the
    model's analysis on the page. Returns False when the zoo is chosen (the page then draws its own picker)."""
    from analyzers.errors import DataDependentError
    from explorer.ui.analysis_view import analysis_view
    from explorer.ui.page_setup import show_user_error

    with st.sidebar:
        source = pick_source(scope)
        if source == ZOO:
            return False
        ref = pick_catalogue_model(scope, source)
        batch = int(st.number_input("Batch", min_value=1, max_value=256, value=1, step=1, key=f"{scope}_cat_batch"))
    st.title(ref)
    cpu_key = f"{scope}_cpu_{ref}"
    request = CatalogueRequest(ref, batch, on_cpu=bool(st.session_state.get(cpu_key)))
    try:
        with st.spinner("Building without weights and analysing…"):
            result = analyze_catalogue_model(request)
    except DataDependentError as exc:
        show_user_error(exc)
        st.button("Run once on the CPU with random data", key=f"{cpu_key}_button", icon=":material/memory:",
                  on_click=lambda: st.session_state.update({cpu_key: True}))
        return True
    except UserError as exc:
        show_user_error(exc)
        return True
    inputs = ", ".join(f"{i.name} {'×'.join(map(str, i.shape))} {i.dtype_name}" for i in result.analysis.inputs)
    st.caption(f"**{source}** · family {family(Catalogue(source), ref.partition(':')[2])} · input {inputs} · built "
               "from the library's own definition, without weights")
    if result.analysis.caveat:
        st.warning(f"{result.analysis.caveat}: every number below comes from one run on the CPU with random data.",
                   icon=":material/casino:")
    analysis_view(result, scope=f"{scope}_{ref}", file_stem=ref.replace(":", "_"))
    return True


def catalogue_row(ref: str) -> tuple[dict, ModelAnalysis]:
    """A catalogue model's row for the Compare page's table (the same columns as a zoo model's), at batch 1."""
    result = analyze_catalogue_model(CatalogueRequest(ref))
    a, t = result.analysis, result.analysis.totals
    source, _, name = ref.partition(":")
    shape = a.inputs[0].shape
    row = {
        "model": ref, "family": f"{source} {family(Catalogue(source), name)}",
        "input": "×".join(map(str, (*shape[-2:], shape[-3]) if len(shape) >= 3 else shape)),
        "params": t.params, "macs": t.macs, "flops": t.flops, "activation_bytes": t.activation_bytes,
        "layers": t.layers, "top1": published_top1(ref), "paper": "",
    }  # fmt: skip
    return row, result


@st.cache_data(show_spinner=False)
def published_top1(ref: str) -> float | None:
    """torchvision's ImageNet-1K top-1 from the default weights' meta (None for timm, whose figures the
    Catalogue page joins from timm's results)."""
    return build(ref).published.top1
