"""Architecture: one model at a time — a zoo model or any torchvision / timm model by its library name — with its
totals, its diagram, its layers, where the cost goes, one training step and the fvcore cross-check."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from analyzers.errors import DataDependentError, UserError
from explorer.ui.analysis_view import analysis_view
from explorer.ui.cached_analysis import analyze_model
from explorer.ui.crosscheck_panel import crosscheck_panel
from explorer.ui.model_picker import pick_model
from explorer.ui.page_setup import show_user_error

SCOPE = "arch"

with st.sidebar:
    choice = pick_model(SCOPE)

st.title(choice.title)
st.caption(choice.caption)
if choice.description:
    st.markdown(choice.description)

if choice.problem is not None:  # never leave numbers on screen that were for another input
    st.error(choice.problem, icon=":material/error:")
    st.stop()

scope = f"{SCOPE}_{choice.scope}"
cpu_key = f"{scope}_on_cpu"
request = replace(choice.request, on_cpu=bool(st.session_state.get(cpu_key)))
try:
    with st.spinner("Building without weights and analysing on the meta device…"):
        result = analyze_model(request)
except DataDependentError:
    st.error(f"{choice.title} decides what to compute from its data (e.g. it keeps the boxes that score highest), "
             "so the meta device, which has shapes but no values, cannot count it.", icon=":material/error:")
    st.button("Count it on one random input on the CPU", key=f"{cpu_key}_button", icon=":material/memory:",
              on_click=lambda: st.session_state.update({cpu_key: True}),
              help="Runs the model once on this server's CPU with random data and random weights; every number is "
                   "then labelled as measured on one random input (another image costs differently).")  # fmt: skip
    st.stop()
except UserError as exc:
    show_user_error(exc)
    st.stop()

if result.analysis.caveat:
    st.warning(f"{result.analysis.caveat}: every number below comes from one run on the CPU with random data.",
               icon=":material/casino:")
analysis_view(result, scope=scope, file_stem=choice.title.replace(":", "_"))
crosscheck_panel(request, result, key=f"{scope}_fvcore")

st.subheader("Speed")  # predicted time per layer on a datasheet device; measured rows beside, never mixed
if st.toggle("Predict the time per layer on a GPU or this CPU", key=f"{scope}_speed"):
    from explorer.ui.speed_view import speed_view

    speed_view(result, scope=scope)

st.subheader("Training")  # one training step: backward MACs, step memory, the batch that fits a GPU
if st.toggle("Analyse one training step (forward + backward + optimizer)", key=f"{scope}_train"):
    from explorer.ui.training_view import training_view

    training_view(request, scope=scope)
