"""The notes' argument for stacked small kernels as a chart: how far each layer sees, against how deep it is.

Reads the typed analysis (each record's `receptive_field` and `weight_depth`); the arithmetic is the engine's
(`analyzers/counting/flow.py`). Only the layers that change the field are drawn: convolutions and pooling windows,
and the attention (or other activation-by-activation product) that makes a layer see the whole input. A field
larger than the input is drawn at the input's size, hollow, with the theoretical size in its hover.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from analyzers.counting.formula_text import jump_text, receptive_field_text
from analyzers.records import Analysis, LayerRecord, OpCategory
from explorer.figures.theme import CATEGORY_COLORS, MUTED, LayerCategory, empty_figure, log_axes, styled

__all__ = ["MAX_UNIT_TICKS", "receptive_field_chart"]

_DRAWN = {OpCategory.CONV: LayerCategory.CONV, OpCategory.POOLING: LayerCategory.POOL}
_MIXING = frozenset({OpCategory.ATTENTION, OpCategory.MATMUL})  # drawn only where they cover the whole input
MAX_UNIT_TICKS = 20  # up to this many weight layers, one tick per layer (never a fractional one)


def _hover(r: LayerRecord, side: int) -> str:
    field = r.receptive_field
    text = f"<b>{html.escape(r.name or 'model')}</b> ({html.escape(r.type)})<br>weight layer {r.weight_depth}"
    if field is not None and field.covers_input:
        return text + "<br>sees the whole input"
    theoretical = max(field.size)
    if theoretical > side:
        return text + (f"<br>receptive field {side} px, clipped to the input (theoretical "
                       f"{receptive_field_text(field)} px) · jump {jump_text(field)} px")
    return text + f"<br>receptive field {receptive_field_text(field)} px · jump {jump_text(field)} px"


def receptive_field_chart(analysis: Analysis) -> go.Figure:
    """Receptive field size (log axis) of every conv and pooling layer against its weight depth; layers that see the
    whole input are marked at the input's size."""
    layers = [r for r in analysis.leaves() if r.receptive_field is not None and (
        r.category in _DRAWN or (r.receptive_field.covers_input and any(op.category in _MIXING for op in r.ops)))]
    if not layers:
        return empty_figure("No convolution or pooling layer with a receptive field to plot.",
                            title="Receptive field")
    side = max(analysis.input_size[1:], default=1)
    fig = go.Figure()
    for category, layer_category in _DRAWN.items():
        drawn = [r for r in layers if r.category is category and not r.receptive_field.covers_input]
        if not drawn:
            continue
        symbol = "circle" if category is OpCategory.CONV else "diamond"
        fig.add_trace(go.Scatter(
            x=[r.weight_depth for r in drawn],
            y=[min(max(r.receptive_field.size), side) for r in drawn],
            mode="markers+lines" if category is OpCategory.CONV else "markers",
            name=layer_category.value,
            marker=dict(color=CATEGORY_COLORS[layer_category], size=8,
                        symbol=[symbol + ("-open" if max(r.receptive_field.size) > side else "") for r in drawn],
                        line=dict(color=CATEGORY_COLORS[layer_category], width=1.5)),
            line=dict(color=CATEGORY_COLORS[layer_category], width=1.5, shape="hv"),
            customdata=[r.name for r in drawn],
            hovertext=[_hover(r, side) for r in drawn],
            hovertemplate="%{hovertext}<extra></extra>",
        ))
    whole = [r for r in layers if r.receptive_field.covers_input]
    if whole:
        fig.add_trace(go.Scatter(
            x=[r.weight_depth for r in whole], y=[side] * len(whole), mode="markers", name="whole input",
            marker=dict(color=MUTED, size=10, symbol="star"), customdata=[r.name for r in whole],
            hovertext=[_hover(r, side) for r in whole], hovertemplate="%{hovertext}<extra></extra>",
        ))
    deepest = max(r.weight_depth for r in layers)
    fig.add_trace(go.Scatter(  # a trace, not a shape: shapes on a log axis take log10 coordinates
        x=[0, deepest + 0.5], y=[side, side], mode="lines", name=f"input ({side} px)", hoverinfo="skip",
        line=dict(color=MUTED, dash="dot", width=1),
    ))
    fig.update_xaxes(title_text="weight layers from the input (conv + linear on the longest path)", rangemode="tozero",
                     tickformat="d", **({"dtick": 1} if deepest <= MAX_UNIT_TICKS else {}))
    log_axes(fig, y=True, y_values=[*(min(max(r.receptive_field.size), side) for r in layers
                                      if r.receptive_field.size), side])
    fig.update_yaxes(title_text="receptive field (input pixels)")
    return styled(fig, title="Receptive field vs depth")
