"""The seeds' key observation as a chart: going deeper, H·W falls while the channel count C rises."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures.layer_rows import hover_text, layer_axis, leaf_rows
from explorer.figures.shape_text import first_shape, spatial_and_channels
from explorer.figures.theme import SERIES, empty_figure, styled

__all__ = ["shape_progression"]


def _powers_of_two(values: list[int]) -> list[int]:
    """Channel ticks at 1, 2, 4, … 2048: channel counts are (nearly always) powers of two."""
    top = max(values, default=1)
    return [2**k for k in range(top.bit_length() + 1)]


def shape_progression(table: pd.DataFrame) -> go.Figure:
    """H·W and C of every layer's output feature map, on two log axes, in execution order."""
    rows = leaf_rows(table)
    sizes = [spatial_and_channels(first_shape(s)) for s in rows["output_shape"]]
    keep = [s is not None for s in sizes]
    rows = rows[keep]
    sizes = [s for s in sizes if s is not None]
    if rows.empty:
        return empty_figure("No feature maps (N×C×H×W outputs) to plot.", title="Shape progression")
    spatial = [s[0] for s in sizes]
    channels = [s[1] for s in sizes]
    hover = hover_text(rows)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(
            x=rows["position"],
            y=spatial,
            name="H·W",
            mode="lines+markers",
            line=dict(color=SERIES[0], width=2.5, shape="hv"),
            marker=dict(size=5),
            hovertext=hover,
            hovertemplate="%{hovertext}<br>H·W = %{y:,}<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=rows["position"],
            y=channels,
            name="C (channels)",
            mode="lines+markers",
            line=dict(color=SERIES[2], width=2.5, shape="hv"),
            marker=dict(size=5),
            hovertext=hover,
            hovertemplate="%{hovertext}<br>C = %{y:,}<extra></extra>",
        ),
        secondary_y=True,
    )
    layer_axis(fig, rows)
    fig.update_yaxes(title_text="H·W", type="log", dtick=1, secondary_y=False, title_font_color=SERIES[0])
    fig.update_yaxes(
        title_text="C",
        type="log",
        tickvals=_powers_of_two(channels),
        secondary_y=True,
        title_font_color=SERIES[2],
        showgrid=False,
    )
    fig.update_layout(xaxis_tickangle=-45 if len(rows) <= 32 else 0)
    return styled(fig, title="Shape progression: H·W falls while C rises")
