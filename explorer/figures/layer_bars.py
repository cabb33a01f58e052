"""Cost per layer as bars: where the MACs and the parameters of a network sit, layer by layer.

One bar trace with a colour per bar, so every bar sits in its own slot over its own label (one trace per
category would leave gaps that Plotly fills by widening the bars over their neighbours); the legend comes from
marker-only traces that draw nothing.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from explorer.figures.layer_rows import depth_rows, hover_text, layer_axis, shown_row
from explorer.figures.theme import HIGHLIGHT, log_axes, styled

__all__ = ["macs_per_layer", "params_per_layer"]


def _bars(
    table: pd.DataFrame,
    column: str,
    *,
    title: str,
    unit: str,
    log_scale: bool,
    selected: str | None,
    depth: int | None,
    expanded: frozenset[str] | None = None,
) -> go.Figure:
    rows = depth_rows(table, depth, expanded)
    chosen = shown_row(list(rows["name"]), selected)
    fig = go.Figure(
        go.Bar(
            x=rows["position"],
            y=rows[column],
            marker=dict(
                color=list(rows["color"]),
                line=dict(color=[HIGHLIGHT if i == chosen else "rgba(0,0,0,0)" for i in range(len(rows))], width=3),
            ),
            customdata=rows["name"],
            hovertext=hover_text(rows),
            hovertemplate=f"%{{hovertext}}<br>%{{y:,}} {unit}<extra></extra>",
            showlegend=False,
            name=unit,
        )
    )
    costly = rows[rows[column] > 0]
    for category, color in dict(zip(costly["category"], costly["color"])).items():
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="markers", name=category, hoverinfo="skip",
                marker=dict(color=color, size=11, symbol="square"),
            )
        )  # fmt: skip
    layer_axis(fig, rows)
    fig.update_yaxes(title_text=unit, tickformat="~s")
    log_axes(fig, y=log_scale)
    fig.update_layout(xaxis_tickangle=-45 if len(rows) <= 32 else 0)
    return styled(fig, title=title)


def macs_per_layer(
    table: pd.DataFrame,
    *,
    log_scale: bool = False,
    selected: str | None = None,
    depth: int | None = None,
    expanded: frozenset[str] | None = None,
) -> go.Figure:
    """MACs of each layer the table shows (blocks in `expanded` open, or at `depth`; every leaf by default):
    convolutions dominate, pooling and activations are free."""
    return _bars(table, "macs", title="MACs per layer", unit="MACs", log_scale=log_scale, selected=selected,
                 depth=depth, expanded=expanded)  # fmt: skip


def params_per_layer(
    table: pd.DataFrame,
    *,
    log_scale: bool = False,
    selected: str | None = None,
    depth: int | None = None,
    expanded: frozenset[str] | None = None,
) -> go.Figure:
    """Parameters of each layer the table shows; a log axis shows the small conv layers next to huge FC layers."""
    return _bars(table, "params", title="Parameters per layer", unit="parameters", log_scale=log_scale,
                 selected=selected, depth=depth, expanded=expanded)  # fmt: skip
