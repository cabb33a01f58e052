"""Compare: several models side by side — totals, the classic cost charts, and measured latency if any."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analyzers.errors import UserError
from explorer.ensemble import (
    MAX_MEMBERS,
    MemberCost,
    batch1_latencies,
    ensemble_cost,
    measured_latency_ms,
)
from explorer.figures.bench_charts import macs_vs_latency, ok_rows
from explorer.figures.compare import (
    accuracy_vs_macs,
    params_vs_macs,
    resolution_stages,
    stage_cost,
)
from explorer.figures.shape_text import input_volume
from explorer.ui.bench_results import shipped_results
from explorer.ui.cached_analysis import ModelRequest, analyze_model
from explorer.ui.downloads import download_buttons
from explorer.ui.page_setup import page_header
from explorer.ui.plotly_chart import show_figure
from explorer.ui.speed_tables import with_predicted_throughput
from explorer.zoo import get_model_info, list_models

CLASSICS = ("lenet5", "alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0",
            "inception_v3")  # fmt: skip


@st.cache_resource(show_spinner=False, max_entries=128)
def model_summary(name: str) -> tuple[dict, pd.DataFrame]:
    """One model at its default input: its row of the comparison table and its cost per stage (cached)."""
    info = get_model_info(name)
    c, h, w = info.default_input()
    result = analyze_model(ModelRequest.of(name, (c, h, w)))
    t = result.analysis.totals
    row = {
        "model": name, "family": info.family.value, "input": input_volume((c, h, w)), "params": t.params,
        "macs": t.macs, "flops": t.flops, "activation_bytes": t.activation_bytes, "param_bytes": t.param_bytes,
        "layers": t.layers,
        "top1": info.top1, "paper": info.paper,
    }  # fmt: skip
    return row, resolution_stages(result.table).assign(model=name)


page_header("Compare models", "Each model at its default input, batch 1. MACs count conv, linear and matmul work only.")
names = [m.name for m in list_models()]
chosen = st.multiselect(
    "Models",
    names,
    default=[n for n in CLASSICS if n in names],
    key="compare_models",
    placeholder="Type to add models…",
)
from explorer.ui.catalogue_picker import catalogue_row, pick_catalogue_models  # noqa: E402

library_models = pick_catalogue_models("compare")  # torchvision / timm, by the names the libraries list
if not chosen and not library_models:
    st.info("Pick two or more models to compare.", icon=":material/touch_app:")
    st.stop()

rows, stages, failed = [], [], []
with st.spinner("Analysing…"):
    for name in chosen:
        try:
            row, stage = model_summary(name)
        except UserError as exc:
            failed.append(f"{name}: {exc}")
            continue
        rows.append(row)
        stages.append(stage)
    for ref in library_models:
        try:
            row, result = catalogue_row(ref)
        except UserError as exc:
            failed.append(f"{ref}: {exc}")
            continue
        rows.append(row)
        stages.append(resolution_stages(result.table).assign(model=ref))
for problem in failed:
    st.error(problem, icon=":material/error:")
if not rows:
    st.stop()

models = with_predicted_throughput(pd.DataFrame(rows))  # labelled predicted, with its held-out band
st.dataframe(
    models,
    hide_index=True,
    width="stretch",
    placeholder="—",
    column_config={
        "params": st.column_config.NumberColumn("params", format="localized"),
        "macs": st.column_config.NumberColumn("MACs", format="localized"),
        "flops": st.column_config.NumberColumn("FLOPs", format="localized"),
        "activation_bytes": st.column_config.NumberColumn("activation bytes", format="localized"),
        "param_bytes": st.column_config.NumberColumn("param bytes", format="localized"),
        "top1": st.column_config.NumberColumn("top-1 %", format="%.2f",
                                              help="ImageNet-1K top-1 as published: torchvision's weights, timm's "
                                                   "results table for the default pretrained tag"),
    },
)
download_buttons(models, "model_comparison", key="compare_download")

left, right = st.columns(2)
with left:
    show_figure(params_vs_macs(models), key="compare_scatter")
with right:
    show_figure(accuracy_vs_macs(models), key="compare_bubble")

share = st.toggle("Show each stage as a share of the model's MACs", key="compare_share")
show_figure(stage_cost(pd.concat(stages, ignore_index=True), share=share), key="compare_stages")

st.subheader("Measured latency")
loaded = shipped_results()
measured = ok_rows(loaded.results) if loaded.results is not None else None
measured = measured[measured["model"].isin(chosen)] if measured is not None else None
if measured is None or measured.empty:
    st.caption(
        "No benchmark results for these models yet. Measure some with "
        "`python -m explorer bench resnet50 --batch 1,32 --csv assets/benchmarks/results.csv`; the Benchmarks page "
        "shows every result."
    )
else:
    latency = measured[["model", "batch", "dtype", "device_name", "latency_ms_p50", "images_per_s", "pct_of_peak"]]
    st.dataframe(latency, hide_index=True, width="stretch", placeholder="—", column_config={
        "latency_ms_p50": st.column_config.NumberColumn("latency p50 (ms)", format="%.3f"),
        "images_per_s": st.column_config.NumberColumn("images / s", format="localized"),
        "pct_of_peak": st.column_config.NumberColumn("% of peak", format="%.1f"),
    })
    download_buttons(latency, "measured_latency", key="compare_latency_download")
    show_figure(macs_vs_latency(measured), key="compare_latency")

st.subheader("Ensembles and test-time crops")
st.caption(
    "The notes' benchmark tricks: average the predictions of several networks, each over several crops of the "
    "image (10-crop: centre and corners, mirrored; GoogLeNet's 144). Every crop runs through every model."
)
crops = st.segmented_control("Crops per image", options=(1, 10, 144), default=10, key="compare_crops",
                             format_func=lambda k: {1: "1 (centre)", 10: "10-crop", 144: "144 (GoogLeNet)"}[k])
crops = crops or 1  # deselecting the control means one crop
if len(rows) > MAX_MEMBERS:  # the comparison above stands; only the ensemble has a size limit
    st.info(f"{len(rows)} models are chosen: an ensemble is costed for at most {MAX_MEMBERS} models (the notes' "
            "ensembles have 3–15). Remove some to see it.", icon=":material/info:")
    st.stop()
members = [MemberCost(row["model"], (), row["params"], row["param_bytes"], row["macs"], row["activation_bytes"])
           for row in rows]
cost = ensemble_cost(members, crops)
latency = measured_latency_ms(cost, batch1_latencies(loaded.results)) if loaded.results is not None else None
costliest = max(cost.members, key=lambda m: m.macs)
ratio = cost.macs_per_image / costliest.macs if costliest.macs else None
ensemble = pd.DataFrame([{
    "models": cost.models, "crops": cost.crops, "macs_per_image": cost.macs_per_image,
    "vs_costliest": ratio,
    "weight_bytes": cost.weight_bytes, "activation_bytes_per_crop": cost.activation_bytes_per_crop,
    "activation_bytes_batched": cost.activation_bytes_batched, "latency_ms_per_image": latency,
}])  # fmt: skip
st.dataframe(ensemble, hide_index=True, width="stretch", placeholder="—", column_config={
    "models": st.column_config.NumberColumn("models", format="localized"),
    "crops": st.column_config.NumberColumn("crops", format="localized"),
    "macs_per_image": st.column_config.NumberColumn("MACs per image", format="localized"),
    "vs_costliest": st.column_config.NumberColumn(f"× {costliest.name} alone", format="%.1f×",
                                                  help="MACs per image over the costliest member's on one crop"),
    "weight_bytes": st.column_config.NumberColumn("weight bytes", format="localized"),
    "activation_bytes_per_crop": st.column_config.NumberColumn("activation bytes per crop", format="localized"),
    "activation_bytes_batched": st.column_config.NumberColumn("activation bytes, crops batched",
                                                              format="localized"),
    "latency_ms_per_image": st.column_config.NumberColumn(
        "measured ms per image", format="%.1f",
        help="crops × the sum of each model's measured batch-1 p50; empty until every model has one"),
})
st.caption(
    f"An ensemble of the {cost.models} models above on {cost.crops} crop(s) costs "
    + (f"{ratio:,.1f}× the MACs of its costliest member, {costliest.name}, on one crop; " if ratio else "")
    + "weights add up over the models only (crops share them). "
    + ("Measured latency: crops × the sum of each model's measured batch-1 p50, run one after another."
       if latency is not None else "Measured latency appears when every model has a batch-1 benchmark result.")
)
