"""The atlas drawn: every model of a catalogue by MACs, params and activations, and accuracy where published.

Inputs are the atlas table (`explorer.atlas_table.atlas_frame`), one row per analysed model; colours are by
family so a family reads as one cloud.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from explorer.figures.theme import empty_figure, legend_right, styled

MAX_LEGEND_FAMILIES = 12  # beyond this a legend covers the chart: names are in the hover (and the family filter)

_HOVER = {"family": True, "params": ":,", "macs": ":,", "activation_bytes": ":,", "input": True}


def _family_legend(fig: go.Figure, data: pd.DataFrame) -> go.Figure:
    """A legend beside the plot for a few families; none for a whole catalogue (100+ families), whose names are
    in each point's hover."""
    if data["family"].nunique() > MAX_LEGEND_FAMILIES:
        fig.update_layout(showlegend=False)
    else:
        legend_right(fig)
    return fig


def macs_params_activations(frame: pd.DataFrame) -> go.Figure:
    """MACs against params, bubble area proportional to activation bytes, both axes log."""
    data = frame.dropna(subset=["macs", "params", "activation_bytes"])
    data = data[(data["macs"] > 0) & (data["params"] > 0)]
    if data.empty:
        return empty_figure("No analysed models match the filter")
    fig = px.scatter(data, x="macs", y="params", size="activation_bytes", color="family", hover_name="model",
                     hover_data=_HOVER, log_x=True, log_y=True, size_max=28,
                     labels={"macs": "MACs (conv, linear, matmul, attention)", "params": "parameters"})
    fig.update_traces(marker={"line": {"width": 0.5, "color": "white"}, "sizemin": 3})
    return styled(_family_legend(fig, data), title="MACs vs params (bubble area: activation bytes)", height=520)


def accuracy_vs_macs(frame: pd.DataFrame, source: str) -> go.Figure:
    data = frame.dropna(subset=["top1", "macs"])
    data = data[data["macs"] > 0]
    if data.empty:
        return empty_figure("No published ImageNet top-1 for these models")
    fig = px.scatter(data, x="macs", y="top1", color="family", hover_name="model", log_x=True,
                     hover_data={"params": ":,", "macs": ":,", "family": True},
                     labels={"macs": "MACs", "top1": "ImageNet top-1 %"})
    return styled(_family_legend(fig, data), title=f"ImageNet top-1 ({source}) vs MACs", height=440)


def ours_vs_fvcore(frame: pd.DataFrame) -> go.Figure:
    """Our GMACs against timm's published fvcore GMACs, with the line y = x."""
    data = frame.dropna(subset=["fvcore_gmacs", "gmacs"])
    data = data[(data["gmacs"] > 0) & (data["fvcore_gmacs"] > 0)]
    if data.empty:
        return empty_figure("No fvcore GMACs published for these models")
    fig = px.scatter(data, x="gmacs", y="fvcore_gmacs", color="family", hover_name="model", log_x=True, log_y=True,
                     labels={"gmacs": "our GMACs (conv, linear, matmul, attention)",
                             "fvcore_gmacs": "timm's GMACs (fvcore)"})
    low = float(min(data["gmacs"].min(), data["fvcore_gmacs"].min()))
    high = float(max(data["gmacs"].max(), data["fvcore_gmacs"].max()))
    fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="equal",
                             line={"dash": "dot", "color": "#9ca3af"}))
    return styled(_family_legend(fig, data), title="Ours vs fvcore's GMACs (timm's published figure)", height=440)
