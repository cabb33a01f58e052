"""Catalogue: every torchvision and timm model at its default input — MACs, params, activations, top-1 — from the
atlas shipped in assets/atlas/ (made by `python -m explorer atlas`)."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from explorer.atlas_table import SOURCE_NOTE, atlas_frame, counts
from explorer.figures.atlas_charts import accuracy_vs_macs, family_colors, macs_params_activations, ours_vs_fvcore
from explorer.ui.downloads import download_buttons
from explorer.ui.page_setup import page_header
from explorer.ui.plotly_chart import show_figure

ARCHITECTURE_PAGE = "explorer/pages/architecture.py"  # as app.py registers it (relative to the entry point)
FVCORE_NOTE = (
    "timm publishes **fvcore's** GMACs: fvcore counts one \"flop\" per multiply–add, like our MACs, but it also "
    "counts batch and layer norms, upsampling and a few element-wise ops, and skips ops it has no handle for. "
    "Our MACs are conv, linear, matmul and attention only (norms and activations are in the element-wise column), "
    "so fvcore's figure is usually a little higher: resnet50 4.112 G (fvcore) vs 4.089 G (ours and torchvision's), "
    "the 0.023 G being its batch norms. Points above the dotted line count more with fvcore; below it, fvcore "
    "missed work (e.g. attention written as `scaled_dot_product_attention`)."
)


@st.cache_data(show_spinner=False)
def cached_frame(catalogue: str) -> pd.DataFrame:
    return atlas_frame(catalogue)


page_header("Catalogue", "Every model torchvision and timm list, each at its default input, batch 1, counted on the "
            "meta device (detection models: once on the CPU with random data).")
source = st.radio("Catalogue", ["timm", "torchvision"], horizontal=True, key="catalogue_source")
frame = cached_frame(source)
if frame.empty:
    st.info(f"No {source} atlas shipped yet: make it with `python -m explorer atlas {source} --jsonl "
            f"assets/atlas/{source}.jsonl`.", icon=":material/info:")
    st.stop()

total = counts(frame)
cols = st.columns(3)
cols[0].metric("models tried", f"{total.tried:,}")
cols[1].metric("analysed", f"{total.analysed:,}")
cols[2].metric("with 0 uncounted ops", f"{total.fully_counted:,}",
               help="Every aten op they ran has a formula; the others name their uncounted ops in the table.")

families = sorted(frame["family"].dropna().unique())
left, right = st.columns([2, 1])
chosen = left.multiselect("Families", families, key="catalogue_families", placeholder="All families")
search = right.text_input("Name contains", key="catalogue_search", placeholder="e.g. vit_, resnet")
shown = frame[frame["family"].isin(chosen)] if chosen else frame
if search:
    shown = shown[shown["model"].str.contains(search, case=False, regex=False)]
ok = shown[shown["status"] == "ok"]
st.caption(f"{len(ok):,} analysed models shown of {len(shown):,} matching.")

def _on_point(chart: str) -> None:
    """A click on a point picks that model for the Architecture link below the chart."""
    points = ((st.session_state.get(chart) or {}).get("selection") or {}).get("points") or []
    names = [p["customdata"][0] for p in points if isinstance(p.get("customdata"), list) and p["customdata"]]
    if names:
        st.session_state["catalogue_open"] = names[0]


colors = family_colors(ok)  # one colour per family on all three charts
show_figure(macs_params_activations(ok, colors), key="catalogue_scatter",
            on_select=lambda: _on_point("catalogue_scatter"))
models = sorted(ok["model"])
if st.session_state.get("catalogue_open") not in models:
    st.session_state["catalogue_open"] = None
link_left, link_right = st.columns([2, 3], vertical_alignment="bottom")
picked = link_left.selectbox("Open a model on the Architecture page", models, key="catalogue_open",
                             placeholder="Click a point, or type a name…",
                             help="Its diagram, layers, training step and fvcore check, at an input size you choose")
if picked:
    with link_right:
        ref = f"{source}:{picked}"
        try:  # inside the app: a link to the Architecture page that keeps this session
            st.page_link(ARCHITECTURE_PAGE, label=f"Open {ref} on the Architecture page", icon=":material/account_tree:",
                         query_params={"model": ref})
        except StreamlitPageNotFoundError:  # this page run on its own: a plain link to the app's first page
            st.markdown(f"[Open {ref} on the Architecture page](./?model={quote(ref)})")
chart_left, chart_right = st.columns(2)
with chart_left:
    show_figure(accuracy_vs_macs(ok, "timm's results" if source == "timm" else "torchvision's weights", colors),
                key="catalogue_accuracy", on_select=lambda: _on_point("catalogue_accuracy"))
if source == "timm":
    with chart_right:
        show_figure(ours_vs_fvcore(ok, colors), key="catalogue_fvcore", on_select=lambda: _on_point("catalogue_fvcore"))
    st.markdown(FVCORE_NOTE)
if (ok["measured_on"] != "meta").any():
    st.caption("Rows measured on the CPU are **data-dependent: measured on one random input** (detection models "
               "select boxes by score; another image costs differently).")

columns = ["model", "family", "task", "input", "params", "macs", "elementwise_ops", "activation_bytes",
           "weight_depth", "top1", "uncounted_ops", "uncounted", "measured_on"]
columns += ["fvcore_gmacs", "fvcore_mactivations"] if source == "timm" else ["published_params", "published_gmacs"]
table = ok[columns].copy()
for column in ("top1", "fvcore_gmacs", "fvcore_mactivations", "published_params", "published_gmacs"):
    if column in table:  # None where a library publishes nothing: a number column, shown as "—"
        table[column] = pd.to_numeric(table[column], errors="coerce")
st.dataframe(table, hide_index=True, width="stretch", placeholder="—", column_config={
    "params": st.column_config.NumberColumn("params", format="localized"),
    "macs": st.column_config.NumberColumn("MACs", format="localized"),
    "elementwise_ops": st.column_config.NumberColumn("element-wise ops", format="localized"),
    "activation_bytes": st.column_config.NumberColumn("activation bytes", format="localized"),
    "top1": st.column_config.NumberColumn("top-1 %", format="%.2f"),
    "fvcore_gmacs": st.column_config.NumberColumn("fvcore GMACs (timm)", format="%.3f"),
    "published_gmacs": st.column_config.NumberColumn("torchvision GFLOPS (_ops)", format="%.3f"),
})
download_buttons(table, f"{source}_atlas", key="catalogue_download")
failed = shown[shown["status"] != "ok"]
if not failed.empty:
    with st.expander(f"{len(failed):,} models that could not be analysed"):
        st.dataframe(failed[["model", "family", "status", "error"]], hide_index=True, width="stretch")
if source == "timm":  # timm publishes throughput: each model's held-out prediction beside it
    from explorer.ui.speed_tables import catalogue_speed

    catalogue_speed()
st.caption(f"Sources: {SOURCE_NOTE}. Our counts: this project's analyzer (torch 2.14.1, torchvision 0.29.1, "
           "timm 1.0.31).")
