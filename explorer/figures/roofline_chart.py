"""The roofline of one model on one device: every layer placed at its arithmetic intensity, on the roof.

Left of the ridge point a layer is limited by memory bandwidth, right of it by compute. Nothing is measured: each
point is the best the layer could do (its FLOPs over its lower-bound time), so the chart shows which layers no
amount of kernel tuning will bring to the compute peak — depthwise convolutions, small 1×1s, the classifier.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from analyzers.predict.roofline import ModelBound
from explorer.figures.theme import CATEGORY_COLORS, MUTED, layer_category, legend_below, log_axes, styled

__all__ = ["roofline_chart"]


def roofline_chart(bound: ModelBound, *, device: str, precision: str) -> go.Figure:
    """Layers with FLOPs as points on the roof (size ∝ √FLOPs); element-wise layers are summed in the title."""
    layers = [layer for layer in bound.layers if layer.flops > 0 and layer.bytes_moved > 0]
    zero_flop_ms = sum(layer.bound_ms for layer in bound.layers if layer.flops == 0)
    title = f"Roofline on {device}, {precision}: bound {bound.bound_ms:.3g} ms"
    if zero_flop_ms:
        title += f" (of which {zero_flop_ms:.3g} ms in layers without MACs)"
    fig = go.Figure()
    if not layers:
        return styled(fig, title=title)
    intensities = [layer.arithmetic_intensity for layer in layers]
    low, high = min(intensities + [bound.ridge_point]) / 2, max(intensities + [bound.ridge_point]) * 2
    xs = [low * (high / low) ** (i / 60) for i in range(61)]
    fig.add_trace(go.Scatter(
        x=xs, y=[min(bound.peak_tflops, bound.memory_gb_per_s * x / 1e3) for x in xs], mode="lines",
        name="roof: min(peak, bandwidth × intensity)", line=dict(color=MUTED, width=2), hoverinfo="skip",
    ))
    largest = max(layer.flops for layer in layers)
    by_category: dict = {}
    for layer in layers:
        by_category.setdefault(layer_category(layer.category), []).append(layer)
    for category, members in by_category.items():
        fig.add_trace(go.Scatter(
            x=[m.arithmetic_intensity for m in members],
            y=[m.flops / (m.bound_ms / 1e3) / 1e12 for m in members],
            mode="markers",
            name=category.value,
            marker=dict(color=CATEGORY_COLORS[category], size=[6 + 22 * math.sqrt(m.flops / largest) for m in members],
                        line=dict(width=1, color="white"), opacity=0.85),
            customdata=[[m.name, m.bound_ms, "memory" if m.memory_bound else "compute"] for m in members],
            hovertemplate="%{customdata[0]}<br>%{x:.3g} FLOP/byte · bound %{customdata[1]:.3g} ms"
            "<br>%{customdata[2]}-bound<extra></extra>",
        ))
    # A trace, not add_vline: shapes on a log axis take log10 coordinates, data traces take plain ones.
    floor = min(min(t.y) for t in fig.data if t.y is not None and len(t.y)) / 2
    fig.add_trace(go.Scatter(
        x=[bound.ridge_point, bound.ridge_point], y=[floor, bound.peak_tflops], mode="lines",
        name=f"ridge point {bound.ridge_point:.0f} FLOP/byte", line=dict(color=MUTED, dash="dot"), hoverinfo="skip",
    ))
    log_axes(fig, x=True, y=True)
    fig.update_xaxes(title_text="arithmetic intensity (FLOP / byte moved)")
    fig.update_yaxes(title_text="attainable TFLOP/s", tickformat="~g")  # 0.1, not SI's "100m" TFLOP/s
    legend_below(fig)
    return styled(fig, title=title, height=440)
