"""The app's other speed views: the Catalogue's predicted vs published throughput for every timm model, and the
Compare page's predicted-throughput column.

The Catalogue's predictions are the held-out ones the validation made (bench/validate_time_model.py, shipped in
assets/time_model/held_out.csv): each model predicted by a fit that never saw its family. Compare's column
predicts each chosen model from its cached analysis; both say "predicted" in every label.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analyzers.devices import DeviceKind, datasheets
from analyzers.predict.measured import HELD_OUT
from analyzers.predict.parameters import TRAINING_SET
from analyzers.predict.prediction import predict
from explorer.figures.speed import predicted_vs_published
from explorer.ui.cached_analysis import ModelRequest, analyze_model, library_default_size, library_model
from explorer.ui.downloads import download_buttons
from explorer.ui.plotly_chart import show_figure
from explorer.ui.speed_view import DEFAULT_DEVICE
from explorer.zoo import get_model_info

__all__ = ["catalogue_speed", "with_predicted_throughput", "EVALUATIONS"]

EVALUATIONS = {
    "rtx5090": "RTX 5090, inference",
    "pro6000-maxq": "RTX PRO 6000 Max-Q, inference",
    "rtx3090": "RTX 3090, inference",
    TRAINING_SET: "RTX 3090, training step",
}


@st.cache_data(show_spinner=False)
def held_out_frame() -> pd.DataFrame:
    """Every held-out prediction of timm's published rows, with throughputs (samples per second)."""
    if not HELD_OUT.exists():
        return pd.DataFrame(columns=["evaluation", "model", "image_size", "group", "batch", "published_per_s",
                                     "predicted_per_s", "error"])
    frame = pd.read_csv(HELD_OUT)
    frame = frame[frame["evaluation"].isin(EVALUATIONS)].copy()
    frame[["model", "image_size"]] = frame["sample"].str.rsplit("@", n=1, expand=True)
    frame["published_per_s"] = frame["batch"] / frame["measured_ms"] * 1e3
    frame["predicted_per_s"] = frame["batch"] / frame["predicted_ms"] * 1e3
    frame["error"] = frame["predicted_ms"] / frame["measured_ms"] - 1
    return frame


def catalogue_speed() -> None:
    """Predicted (held out) against published throughput for every timm model timm measured."""
    st.subheader("Speed: predicted vs published throughput")
    if not st.toggle("Compare each timm model's predicted throughput with the one timm measured",
                     key="catalogue_speed"):
        return
    frame = held_out_frame()
    if frame.empty:
        st.info("No held-out predictions shipped: run `python bench/validate_time_model.py`.", icon=":material/info:")
        return
    evaluation = st.radio("Measured on", list(EVALUATIONS), format_func=EVALUATIONS.get, horizontal=True,
                          key="catalogue_speed_device")
    shown = frame[frame["evaluation"] == evaluation]
    error = shown["error"].abs()  # the rows themselves, so the cards agree with the table to the last digit
    cols = st.columns(3)
    cols[0].metric("timm rows (model × image size)", f"{len(shown):,}")
    cols[1].metric("held-out median |error|", f"{error.median():.1%}")
    cols[2].metric("within ±25 %", f"{(error <= 0.25).mean():.0%}", help=f"within ±10 %: {(error <= 0.1).mean():.0%}")
    show_figure(predicted_vs_published(shown, title=f"{EVALUATIONS[evaluation]}: each model predicted by a fit "
                                                    "that never saw its family"), key="catalogue_speed_chart")
    table = shown[["model", "group", "image_size", "batch", "published_per_s", "predicted_per_s", "error"]]
    st.dataframe(table.sort_values("error"), hide_index=True, width="stretch", column_config={
        "group": st.column_config.TextColumn("family (held out together)"),
        "published_per_s": st.column_config.NumberColumn("published /s (timm, measured)", format="localized"),
        "predicted_per_s": st.column_config.NumberColumn("predicted /s (held out)", format="localized"),
        "error": st.column_config.NumberColumn("predicted ÷ published time − 1", format="percent"),
    })
    download_buttons(table, f"timm_predicted_vs_published_{evaluation}", key="catalogue_speed_download")
    st.caption("Published: timm's benchmark files (pytorch-image-models `results/`, AMP fp16, NCHW, eager, batch "
               "as in each row). Predicted: this project's per-layer time model, fitted without the model's family "
               "(bench/validate_time_model.py).")


def with_predicted_throughput(models: pd.DataFrame, *, key: str = "compare_speed") -> pd.DataFrame:
    """`models` (one row per model, at its default input) with a predicted-throughput column on a chosen device."""
    gpus = {s.key: s.name.removeprefix("NVIDIA ") for s in datasheets() if s.kind is DeviceKind.GPU}
    left, right = st.columns(2)
    keys = list(gpus)
    device = left.selectbox("Predicted throughput on", keys, format_func=gpus.get, key=f"{key}_device",
                            index=keys.index(DEFAULT_DEVICE) if DEFAULT_DEVICE in keys else 0)
    batch = right.selectbox("at batch", (1, 32, 256), index=2, key=f"{key}_batch")
    values, lows, highs = [], [], []
    for name in models["model"]:
        prediction = predict(_analysis(name), device, batch=batch)
        low_ms, high_ms = prediction.interval.bounds_ms(prediction.total_ms)
        values.append(round(prediction.throughput))
        lows.append(batch / (high_ms / 1e3))
        highs.append(batch / (low_ms / 1e3))
    column = f"predicted /s on {gpus[device]} (batch {batch}, bf16)"
    out = models.copy()
    at = out.columns.get_loc("paper") if "paper" in out.columns else len(out.columns)  # before the long text
    out.insert(at, column, values)
    out.insert(at + 1, "predicted /s, 80 % band", [f"{lo:,.0f}–{hi:,.0f}" for lo, hi in zip(lows, highs)])
    return out


def _analysis(name: str):
    if ":" in name:
        size = library_default_size(library_model(name))
        return analyze_model(ModelRequest.of(name, size)).analysis
    c, h, w = get_model_info(name).default_input()
    return analyze_model(ModelRequest.of(name, (c, h, w))).analysis
