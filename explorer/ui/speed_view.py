"""The Speed view of the Architecture page: how long the model would take on a datasheet device, layer by layer.

Everything here is a prediction (`analyzers.predict`), labelled so, with the error interval measured on models the
fit never saw; where the project ships measurements of this model on that device, they are shown beside it,
never mixed in. Predictions read the cached analysis: no extra forward.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analyzers.devices import DeviceKind, Precision, datasheets
from analyzers.predict.measured import measured_rows
from analyzers.predict.prediction import Prediction, predict
from analyzers.reports.prediction import prediction_rows, prediction_summary
from explorer.figures.speed import ThroughputPoint, throughput_vs_batch, time_vs_macs
from explorer.ui.bench_results import bench_dir
from explorer.ui.cached_analysis import ModelAnalysis
from explorer.ui.downloads import download_buttons
from explorer.ui.plotly_chart import show_figure

__all__ = ["speed_view", "device_labels", "BATCHES", "DEFAULT_DEVICE"]

DEFAULT_DEVICE = "rtx5090"  # the device with the most published measurements behind its fit
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def device_labels() -> dict[str, str]:
    """Table key → what the picker shows."""
    return {s.key: s.name.removeprefix("NVIDIA ") for s in datasheets()}


@st.cache_resource(show_spinner=False, max_entries=64)
def _prediction(key: str, device: str, precision: str, batch: int, _result: ModelAnalysis) -> Prediction:
    return predict(_result.analysis, device, precision, batch=batch)


def speed_view(result: ModelAnalysis, *, scope: str) -> None:
    labels = device_labels()
    cols = st.columns(3)
    keys = list(labels)
    device = cols[0].selectbox("Device", keys, index=keys.index(DEFAULT_DEVICE) if DEFAULT_DEVICE in keys else 0,
                               format_func=labels.get, key=f"{scope}_speed_device",
                               help="A datasheet GPU, or this machine's CPU (one thread, as measured here)")
    sheet = next(s for s in datasheets() if s.key == device)
    precisions = [Precision.FP32.value] if sheet.kind is DeviceKind.CPU else [
        p.value for p in (Precision.BF16, Precision.FP16, Precision.TF32, Precision.FP32)
        if sheet.peak.tflops(p) is not None]
    precision = cols[1].selectbox("Precision", precisions, key=f"{scope}_speed_precision")
    batch = cols[2].selectbox("Batch", BATCHES, index=BATCHES.index(256) if sheet.kind is DeviceKind.GPU else 0,
                              key=f"{scope}_speed_batch")
    prediction = _prediction(result.key, device, precision, batch, result)
    summary = prediction_summary(prediction)
    metrics = st.columns(3)
    metrics[0].metric("Predicted time per batch", f"{prediction.total_ms:,.3g} ms",
                      help="Predicted, not measured: the sum of every kernel's predicted time")
    metrics[1].metric("Predicted throughput", f"{prediction.throughput:,.0f} /s")
    metrics[2].metric("Held-out median |error|", f"{prediction.interval.median_abs_error:.0%}",
                      help=prediction.interval.text)
    st.caption(f"**Predicted** for {labels[device]}, {precision}, batch {batch}: 80 % of held-out measurements fell "
               f"between {summary['predicted_ms_low']:,.3g} and {summary['predicted_ms_high']:,.3g} ms "
               f"({batch / summary['predicted_ms_high'] * 1e3:,.0f}–{batch / summary['predicted_ms_low'] * 1e3:,.0f}"
               " samples/s) "
               f"({prediction.interval.basis}). Bound by compute {summary['predicted_share_compute']:.0%}, memory "
               f"{summary['predicted_share_memory']:.0%}, per-kernel overhead {summary['predicted_share_overhead']:.0%}"
               f" of the time. Parameters fitted on {prediction.parameters_from}.")
    measured = measured_rows(result.analysis.model_name, device, bench_dir=bench_dir())
    if measured:
        st.markdown(f"**Measured** on the {labels[device]} (benchmark results, beside the prediction, never part "
                    "of it):\n" + "\n".join(f"- {row.text}" for row in measured))
    show_figure(time_vs_macs(prediction), key=f"{scope}_speed_layers")
    points = []
    for b in BATCHES:
        p = _prediction(result.key, device, precision, b, result)
        low, high = p.interval.bounds_ms(p.total_ms)
        points.append(ThroughputPoint(b, p.throughput, b / (high / 1e3), b / (low / 1e3)))
    show_figure(throughput_vs_batch(points, device=labels[device], basis="predicted; band: held-out spread"),
                key=f"{scope}_speed_batches")
    table = pd.DataFrame(prediction_rows(prediction))
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "macs": st.column_config.NumberColumn("MACs", format="localized"),
        "predicted_ms": st.column_config.NumberColumn("predicted ms", format="%.4f"),
        "predicted_share": st.column_config.NumberColumn("predicted share", format="percent"),
        "predicted_bound": st.column_config.TextColumn("predicted bound"),
        "predicted_compute_ms": st.column_config.NumberColumn("compute ms (pred.)", format="%.4f"),
        "predicted_memory_ms": st.column_config.NumberColumn("memory ms (pred.)", format="%.4f"),
        "predicted_overhead_ms": st.column_config.NumberColumn("overhead ms (pred.)", format="%.4f"),
    })
    download_buttons(table, f"{result.analysis.model_name}_predicted_{device}".replace(":", "_"),
                     key=f"{scope}_speed_download")
