"""Cumulative cost along the network: how fast MACs and parameters accumulate from input to output."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from explorer.figures.layer_rows import hover_text, layer_axis, leaf_rows
from explorer.figures.theme import SERIES, styled

__all__ = ["CUMULATIVE_COLUMNS", "cumulative_cost"]

CUMULATIVE_COLUMNS = {"macs": "MACs", "params": "parameters", "activation_elements": "activations"}


def cumulative_cost(table: pd.DataFrame) -> go.Figure:
    """Running % of the total for MACs, parameters and activations; steep steps are the expensive layers."""
    rows = leaf_rows(table)
    hover = hover_text(rows)
    fig = go.Figure()
    for color, (column, label) in zip(SERIES, CUMULATIVE_COLUMNS.items()):
        total = rows[column].sum()
        if not total:
            continue
        running = rows[column].cumsum()
        fig.add_trace(
            go.Scatter(
                x=rows["position"],
                y=100 * running / total,
                customdata=running,
                name=label,
                mode="lines",
                line=dict(color=color, width=2.5, shape="hv"),
                hovertext=hover,
                hovertemplate="%{hovertext}<br>%{y:.1f}% of " + label + " (%{customdata:,})<extra></extra>",
            )
        )
    layer_axis(fig, rows)
    fig.update_yaxes(title_text="% of total", range=[0, 103], ticksuffix="%")
    fig.update_layout(xaxis_tickangle=-45 if len(rows) <= 32 else 0)
    return styled(fig, title="Cumulative cost")
