"""The headline numbers of one analysis as a row of metric cards, with the exact counts underneath."""

from __future__ import annotations

import streamlit as st

from analyzers import Analysis
from explorer.figures.shape_text import input_volume
from explorer.ui.human import binary_bytes, compact, exact

__all__ = ["CARDS_PER_ROW", "summary_metrics"]


CARDS_PER_ROW = 4


def summary_metrics(analysis: Analysis) -> None:
    """Params, MACs, FLOPs, activation memory, depth and uncounted ops (K, M, G, T, P, E prefixes, never an
    exponent); the exact counts in each card's tooltip and in a caption below."""
    t = analysis.totals
    memory_value, memory_unit = binary_bytes(t.activation_bytes).split(
        " "
    )  # the unit goes in the label: cards are narrow
    cards = (
        ("Parameters", compact(t.params),
         f"{exact(t.params)} parameters: {binary_bytes(t.param_bytes)} of weights ({analysis.dtype_name})"),
        ("MACs", compact(t.macs), f"{exact(t.macs)} multiply–accumulates of conv, linear, matmul and attention"),
        ("FLOPs", compact(t.flops), f"{exact(t.flops)} FLOPs = 2 × MACs"),
        (f"Activations, {memory_unit}", memory_value,
         f"{exact(t.activation_bytes)} bytes: {exact(t.activation_elements)} activation elements written"),
        ("Weight layers", exact(t.weight_depth), "conv and linear layers on the longest input → output path: the "
         "depth papers state (VGG-16: 16, ResNet-50: 50)"),
        ("Leaf modules", exact(t.layers), f"modules without children, plus containers' own ops; modules nest "
         f"{analysis.depth} deep"),
        ("Uncounted ops", exact(t.uncounted_ops), "op calls with no formula (reported, never silently zero)"),
    )
    for start in range(0, len(cards), CARDS_PER_ROW):  # rows of four: seven cards in one row truncate "25.6 M"
        row = cards[start : start + CARDS_PER_ROW]
        for column, (label, value, help_text) in zip(st.columns(CARDS_PER_ROW), row):
            column.metric(label, value, help=help_text, border=True)
    input_text = input_volume(analysis.input_size)
    st.caption(
        f"Exactly **{exact(t.params)}** parameters · **{exact(t.macs)}** MACs · {exact(t.elementwise_ops)} element-wise ops"
        f" · input {input_text}, batch {analysis.batch_size}, {analysis.dtype_name}"
    )
