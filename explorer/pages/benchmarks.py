"""Benchmarks: measured latency, throughput and efficiency from results CSVs, next to the counted cost."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analyzers.bench_schema import COLUMN_NAMES, BenchSchemaError, BenchStatus, load_results
from explorer.figures.bench_charts import (
    achieved_vs_peak,
    latency_vs_batch,
    macs_vs_latency,
    measured_vs_roofline,
    throughput_by_model,
)
from explorer.ui.bench_results import shipped_results
from explorer.ui.downloads import download_buttons
from explorer.ui.page_setup import escape_markdown, page_header
from explorer.ui.plotly_chart import show_figure

MAX_UPLOAD_BYTES = 20_000_000
SHOWN_COLUMNS = [
    "model", "batch", "dtype", "memory_format", "compile", "device_name", "status", "error_message", "latency_ms_p50", "latency_ms_p95",
    "images_per_s", "peak_memory_bytes", "achieved_tflops", "pct_of_peak", "roofline_ms", "measured_over_roofline",
    "source",
]  # fmt: skip


def _uploaded() -> pd.DataFrame | None:
    upload = st.file_uploader("Add a results CSV", type=["csv"], key="bench_upload")
    if upload is None:
        return None
    name = escape_markdown(upload.name)
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        st.error(f"{name} is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB.", icon=":material/error:")
        return None
    try:
        return load_results(data).assign(source=upload.name)
    except BenchSchemaError as exc:
        st.error(f"{name} is not a benchmark results file: {escape_markdown(str(exc))}", icon=":material/error:")
        return None


def _empty_state() -> None:
    st.info(
        "No benchmark results yet. Measure a few models on your machine, then reload this page:\n\n"
        "```\npython -m explorer bench lenet5 resnet50 mobilenet_v2 --batch 1,8,32 "
        "--csv assets/benchmarks/my_gpu.csv\n```\n\n"
        "or add a results CSV above.",
        icon=":material/inbox:",
    )
    with st.expander("Expected columns"):
        st.code(", ".join(COLUMN_NAMES), language=None)


page_header(
    "Benchmarks",
    "Measured results from `assets/benchmarks/*.csv` and any file you add; FLOPs are our counted FLOPs, so "
    "achieved TFLOP/s and the roofline bound compare the measurement with the arithmetic.",
)
shipped = shipped_results()
for problem in shipped.problems:
    st.warning(f"Skipped {problem}", icon=":material/warning:")
frames = [f for f in (shipped.results, _uploaded()) if f is not None]
if not frames:
    _empty_state()
    st.stop()

results = pd.concat(frames, ignore_index=True)
models = sorted(results["model"].unique())
chosen = st.multiselect("Models", models, default=models, key="bench_models")
results = results[results["model"].isin(chosen)]
if results.empty:
    st.info("Pick at least one model.", icon=":material/touch_app:")
    st.stop()

failed = results[results["status"] != BenchStatus.OK]
cols = st.columns(4)
cols[0].metric("Results", f"{len(results):,}", border=True)
cols[1].metric("Models", f"{results['model'].nunique()}", border=True)
cols[2].metric("Devices", f"{results['device_name'].nunique()}", border=True)
cols[3].metric("Failed (oom / error)", f"{len(failed)}", border=True)

left, right = st.columns(2)
with left:
    show_figure(latency_vs_batch(results), key="bench_latency")
with right:
    show_figure(throughput_by_model(results), key="bench_throughput")
left, right = st.columns(2)
with left:
    show_figure(achieved_vs_peak(results), key="bench_peak")
with right:
    show_figure(measured_vs_roofline(results), key="bench_roofline")
show_figure(macs_vs_latency(results), key="bench_macs")

st.subheader("All results")
table = results[[c for c in SHOWN_COLUMNS if c in results.columns]]
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    placeholder="—",
    column_config={
        "peak_memory_bytes": st.column_config.NumberColumn("peak memory bytes", format="localized"),
        "pct_of_peak": st.column_config.NumberColumn("% of peak", format="%.1f"),
    },
)
download_buttons(results, "benchmark_results", key="bench_download")
if not failed.empty:
    unfinished = "; ".join(
        f"{r.model} batch {r.batch}: {r.status}" + (f" ({r.error_message})" if isinstance(r.error_message, str) else "")
        for r in failed.itertuples()
    )
    st.caption("Configurations that did not finish: " + escape_markdown(unfinished))
