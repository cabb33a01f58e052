"""Speed charts: where the predicted time goes against where the MACs go, predicted throughput against batch, and
predicted against published throughput for timm's models. Pure: predictions and tables in, figures out.

Every trace that shows a prediction says so in its name, and carries the held-out error interval (a band, or
error bars): a prediction is never drawn like a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analyzers.predict.prediction import Prediction
from analyzers.predict.time_model import Bound
from explorer.figures.theme import MUTED, SERIES, legend_below, log_axes, styled

__all__ = ["BOUND_COLORS", "ThroughputPoint", "time_vs_macs", "throughput_vs_batch", "predicted_vs_published"]

BOUND_COLORS = {Bound.COMPUTE: "#4f46e5", Bound.MEMORY: "#0d9488", Bound.OVERHEAD: "#d97706"}
MACS_COLOR = "#cbd5e1"


def time_vs_macs(prediction: Prediction, *, top: int | None = 40) -> go.Figure:
    """Per layer, its share of the model's MACs (grey) beside its share of the predicted time (coloured by what
    bounds it), for the `top` layers with the most predicted time, in execution order."""
    layers = [layer for layer in prediction.layers if layer.kernels]
    total_ms = prediction.total_ms or 1.0
    total_macs = sum(layer.macs for layer in layers) or 1
    if top is not None and len(layers) > top:
        keep = {id(layer) for layer in sorted(layers, key=lambda layer: -layer.time_ms)[:top]}
        layers = [layer for layer in layers if id(layer) in keep]
    names = [layer.name for layer in layers]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[layer.macs / total_macs for layer in layers], name="share of MACs (counted)",
                         marker_color=MACS_COLOR, hovertemplate="%{x}<br>%{y:.1%} of the MACs<extra></extra>"))
    for bound in Bound:
        ys = [layer.time_ms / total_ms if layer.bound is bound else None for layer in layers]
        if not any(y is not None for y in ys):
            continue
        fig.add_trace(go.Bar(
            x=names, y=ys, name=f"share of predicted time, {bound.value}-bound", marker_color=BOUND_COLORS[bound],
            customdata=[[layer.time_ms, layer.compute_ms, layer.memory_ms, layer.kernels] for layer in layers],
            hovertemplate="%{x}<br>%{y:.1%} of the predicted time (%{customdata[0]:.3g} ms)<br>compute "
                          "%{customdata[1]:.3g} ms · memory %{customdata[2]:.3g} ms · %{customdata[3]} kernel(s)"
                          "<extra>predicted</extra>"))
    fig.update_layout(barmode="group", bargap=0.15)
    fig.update_yaxes(title_text="share of the model", tickformat=".1%")  # layers hold a few per cent each
    fig.update_xaxes(title_text=None, showticklabels=len(layers) <= 60, tickangle=-45)
    shown = f"the {len(layers)} layers with the most predicted time" if top and len(layers) == top else "every layer"
    legend_below(fig)
    return styled(fig, title=f"Where the predicted time goes vs where the MACs go ({shown}; "
                             f"{prediction.total_ms:.3g} ms predicted in all)", height=440)


@dataclass(frozen=True)
class ThroughputPoint:
    batch: int
    predicted_per_s: float
    low_per_s: float  # where 80 % of held-out measurements fell
    high_per_s: float


def throughput_vs_batch(points: Sequence[ThroughputPoint], *, device: str, basis: str) -> go.Figure:
    """Predicted samples per second against the batch, with the band where 80 % of held-out measurements fell."""
    batches = [p.batch for p in points]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=batches + batches[::-1], y=[p.high_per_s for p in points] +
                             [p.low_per_s for p in points][::-1], fill="toself", fillcolor="rgba(79,70,229,0.15)",
                             line=dict(width=0), name="80 % of held-out measurements fell here", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=batches, y=[p.predicted_per_s for p in points], mode="lines+markers",
                             name="predicted throughput", line=dict(color=SERIES[0], width=2),
                             customdata=[[p.low_per_s, p.high_per_s] for p in points],
                             hovertemplate="batch %{x}: %{y:,.0f} samples/s predicted<br>80 % band "
                                           "%{customdata[0]:,.0f}–%{customdata[1]:,.0f}<extra></extra>"))
    log_axes(fig, x=True, y=True, x_values=batches, y_values=[p.low_per_s for p in points] +
             [p.high_per_s for p in points])
    fig.update_xaxes(title_text="batch")
    fig.update_yaxes(title_text="samples / s (predicted)")
    legend_below(fig)
    return styled(fig, title=f"Predicted throughput against batch on the {device} ({basis})", height=400)


def predicted_vs_published(frame: pd.DataFrame, *, title: str) -> go.Figure:
    """One point per timm model: published throughput (x) against the model's prediction made while the model's
    family was held out (y), on log axes, with y = x and the ±25 % band. `frame` has `model`, `group`,
    `published_per_s`, `predicted_per_s`."""
    fig = go.Figure()
    if frame.empty:
        return styled(fig, title=title)
    low = float(min(frame["published_per_s"].min(), frame["predicted_per_s"].min())) / 1.5
    high = float(max(frame["published_per_s"].max(), frame["predicted_per_s"].max())) * 1.5
    xs = np.geomspace(low, high, 50)
    fig.add_trace(go.Scatter(x=np.concatenate([xs, xs[::-1]]), y=np.concatenate([xs * 1.25, xs[::-1] * 0.75]),
                             fill="toself", fillcolor="rgba(107,114,128,0.12)", line=dict(width=0),
                             name="within ±25 %", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=xs, y=xs, mode="lines", line=dict(color=MUTED, dash="dot"), name="predicted = "
                             "published", hoverinfo="skip"))
    error = frame["predicted_per_s"] / frame["published_per_s"] - 1
    fig.add_trace(go.Scatter(
        x=frame["published_per_s"], y=frame["predicted_per_s"], mode="markers", name="timm model (prediction made "
        "with its family held out)", marker=dict(color=SERIES[0], size=6, opacity=0.6),
        customdata=np.stack([frame["model"], frame["group"], error], axis=1),
        hovertemplate="%{customdata[0]} (%{customdata[1]})<br>published %{x:,.0f}/s · predicted %{y:,.0f}/s"
                      "<br>error %{customdata[2]:+.0%}<extra></extra>"))
    log_axes(fig, x=True, y=True)
    fig.update_xaxes(title_text="published throughput, samples/s (measured by timm)")
    fig.update_yaxes(title_text="predicted throughput, samples/s (held out)")
    legend_below(fig)
    return styled(fig, title=title, height=520)
