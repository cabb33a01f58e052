"""Architecture: one zoo model at a time — its totals, its diagram, its layers and where the cost goes."""

from __future__ import annotations

import streamlit as st

from analyzers.errors import UserError
from explorer.ui.analysis_view import analysis_view
from explorer.ui.cached_analysis import analyze_model
from explorer.ui.crosscheck_panel import crosscheck_panel
from explorer.ui.model_picker import pick_model
from explorer.ui.page_setup import show_user_error

SCOPE = "arch"

from explorer.ui.catalogue_picker import show_catalogue_model  # noqa: E402

if show_catalogue_model(SCOPE):  # a torchvision / timm model, picked by its library name, is drawn instead
    st.stop()
with st.sidebar:
    choice = pick_model(SCOPE)

info = choice.info
st.title(info.name)
st.caption(f"**{info.family.value}** · {info.paper}")
st.markdown(info.description)

if choice.input_problem is not None:  # never leave numbers on screen that were for another input
    st.error(choice.input_problem, icon=":material/error:")
    st.stop()

try:
    with st.spinner("Analysing on the meta device…"):
        result = analyze_model(choice.request)
except UserError as exc:
    show_user_error(exc)
    st.stop()

analysis_view(result, scope=f"{SCOPE}_{info.name}", file_stem=info.name)
crosscheck_panel(choice.request, result, key=f"{SCOPE}_{info.name}_fvcore")

st.subheader("Training")  # one training step: backward MACs, step memory, the batch that fits a GPU
if st.toggle("Analyse one training step (forward + backward + optimizer)", key=f"{SCOPE}_{info.name}_train"):
    from explorer.ui.training_view import training_view

    training_view(choice.request, scope=f"{SCOPE}_{info.name}")
