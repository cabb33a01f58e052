"""The atlas drawn: every model of a catalogue by MACs, params and activations, and accuracy where published.

Inputs are the atlas table (`explorer.atlas_table.atlas_frame`), one row per analysed model; colours are by
family so a family reads as one cloud. A whole catalogue has 100+ families: the largest ones keep their colour and
legend entry, the rest share one grey "other families" entry (each point still names its family in the hover),
and the points that have room are named beside them — a family's largest model first — the rest in the hover.
Every point carries its model name as custom data, so a click can open it on the Architecture page.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from explorer.figures.point_labels import MARKER_PX, label_positions, padded_range
from explorer.figures.theme import (
    INK,
    MUTED,
    SERIES,
    empty_figure,
    legend_right,
    styled,
)

__all__ = [
    "MAX_LEGEND_FAMILIES", "MAX_NAMED_POINTS", "OTHER_COLOR", "OTHER_FAMILIES", "PALETTE", "accuracy_vs_macs",
    "macs_params_activations", "ours_vs_fvcore",
]

MAX_LEGEND_FAMILIES = 12  # legend entries beside a chart: the 11 largest families and "other families"
MAX_NAMED_POINTS = 40  # names tried beside points (the rest are in the hover)
OTHER_FAMILIES = "other families"
OTHER_COLOR = "#cbd5e1"
PALETTE = (*SERIES, "#0891b2", "#ca8a04", "#9333ea")

_HOVER = {"family": True, "params": ":,", "macs": ":,", "activation_bytes": ":,", "input": True, "group": False}


def family_colors(frame: pd.DataFrame) -> dict[str, str]:
    """A colour for each of the largest families of `frame` (at most MAX_LEGEND_FAMILIES − 1 when there are more)
    and OTHER_FAMILIES' grey: pass the same map to every chart of a page, so a family keeps its colour on all."""
    sizes = frame["family"].value_counts()
    keep = list(sizes.index[: MAX_LEGEND_FAMILIES - 1]) if len(sizes) > MAX_LEGEND_FAMILIES else list(sizes.index)
    colors = {family: PALETTE[i % len(PALETTE)] for i, family in enumerate(sorted(keep))}
    colors[OTHER_FAMILIES] = OTHER_COLOR
    return colors


def _grouped(data: pd.DataFrame, colors: dict[str, str] | None) -> tuple[pd.DataFrame, dict[str, str], dict]:
    """`data` with a `group` column (its family, or OTHER_FAMILIES), the colours, and the legend's order."""
    colors = colors if colors is not None else family_colors(data)
    data = data.assign(group=[f if f in colors else OTHER_FAMILIES for f in data["family"]])
    order = {"group": [*sorted(set(colors) - {OTHER_FAMILIES}), OTHER_FAMILIES]}
    return data, colors, order


BUBBLE_MAX_PX = 28  # the largest bubble's diameter (px.scatter's size_max)
BUBBLE_MIN_PX = 3


def _bubble_px(sizes: pd.Series, largest: float) -> list[float]:
    """Each bubble's diameter as Plotly draws it: area mode with px.scatter's sizeref = 2·largest / size_max²."""
    sizeref = 2.0 * largest / BUBBLE_MAX_PX**2
    return [max((float(v) / sizeref) ** 0.5, BUBBLE_MIN_PX) for v in sizes]


def _named(fig: go.Figure, data: pd.DataFrame, x: str, y: str, *, log_y: bool, plot_px: tuple[float, float],
           size: str | None = None) -> None:
    """Names beside the points that have room: the largest model (by MACs) of each family in the legend (all of
    them when few are shown), placed by `label_positions` on the axis ranges set here, so no two names overlap
    (nor sit on a bubble: `size` is the column the bubbles' areas follow)."""
    pool = data if len(data) <= MAX_NAMED_POINTS else data[data["group"] != OTHER_FAMILIES]
    candidates = pool.sort_values("macs", ascending=False)
    if len(data) > MAX_NAMED_POINTS:
        candidates = candidates.drop_duplicates("family")
    if candidates.empty:
        return
    x_range = padded_range(data[x].astype(float), log=True, fraction=0.05)
    y_range = padded_range(data[y].astype(float), log=log_y, fraction=0.08)
    fig.update_xaxes(range=x_range)
    fig.update_yaxes(range=y_range)
    diameters = _bubble_px(candidates[size], float(data[size].max())) if size else [MARKER_PX] * len(candidates)
    positions = label_positions(list(candidates[x].astype(float)), list(candidates[y].astype(float)),
                                list(candidates["model"]), x_range=x_range, y_range=y_range, log_x=True,
                                log_y=log_y, width_px=plot_px[0], height_px=plot_px[1], marker_px=diameters)
    named = [(row, p, d) for row, p, d in zip(candidates.itertuples(), positions, diameters) if p]
    if named:  # invisible markers the size of the bubbles: Plotly sets each name off by its marker's radius
        fig.add_trace(go.Scatter(
            x=[getattr(r, x) for r, _, _ in named], y=[getattr(r, y) for r, _, _ in named], mode="markers+text",
            marker=dict(size=[d for _, _, d in named], color="rgba(0,0,0,0)"), text=[r.model for r, _, _ in named],
            textposition=[p for _, p, _ in named], textfont=dict(size=11, color=INK), hoverinfo="skip",
            showlegend=False, name="names"))


def _family_legend(fig: go.Figure, data: pd.DataFrame) -> go.Figure:
    """The legend beside the plot: the largest families, then everything else as one grey entry."""
    legend_right(fig)
    fig.update_layout(legend_title_text=f"family ({data['family'].nunique():,})")
    return fig


def macs_params_activations(frame: pd.DataFrame, colors: dict[str, str] | None = None) -> go.Figure:
    """MACs against params, bubble area proportional to activation bytes, both axes log."""
    data = frame.dropna(subset=["macs", "params", "activation_bytes"])
    data = data[(data["macs"] > 0) & (data["params"] > 0)]
    if data.empty:
        return empty_figure("No analysed models match the filter")
    data, colors, order = _grouped(data, colors)
    fig = px.scatter(data, x="macs", y="params", size="activation_bytes", color="group", hover_name="model",
                     hover_data=_HOVER, log_x=True, log_y=True, size_max=BUBBLE_MAX_PX, custom_data=["model"],
                     color_discrete_map=colors, category_orders=order,
                     labels={"macs": "MACs (conv, linear, matmul, attention)", "params": "parameters"})
    fig.update_traces(marker={"line": {"width": 0.5, "color": "white"}, "sizemin": BUBBLE_MIN_PX})
    _named(fig, data, "macs", "params", log_y=True, plot_px=(700.0, 400.0), size="activation_bytes")
    return styled(_family_legend(fig, data), title="MACs vs params (bubble area: activation bytes)", height=520)


def accuracy_vs_macs(frame: pd.DataFrame, source: str, colors: dict[str, str] | None = None) -> go.Figure:
    data = frame.dropna(subset=["top1", "macs"])
    data = data[data["macs"] > 0]
    if data.empty:
        return empty_figure("No published ImageNet top-1 for these models")
    data, colors, order = _grouped(data, colors)
    fig = px.scatter(data, x="macs", y="top1", color="group", hover_name="model", log_x=True, custom_data=["model"],
                     hover_data={"params": ":,", "macs": ":,", "family": True, "group": False},
                     color_discrete_map=colors, category_orders=order,
                     labels={"macs": "MACs", "top1": "ImageNet top-1 %"})
    if len(data) <= MAX_NAMED_POINTS:  # a half-width chart names its points only when they are few
        _named(fig, data, "macs", "top1", log_y=False, plot_px=(300.0, 300.0))
    return styled(_family_legend(fig, data), title=f"ImageNet top-1 ({source}) vs MACs", height=440)


def ours_vs_fvcore(frame: pd.DataFrame, colors: dict[str, str] | None = None) -> go.Figure:
    """Our GMACs against timm's published fvcore GMACs, with the line y = x."""
    data = frame.dropna(subset=["fvcore_gmacs", "gmacs"])
    data = data[(data["gmacs"] > 0) & (data["fvcore_gmacs"] > 0)]
    if data.empty:
        return empty_figure("No fvcore GMACs published for these models")
    data, colors, order = _grouped(data, colors)
    fig = px.scatter(data, x="gmacs", y="fvcore_gmacs", color="group", hover_name="model", log_x=True, log_y=True,
                     custom_data=["model"], color_discrete_map=colors, hover_data={"family": True, "group": False},
                     category_orders=order,
                     labels={"gmacs": "our GMACs (conv, linear, matmul, attention)",
                             "fvcore_gmacs": "timm's GMACs (fvcore)"})
    low = float(min(data["gmacs"].min(), data["fvcore_gmacs"].min()))
    high = float(max(data["gmacs"].max(), data["fvcore_gmacs"].max()))
    fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="equal",
                             line={"dash": "dot", "color": MUTED}))
    return styled(_family_legend(fig, data), title="Ours vs fvcore's GMACs (timm's published figure)", height=440)
