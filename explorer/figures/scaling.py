"""Scaling rules against counted cost: EfficientNet's compound scaling and single knobs, MobileNet's α and ρ.

Each figure takes a table of (setting, counted MACs, predicted MACs) rows the page computes with the analyzer,
so the chart shows how well the papers' rules of thumb describe the real networks.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go

from explorer.figures.theme import HIGHLIGHT, SERIES, log_axes, styled

__all__ = ["BAR_LABEL_CHARS", "compound_scaling", "knob_scaling", "resolution_scaling", "width_scaling"]


def _curves(
    table: pd.DataFrame,
    x: str,
    *,
    x_title: str,
    title: str,
    predictions: dict[str, str],
    current: float | None,
    log_y: bool,
) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=table[x],
            y=table["counted_macs"],
            name="counted (analyzer)",
            mode="lines+markers",
            line=dict(color=SERIES[0], width=3),
            marker=dict(size=8),
            hovertemplate=f"{x_title} %{{x}}<br>%{{y:,}} MACs counted<extra></extra>",
        )
    )
    for i, (column, label) in enumerate(predictions.items(), start=1):
        fig.add_trace(
            go.Scatter(
                x=table[x],
                y=table[column],
                name=label,
                mode="lines",
                line=dict(color=SERIES[i], width=2, dash="dash"),
                hovertemplate=f"{x_title} %{{x}}<br>%{{y:,.0f}} MACs predicted<extra></extra>",
            )
        )
    if current is not None:
        fig.add_vline(x=current, line=dict(color=HIGHLIGHT, width=2, dash="dot"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text="MACs", tickformat="~s")
    log_axes(fig, y=log_y, y_values=[*table["counted_macs"], *(v for c in predictions for v in table[c])])
    return styled(fig, title=title, height=400)


def compound_scaling(table: pd.DataFrame, *, current_phi: float | None = None) -> go.Figure:
    """Counted MACs of `efficientnet(phi)` against 2^φ × B0 and (α·β²·γ²)^φ × B0 (columns phi, counted_macs,
    predicted_macs, rule_macs)."""
    return _curves(
        table,
        "phi",
        x_title="φ",
        title="EfficientNet: compound scaling, MACs against φ",
        predictions={"predicted_macs": "2^φ × B0", "rule_macs": "(α·β²·γ²)^φ × B0"},
        current=current_phi,
        log_y=True,
    )


def width_scaling(table: pd.DataFrame, *, current_alpha: float | None = None) -> go.Figure:
    """MobileNet's width multiplier α: counted MACs against α² × MACs(α = 1) (columns alpha, counted_macs,
    predicted_macs)."""
    return _curves(
        table,
        "alpha",
        x_title="width multiplier α",
        title="MobileNet: cost against width α",
        predictions={"predicted_macs": "α² × MACs(α=1)"},
        current=current_alpha,
        log_y=False,
    )


def resolution_scaling(table: pd.DataFrame, *, current_resolution: int | None = None) -> go.Figure:
    """MobileNet's resolution ρ: counted MACs against ρ² × MACs(ρ = 1) (columns resolution, counted_macs,
    predicted_macs)."""
    return _curves(
        table,
        "resolution",
        x_title="input resolution (ρ·224)",
        title="MobileNet: cost against resolution ρ",
        predictions={"predicted_macs": "ρ² × MACs(ρ=1)"},
        current=current_resolution,
        log_y=False,
    )


BAR_LABEL_CHARS = 16  # a setting's name wraps onto lines this long under its bars, never rotated (and cut off)


def _wrapped(label: str) -> str:
    return "<br>".join(textwrap.wrap(label, BAR_LABEL_CHARS, break_long_words=False)) or label


def knob_scaling(table: pd.DataFrame, *, current: str | None = None) -> go.Figure:
    """EfficientNet scaled one dimension at a time: the counted MACs factor over B0 beside the paper's d·w²·r²,
    one pair of bars per setting (columns setting, predicted_macs_factor, counted_macs_factor); the row labelled
    `current` is outlined. Settings are named in short lines under their bars."""
    fig = go.Figure()
    outline = [3 if label == current else 0 for label in table["setting"]]
    labels = [_wrapped(str(label)) for label in table["setting"]]
    for i, (column, name) in enumerate(
        (("predicted_macs_factor", "predicted d·w²·r²"), ("counted_macs_factor", "counted (analyzer)"))
    ):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=table[column].tolist(),
                name=name,
                marker=dict(color=SERIES[i], line=dict(color=HIGHLIGHT, width=outline)),
                hovertemplate="%{x}<br>× %{y:.2f} B0's MACs<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(tickangle=0, automargin=True)  # no axis title: it sat on the wrapped names
    fig.update_yaxes(title_text="MACs ÷ B0's MACs")
    lines = max(label.count("<br>") + 1 for label in labels) if labels else 1
    return styled(fig, title="EfficientNet: each dimension alone, counted against d·w²·r²", height=400 + 16 * lines)
