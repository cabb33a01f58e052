"""Gradient norm against layer depth, one line per model, on a log axis: how well the gradient reaches each layer.

Takes the table of `analyzers.reports.gradients` rows (columns model, order, layer, type, grad_norm) and returns a figure;
it computes nothing itself.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from explorer.figures.theme import SERIES, empty_figure, legend_below, log_axes, styled

__all__ = ["gradient_norms"]


def gradient_norms(table: pd.DataFrame, *, relative_to_last: bool = False) -> go.Figure:
    """‖∂loss/∂W‖ of every weight layer (x: 1 = the first layer the forward pass runs), log y.

    `relative_to_last` divides each model's norms by its last layer's (the classifier), so models of different
    scales share one axis and 10⁰ marks "as strong as at the output".
    """
    if table.empty:
        return empty_figure("No gradients to show: pick at least one model.", title="Gradient norm by layer")
    fig = go.Figure()
    shown: list[float] = []
    for i, (model, rows) in enumerate(table.groupby("model", sort=False)):
        rows = rows.sort_values("order")
        norms = rows["grad_norm"].astype(float)
        y = (norms / norms.iloc[-1]) if relative_to_last else norms
        shown += y.tolist()
        fig.add_trace(
            go.Scatter(
                x=(rows["order"] + 1).tolist(),
                y=y.tolist(),
                name=str(model),
                mode="lines+markers",
                line=dict(color=SERIES[i % len(SERIES)], width=2),
                marker=dict(size=5),
                customdata=list(zip(rows["layer"], rows["type"], norms)),
                hovertemplate="%{customdata[0]} (%{customdata[1]})<br>layer %{x}<br>‖∇W‖ = %{customdata[2]:.3e}"
                + ("<br>÷ last layer's: %{y:.3g}" if relative_to_last else "")
                + f"<extra>{model}</extra>",
            )
        )
    fig.update_xaxes(title_text="weight layer, in execution order (1 = first conv)")
    fig.update_yaxes(title_text="‖∇W‖ ÷ last layer's" if relative_to_last else "‖∂loss/∂W‖ (log)")
    log_axes(fig, y=True, y_values=shown)
    legend_below(fig)
    return styled(fig, title="Gradient norm by layer, one step at initialisation", height=460)
