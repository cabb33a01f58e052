"""Benchmarks: measured latency, throughput and efficiency from results CSVs, next to the counted cost."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analyzers.bench.schema import COLUMN_NAMES, BenchStatus
from explorer.figures.bench_charts import (
    achieved_vs_peak,
    latency_vs_batch,
    macs_vs_latency,
    measured_vs_roofline,
    throughput_by_model,
)
from explorer.ui.bench_results import parse_upload, shipped_results
from explorer.ui.downloads import download_buttons
from explorer.ui.page_setup import escape_markdown, page_header
from explorer.ui.plotly_chart import show_figure

HALF_PLOT_WIDTH_PX = 430  # the plot area of a half-width chart on a 1,440 px page
MAX_UPLOAD_MB = 5  # the uploader refuses bigger files in the browser; the page checks again (AppTest, old clients)
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024  # Streamlit's megabyte is 2**20 bytes
MODELS_KEY = "bench_models"
MAX_LISTED_FAILURES = 20
OFFERED_KEY = "bench_models_offered"  # the models the multiselect offered last run: a new one is selected
SHOWN_COLUMNS = [
    "model", "batch", "dtype", "memory_format", "compile", "device_name", "status", "error_message", "latency_ms_p50",
    "latency_ms_p95", "images_per_s", "peak_memory_bytes", "achieved_tflops", "pct_of_peak", "roofline_ms",
    "measured_over_roofline", "source",
]  # fmt: skip


def _uploaded() -> pd.DataFrame | None:
    upload = st.file_uploader(
        "Add a results CSV",
        type=["csv"],
        key="bench_upload",
        max_upload_size=MAX_UPLOAD_MB,
        help=f"A CSV written by `python -m explorer bench`, at most {MAX_UPLOAD_MB} MB.",
    )
    if upload is None:
        return None
    name = escape_markdown(upload.name)
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        st.error(f"{name} is {len(data) / 2**20:.1f} MB; a results file may have at most {MAX_UPLOAD_MB} MB.",
                 icon=":material/error:")  # fmt: skip
        return None
    parsed = parse_upload(data)
    if parsed.results is None:
        st.error(f"{name} is not a benchmark results file: {escape_markdown(parsed.problem)}", icon=":material/error:")
        return None
    st.success(f"Added {len(parsed.results):,} result(s) from {name}.", icon=":material/upload_file:")
    return parsed.results.assign(source=upload.name)


def _chosen_models(models: list[str]) -> list[str]:
    """The models multiselect. A model that was not offered before (a new upload) is selected; the user's own
    removals stay removed, and models that are gone (an upload cleared) drop out of the selection."""
    offered = st.session_state.get(OFFERED_KEY)
    if MODELS_KEY not in st.session_state:
        st.session_state[MODELS_KEY] = models
    elif offered is not None and offered != models:
        kept = [m for m in st.session_state[MODELS_KEY] if m in models]
        st.session_state[MODELS_KEY] = kept + [m for m in models if m not in offered]
    st.session_state[OFFERED_KEY] = models
    return st.multiselect("Models", models, key=MODELS_KEY)


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
    st.warning(f"Skipped {escape_markdown(problem)}", icon=":material/warning:")
frames = [f for f in (shipped.results, _uploaded()) if f is not None]
if not frames:
    _empty_state()
    st.stop()

results = pd.concat(frames, ignore_index=True)
models = sorted(results["model"].unique())
chosen = _chosen_models(models)
results = results[results["model"].isin(chosen)]
if results.empty:
    st.info("Pick at least one model.", icon=":material/touch_app:")
    st.stop()

failed = results[results["status"] != BenchStatus.OK]
cols = st.columns(4)
cols[0].metric("Results", f"{len(results):,}", border=True)
cols[1].metric("Models", f"{results['model'].nunique():,}", border=True)
cols[2].metric("Devices", f"{results['device_name'].nunique():,}", border=True)
cols[3].metric("Failed (oom / error)", f"{len(failed):,}", border=True)

left, right = st.columns(2)
with left:
    show_figure(latency_vs_batch(results), key="bench_latency")
with right:
    show_figure(achieved_vs_peak(results), key="bench_peak")
show_figure(throughput_by_model(results), key="bench_throughput")  # full width: long names beside long bars
left, right = st.columns(2)
with left:
    show_figure(measured_vs_roofline(results), key="bench_roofline")
with right:
    show_figure(macs_vs_latency(results, width_px=HALF_PLOT_WIDTH_PX), key="bench_macs")

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
    listed = failed.head(MAX_LISTED_FAILURES)
    unfinished = "; ".join(
        f"{r.model} batch {r.batch}: {r.status}" + (f" ({r.error_message})" if isinstance(r.error_message, str) else "")
        for r in listed.itertuples()
    )
    more = f"; and {len(failed) - len(listed):,} more (see the table)" if len(failed) > len(listed) else ""
    st.caption("Configurations that did not finish: " + escape_markdown(unfinished + more))
