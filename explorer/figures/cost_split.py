"""Cost split by layer type: which kinds of layer hold the parameters and which do the arithmetic.

The seeds' example: VGG-16's 138M parameters sit mostly in its fully connected layers, while almost all of
its MACs are convolutions.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from explorer.figures.layer_rows import leaf_rows
from explorer.figures.theme import SERIES, empty_figure, styled

__all__ = ["SHARE_COLUMNS", "cost_by_category", "cost_split"]

SHARE_COLUMNS = {"params": "parameters", "macs": "MACs", "activation_elements": "activations"}


def cost_by_category(table: pd.DataFrame) -> pd.DataFrame:
    """Totals and % shares of params, MACs and activation elements per layer category, largest first."""
    rows = leaf_rows(table)
    grouped = rows.groupby("category")[list(SHARE_COLUMNS)].sum()
    for column in SHARE_COLUMNS:
        total = grouped[column].sum()
        grouped[f"{column}_pct"] = 100 * grouped[column] / total if total else 0.0
    grouped["layers"] = rows.groupby("category").size()
    return grouped.sort_values(["params", "macs"], ascending=False).reset_index()


def cost_split(table: pd.DataFrame) -> go.Figure:
    """Share (%) of parameters, MACs and activation memory per layer category, as grouped horizontal bars."""
    split = cost_by_category(table)
    split = split[(split["params"] > 0) | (split["macs"] > 0) | (split["activation_elements"] > 0)]
    if split.empty:
        return empty_figure("Nothing to split: the model has no cost.", title="Cost by layer type")
    fig = go.Figure()
    for color, (column, label) in zip(SERIES, SHARE_COLUMNS.items()):
        fig.add_trace(
            go.Bar(
                y=split["category"],
                x=split[f"{column}_pct"],
                name=label,
                orientation="h",
                marker_color=color,
                customdata=split[column],
                text=[f"{v:.0f}%" if v >= 1 else "" for v in split[f"{column}_pct"]],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{x:.1f}% of " + label + " (%{customdata:,})<extra></extra>",
            )
        )
    fig.update_layout(barmode="group", bargroupgap=0.05)
    fig.update_xaxes(title_text="% of the model's total", range=[0, 112], ticksuffix="%")
    fig.update_yaxes(autorange="reversed")
    return styled(fig, title="Cost by layer type", height=max(260, 90 + 70 * len(split)))
