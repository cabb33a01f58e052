"""Everything the Architecture and Design pages show for one analysis: metrics, diagram, table and charts.

Figures are cached per (analysis, depth, selection, options): a rerun that changes nothing rebuilds nothing.
The diagram, the bar charts and the table share one selected layer (see `selection`).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analyzers.records import Analysis

from explorer.figures.cost_split import cost_split
from explorer.figures.cumulative import cumulative_cost
from explorer.figures.field_text import input_sides
from explorer.figures.layer_bars import macs_per_layer, params_per_layer
from explorer.figures.receptive_field import receptive_field_chart
from explorer.figures.network_diagram import network_diagram, readable_depth
from explorer.figures.shape_progression import shape_progression
from explorer.ui.byte_budget_cache import ByteBudgetCache
from explorer.ui.cached_analysis import ModelAnalysis
from explorer.ui.expansion import close_all, expanded_blocks, open_all
from explorer.ui.layer_details import layer_details
from explorer.ui.layer_table import layer_table
from explorer.ui.plotly_chart import show_figure
from explorer.ui.roofline_tab import roofline_tab
from explorer.ui.selection import chart_key, on_chart_select, selected_layer
from explorer.ui.summary_metrics import summary_metrics


FIT_HEIGHT_PX = 760  # "fit the network in view": the tallest the diagram may be drawn


FIGURE_BUDGET_BYTES = 128 * 2**20  # a 2,000-layer diagram is megabytes: bound the figures by size, not count only
_POINT_BYTES = 64  # per plotted value (x, y, custom data, text) as Plotly keeps it, roughly


def _figure_bytes(fig: go.Figure) -> int:
    """A rough size of a figure: its plotted values and texts (what grows with the number of layers)."""
    fields = ("x", "y", "customdata", "text", "hovertext")
    values = (getattr(trace, f, None) for trace in fig.data for f in fields)
    return 4096 + _POINT_BYTES * sum(len(v) for v in values if v is not None and not isinstance(v, str))


FIGURES: ByteBudgetCache[go.Figure] = ByteBudgetCache(
    budget_bytes=FIGURE_BUDGET_BYTES, max_entries=256, size_of=_figure_bytes)


def _figure(
    kind: str,
    key: str,
    expanded: frozenset[str],
    selected: str | None,
    log_scale: bool,
    fit: bool,
    table: pd.DataFrame,
    analysis: Analysis,
) -> go.Figure:
    """One chart of one analysis, from the process-wide figure cache (keyed by the analysis's `key` and the view)."""
    fit_height = FIT_HEIGHT_PX if fit else None
    builders: dict[str, Callable[[], go.Figure]] = {
        "diagram": lambda: network_diagram(analysis, expanded=expanded, selected=selected, fit_height=fit_height),
        "macs": lambda: macs_per_layer(table, log_scale=log_scale, selected=selected, expanded=expanded),
        "params": lambda: params_per_layer(table, log_scale=log_scale, selected=selected, expanded=expanded),
        "shapes": lambda: shape_progression(table),
        "split": lambda: cost_split(table),
        "cumulative": lambda: cumulative_cost(table),
    }
    return FIGURES.get((kind, key, expanded, selected, log_scale, fit), builders[kind])


@st.cache_resource(show_spinner=False, max_entries=256)
def _readable_depth(key: str, _analysis: Analysis) -> int:
    return readable_depth(_analysis)


def _uncounted_warning(result: ModelAnalysis) -> None:
    uncounted = result.analysis.uncounted
    if uncounted:
        ops = sorted({op for ops in uncounted.values() for op in ops})
        st.warning(
            f"{len(uncounted)} layer(s) ran ops with no formula, so their cost is not in the totals: {', '.join(ops)}.",
            icon=":material/warning:",
        )


def analysis_view(result: ModelAnalysis, *, scope: str, file_stem: str) -> None:
    """Metrics, the network diagram, the per-layer table and the cost charts for one analysis."""
    table = result.table
    summary_metrics(result.analysis)
    _uncounted_warning(result)

    deepest = max(int(table["depth"].max()), 1)
    default_depth = min(_readable_depth(result.key, result.analysis), deepest)
    expanded = expanded_blocks(scope, result.key, result.analysis, default_depth)
    st.subheader("Network")
    controls = st.columns([1, 1, 2, 3])
    controls[0].button("Expand all", key=f"{scope}_expand_all", icon=":material/unfold_more:",
                       on_click=open_all, args=(scope, result.key, result.analysis), disabled=deepest <= 1)  # fmt: skip
    controls[1].button("Collapse all", key=f"{scope}_collapse_all", icon=":material/unfold_less:",
                       on_click=close_all, args=(scope, result.key), disabled=deepest <= 1)  # fmt: skip
    fit = controls[2].toggle("Fit the network in view", value=True, key=f"{scope}_fit",
                             help=f"Draw the whole network at most {FIT_HEIGHT_PX} px tall; zoom with the toolbar "
                                  "or the mouse wheel. Off: full size, scroll the page.")  # fmt: skip
    selected = selected_layer(scope)
    drawing, panel = st.columns([3, 1])
    with drawing:
        show_figure(
            _figure("diagram", result.key, expanded, selected, False, fit, table, result.analysis),
            key=chart_key(scope, "diagram"),
            on_select=lambda: on_chart_select(scope, "diagram"),
            scroll_zoom=True,
        )
        st.caption("Click a box or a dot to select the layer; select a row of the table to outline its box. "
                   "Open or close a block from the panel beside the diagram; ×N marks N identical blocks in a row.")
    with panel:
        layer_details(table, selected, expanded, scope=scope, key=result.key, sides=input_sides(result.analysis))

    st.subheader("Layers")
    layer_table(table, expanded, scope=scope, file_stem=file_stem, analysis=result.analysis)

    st.subheader("Where the cost goes")
    log_scale = st.toggle("Log scale for the per-layer bars", value=False, key=f"{scope}_log")
    tabs = st.tabs(["MACs per layer", "Parameters per layer", "Shape progression", "Cost by layer type", "Cumulative",
                    "Receptive field", "Roofline"])
    with tabs[-1]:
        roofline_tab(result, scope=scope)
    with tabs[-2]:
        show_figure(receptive_field_chart(result.analysis), key=chart_key(scope, "receptive_field"))
        st.caption("How many input pixels each conv and pooling layer sees, against its depth in weight layers "
                   f"(the model has {result.analysis.totals.weight_depth} on its longest path): stacked 3×3 "
                   "convolutions grow it by 2 × the jump each; strides and pools multiply the jump.")
    for tab, kind in zip(tabs, ("macs", "params", "shapes", "split", "cumulative")):
        with tab:
            clickable = kind in ("macs", "params")
            show_figure(
                _figure(kind, result.key, expanded if clickable else frozenset(), selected if clickable else None,
                        log_scale and clickable, False, table, result.analysis),
                key=chart_key(scope, kind),
                on_select=(lambda kind=kind: on_chart_select(scope, kind)) if clickable else None,
            )
