"""Training charts: forward vs backward MACs per layer, the live memory of one step over time, and a model's cost
with and without freezing. Built from the engine's training dataclasses (no DataFrames, no Streamlit)."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from analyzers.training.memory import Phase, StepMemory
from analyzers.training.analyze import TrainingAnalysis, TrainingLayer
from explorer.figures.theme import MUTED, SERIES, empty_figure, legend_below, styled
from explorer.ui.human import binary_bytes

__all__ = [
    "FORWARD_COLOR", "GIB", "INPUT_GRAD_COLOR", "PHASE_COLORS", "WEIGHT_GRAD_COLOR", "forward_backward_bars",
    "freezing_comparison", "memory_timeline",
]

FORWARD_COLOR, INPUT_GRAD_COLOR, WEIGHT_GRAD_COLOR = SERIES[0], SERIES[1], SERIES[3]
PHASE_COLORS = {Phase.FORWARD: SERIES[0], Phase.BACKWARD: SERIES[2], Phase.OPTIMIZER: SERIES[3]}
GIB = 2**30


def forward_backward_bars(layers: Sequence[TrainingLayer], *, title: str = "Forward vs backward MACs per layer",
                          log_scale: bool = False) -> go.Figure:
    """Per layer with MACs: the forward bar beside a stacked backward bar (input gradient + weight gradient)."""
    shown = [layer for layer in layers if layer.forward_macs or layer.backward_macs]
    if not shown:
        return empty_figure("No layer with MACs", title=title)
    names = [layer.name or "(model)" for layer in shown]
    fig = go.Figure()
    fig.add_bar(x=names, y=[layer.forward_macs for layer in shown], name="forward", offsetgroup="forward",
                marker_color=FORWARD_COLOR, hovertemplate="%{x}<br>forward %{y:,} MACs<extra></extra>")
    fig.add_bar(x=names, y=[layer.backward_input_macs for layer in shown], name="backward: input gradient",
                offsetgroup="backward", marker_color=INPUT_GRAD_COLOR,
                hovertemplate="%{x}<br>input gradient %{y:,} MACs<extra></extra>")
    fig.add_bar(x=names, y=[layer.backward_weight_macs for layer in shown], name="backward: weight gradient",
                offsetgroup="backward", base=[layer.backward_input_macs for layer in shown],
                marker_color=WEIGHT_GRAD_COLOR, hovertemplate="%{x}<br>weight gradient %{y:,} MACs<extra></extra>")
    fig.update_layout(barmode="group", bargap=0.15)
    fig.update_yaxes(title_text="MACs", type="log" if log_scale else "linear", tickformat="~s")
    fig.update_xaxes(showticklabels=len(shown) <= 60, tickangle=-60)
    legend_below(fig)
    return styled(fig, title=title, height=420)


def memory_timeline(memory: StepMemory, *, title: str = "Memory over one training step",
                    limit_bytes: int | None = None) -> go.Figure:
    """Live bytes (static + activations, saved tensors and gradients) while each layer's forward, then backward,
    then the optimizer step runs; the static part dashed, the peak marked, an optional device limit as a line."""
    points = memory.timeline
    if not points:
        return empty_figure("No timeline", title=title)
    fig = go.Figure()
    for phase in Phase:
        chosen = [p for p in points if p.phase is phase]
        if not chosen:
            continue
        fig.add_scatter(
            x=[p.index for p in chosen], y=[p.peak_bytes / GIB for p in chosen], mode="lines+markers",
            name=phase.value, line=dict(color=PHASE_COLORS[phase], shape="hv"),
            marker=dict(size=10 if phase is Phase.OPTIMIZER else 4),
            customdata=[[p.layer or "—", binary_bytes(p.peak_bytes)] for p in chosen],
            hovertemplate=f"{phase.value} of %{{customdata[0]}}<br>%{{customdata[1]}}<extra></extra>",
        )
    fig.add_hline(y=memory.static_bytes / GIB, line=dict(color=MUTED, dash="dot"),
                  annotation_text="parameters + optimizer state + input", annotation_position="top left")
    top = max(points, key=lambda p: p.peak_bytes)
    fig.add_annotation(x=top.index, y=top.peak_bytes / GIB, text=f"peak {binary_bytes(top.peak_bytes)}",
                       showarrow=True, arrowhead=2)
    if limit_bytes:
        fig.add_hline(y=limit_bytes / GIB, line=dict(color=SERIES[2], dash="dash"), annotation_text="device memory")
    fig.update_xaxes(title_text="step progress (one segment per layer and phase)")
    fig.update_yaxes(title_text="GiB live", rangemode="tozero")
    legend_below(fig)
    return styled(fig, title=title, height=400)


def freezing_comparison(full: TrainingAnalysis, frozen: TrainingAnalysis, *,
                        title: str = "With and without freezing") -> go.Figure:
    """Trainable parameters, backward MACs and peak step memory of the frozen run as a share of the full one."""
    measures = (
        ("trainable params", full.totals.trainable_params, frozen.totals.trainable_params, "{:,}"),
        ("backward MACs", full.totals.backward_macs, frozen.totals.backward_macs, "{:,}"),
        ("step MACs", full.totals.step_macs, frozen.totals.step_macs, "{:,}"),
        ("peak memory", full.memory.peak_bytes, frozen.memory.peak_bytes, "bytes"),
    )
    labels = [m[0] for m in measures]
    shares = [100 * m[2] / m[1] if m[1] else 0 for m in measures]

    def text(value: int, form: str) -> str:
        return binary_bytes(value) if form == "bytes" else form.format(value)

    fig = go.Figure()
    fig.add_bar(x=labels, y=[100] * len(labels), name="train everything", marker_color=MUTED, opacity=0.35,
                customdata=[text(m[1], m[3]) for m in measures], hovertemplate="%{x}: %{customdata}<extra></extra>")
    fig.add_bar(x=labels, y=shares, name=f"frozen through {frozen.frozen_through}", marker_color=SERIES[1],
                text=[f"{s:.1f}%" for s in shares], textposition="outside",
                customdata=[text(m[2], m[3]) for m in measures], hovertemplate="%{x}: %{customdata}<extra></extra>")
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="% of training everything", range=[0, 115])
    legend_below(fig)
    return styled(fig, title=title, height=380)
