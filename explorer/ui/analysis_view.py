"""Everything the Architecture and Design pages show for one analysis: metrics, diagram, table and charts.

Figures are cached per (analysis, depth, selection, options): a rerun that changes nothing rebuilds nothing.
The diagram, the bar charts and the table share one selected layer (see `selection`) and one set of open blocks:
the blocks the user opened, less those the diagram's level of detail keeps closed on a deep network
(`network_diagram.drawn_blocks`), so the table and the bars show what the diagram shows.
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
from explorer.figures.network_diagram import MAX_ELEMENTS, DrawnBlocks, drawn_blocks, network_diagram, readable_depth
from explorer.figures.shape_progression import shape_progression
from explorer.figures.shape_text import token_layout
from explorer.ui.byte_budget_cache import ByteBudgetCache
from explorer.ui.cached_analysis import ModelAnalysis
from explorer.ui.expansion import close_all, expanded_blocks, find_layer, open_to_depth
from explorer.ui.layer_details import layer_details
from explorer.ui.layer_table import layer_table
from explorer.ui.plotly_chart import show_figure
from explorer.ui.roofline_tab import roofline_tab
from explorer.ui.selection import chart_key, on_chart_select, selected_layer
from explorer.ui.summary_metrics import summary_metrics

__all__ = ["FIGURES", "FIGURE_BUDGET_BYTES", "PANEL_CSS", "analysis_view"]


PANEL_CSS = """<style>
div:has(> [class*="st-key-layer_panel"]) { position: sticky; top: 3.75rem; z-index: 1; }
</style>"""  # the selected layer's panel stays beside the diagram while a tall one scrolls past it


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
    table: pd.DataFrame,
    analysis: Analysis,
) -> go.Figure:
    """One chart of one analysis, from the process-wide figure cache (keyed by the analysis's `key` and the view)."""
    builders: dict[str, Callable[[], go.Figure]] = {
        "diagram": lambda: network_diagram(analysis, expanded=expanded, selected=selected),
        "macs": lambda: macs_per_layer(table, log_scale=log_scale, selected=selected, expanded=expanded),
        "params": lambda: params_per_layer(table, log_scale=log_scale, selected=selected, expanded=expanded),
        "shapes": lambda: shape_progression(table),
        "split": lambda: cost_split(table),
        "cumulative": lambda: cumulative_cost(table),
    }
    return FIGURES.get((kind, key, expanded, selected, log_scale), builders[kind])


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
    requested = expanded_blocks(scope, result.key, result.analysis, default_depth)
    selected = selected_layer(scope)
    drawn = drawn_blocks(result.analysis, requested, selected)
    expanded = drawn.expanded
    st.subheader("Network")
    _network_controls(result, scope=scope, deepest=deepest)
    st.html(PANEL_CSS)
    drawing, panel = st.columns([3, 1])
    with drawing:
        show_figure(
            _figure("diagram", result.key, expanded, selected, False, table, result.analysis),
            key=chart_key(scope, "diagram"),
            on_select=lambda: on_chart_select(scope, "diagram"),
            scroll_zoom=True,
        )
        st.caption(_diagram_caption(drawn))
    with panel, st.container(key=f"layer_panel_{_css_safe(scope)}"):
        layer_details(table, selected, expanded, scope=scope, key=result.key, sides=input_sides(result.analysis),
                      tokens=token_layout(result.analysis))

    st.subheader("Layers")
    layer_table(table, expanded, scope=scope, file_stem=file_stem, analysis=result.analysis)

    st.subheader("Where the cost goes")
    log_scale = st.toggle("Log scale for the per-layer bars", value=False, key=f"{scope}_log")
    labels = ["MACs per layer", "Parameters per layer", "Shape progression", "Cost by layer type", "Cumulative",
              "Receptive field", "Roofline"]
    # Only the open tab is drawn: each chart of a 3,600-layer network costs 0.1–0.15 s to build.
    tabs = st.tabs(labels, key=f"{scope}_cost_tab", on_change="rerun")
    if tabs[-1].open:
        with tabs[-1]:
            roofline_tab(result, scope=scope)
    if tabs[-2].open:
        with tabs[-2]:
            show_figure(receptive_field_chart(result.analysis), key=chart_key(scope, "receptive_field"))
            st.caption("How many input pixels each conv and pooling layer sees, against its depth in weight layers "
                       f"(the model has {result.analysis.totals.weight_depth} on its longest path): stacked 3×3 "
                       "convolutions grow it by 2 × the jump each; strides and pools multiply the jump. A field "
                       "larger than the input is drawn at the input's size, hollow.")
    for tab, kind in zip(tabs, ("macs", "params", "shapes", "split", "cumulative")):
        if not tab.open:
            continue
        with tab:
            clickable = kind in ("macs", "params")
            show_figure(
                _figure(kind, result.key, expanded if clickable else frozenset(), selected if clickable else None,
                        log_scale and clickable, table, result.analysis),
                key=chart_key(scope, kind),
                on_select=(lambda kind=kind: on_chart_select(scope, kind)) if clickable else None,
            )


def _css_safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


def _network_controls(result: ModelAnalysis, *, scope: str, deepest: int) -> None:
    """Find a layer by name (it is selected and the blocks around it open), open every block to a depth, or close
    them all."""
    names = [name for name in result.table["name"] if name]
    find, depth, collapse = st.columns([3, 2, 1.3], vertical_alignment="bottom")
    find.selectbox(
        "Find a layer", names, index=None, key=f"{scope}_find", placeholder=f"Type a layer name ({len(names):,})…",
        on_change=find_layer, args=(scope, result.key), help="Jump to a layer: it is selected, the blocks holding "
        "it open, and the panel beside the diagram shows it.")
    depth.selectbox(
        "Open blocks to depth", list(range(1, deepest + 1)), index=None, key=f"{scope}_depth",
        placeholder=f"1 to {deepest}" if deepest > 1 else "no blocks", format_func=lambda d: f"{d} (every block)" if d == deepest else str(d),
        on_change=open_to_depth, args=(scope, result.key, result.analysis), disabled=deepest <= 1,
        help="Open every block shallower than this depth (the model is depth 0). On a deep network the diagram "
             f"still draws at most {MAX_ELEMENTS} boxes: the blocks nearest the selected layer.")
    collapse.button("Collapse all", key=f"{scope}_collapse_all", icon=":material/unfold_less:", on_click=close_all,
                    args=(scope, result.key), disabled=deepest <= 1, width="stretch")


def _diagram_caption(drawn: DrawnBlocks) -> str:
    text = ("Click a box or a dot to select the layer; select a row of the table to outline its box. Open or close "
            "a block from the panel beside the diagram; ×N marks N identical blocks in a row.")
    if drawn.closed:
        text = (f"**{drawn.closed:,} of the {drawn.requested:,} open blocks are drawn closed**, the farthest from "
                f"the selected layer: the diagram draws at most {MAX_ELEMENTS} boxes and dots ({drawn.elements} "
                "now). Select a layer, or find one by name, to open the way to it. " + text)
    return text
