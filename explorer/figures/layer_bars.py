"""Cost per layer as bars: where the MACs and the parameters of a network sit, layer by layer."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from explorer.figures.layer_rows import hover_text, layer_axis, leaf_rows
from explorer.figures.theme import CATEGORY_COLORS, HIGHLIGHT, LayerCategory, log_axes, styled


def _bars(
    table: pd.DataFrame, column: str, *, title: str, unit: str, log_scale: bool, selected: str | None
) -> go.Figure:
    rows = leaf_rows(table)
    hover = hover_text(rows)
    fig = go.Figure()
    for category in LayerCategory:  # one trace per category gives a legend that explains the colours
        part = rows[rows["category"] == category.value]
        if part.empty or not (part[column] > 0).any():
            continue
        fig.add_trace(
            go.Bar(
                x=part["position"],
                y=part[column],
                name=category.value,
                marker=dict(
                    color=CATEGORY_COLORS[category],
                    line=dict(
                        color=[HIGHLIGHT if name == selected else "rgba(0,0,0,0)" for name in part["name"]],
                        width=3,
                    ),
                ),
                customdata=part["name"],
                hovertext=[hover[i] for i in part.index],
                hovertemplate=f"%{{hovertext}}<br>%{{y:,}} {unit}<extra></extra>",
            )
        )
    layer_axis(fig, rows)
    fig.update_yaxes(title_text=unit, tickformat="~s")
    log_axes(fig, y=log_scale)
    fig.update_layout(barmode="overlay", xaxis_tickangle=-45 if len(rows) <= 32 else 0)
    return styled(fig, title=title)


def macs_per_layer(table: pd.DataFrame, *, log_scale: bool = False, selected: str | None = None) -> go.Figure:
    """MACs of each leaf layer: convolutions dominate, pooling and activations are free."""
    return _bars(table, "macs", title="MACs per layer", unit="MACs", log_scale=log_scale, selected=selected)


def params_per_layer(table: pd.DataFrame, *, log_scale: bool = False, selected: str | None = None) -> go.Figure:
    """Parameters of each leaf layer; a log axis shows the small conv layers next to huge FC layers."""
    return _bars(
        table, "params", title="Parameters per layer", unit="parameters", log_scale=log_scale, selected=selected
    )
