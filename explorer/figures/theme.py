"""One palette and one Plotly template for every chart, so the explorer reads as one piece.

Colours are assigned by *layer category* (conv, linear, norm, ...), never by position, so a conv is the same
indigo on every chart and page.
"""

from __future__ import annotations

import enum
import math

import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "CATEGORY_COLORS", "CONTAINER_COLOR", "CONTAINER_LABEL", "FONT_FAMILY", "GRID", "HIGHLIGHT", "HOVER_BORDER", "INK",
    "LayerCategory", "MUTED", "PAPER", "SERIES", "TEMPLATE_NAME", "category_color", "empty_figure", "layer_category",
    "legend_below", "legend_right", "log_axes", "log_ticks", "styled",
]

FONT_FAMILY = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK = "#1f2937"  # text
MUTED = "#6b7280"  # secondary text, axes
GRID = "#eceff3"
PAPER = "rgba(0,0,0,0)"  # transparent: the page background shows through
HIGHLIGHT = "#f59f00"  # the selected layer, on every chart
CONTAINER_COLOR = "#a5b4fc"  # a block drawn or counted as one (its layers collapsed)
CONTAINER_LABEL = "block"
HOVER_BORDER = "#9ca3af"  # a tooltip's frame: visible on white, quieter than the text

# A restrained qualitative palette (after Tailwind's 600 shades), in the order series are drawn.
SERIES = ("#4f46e5", "#0d9488", "#e11d48", "#d97706", "#7c3aed", "#0284c7", "#65a30d", "#db2777", "#475569")


class LayerCategory(str, enum.Enum):
    """What kind of work a layer does, for colouring and for the cost split."""

    CONV = "conv"
    LINEAR = "linear"
    NORM = "norm"
    ACTIVATION = "activation"
    POOL = "pool"
    ATTENTION = "attention"
    OTHER = "other"


CATEGORY_COLORS: dict[LayerCategory, str] = {
    LayerCategory.CONV: "#4f46e5",
    LayerCategory.LINEAR: "#e11d48",
    LayerCategory.NORM: "#0d9488",
    LayerCategory.ACTIVATION: "#94a3b8",
    LayerCategory.POOL: "#65a30d",  # green, not amber: the selection's amber outline must show on a pool box
    LayerCategory.ATTENTION: "#7c3aed",
    LayerCategory.OTHER: "#64748b",
}

_FROM_OPS: dict[str, LayerCategory] = {
    "conv": LayerCategory.CONV,
    "linear": LayerCategory.LINEAR,
    "matmul": LayerCategory.LINEAR,
    "attention": LayerCategory.ATTENTION,
    "norm": LayerCategory.NORM,
    "activation": LayerCategory.ACTIVATION,
    "pooling": LayerCategory.POOL,
}


def layer_category(op_category: object) -> LayerCategory:
    """The colour category of a layer from the category of the ops it ran (`analyzers.records.OpCategory`, or its
    value as the report's `category` column holds it), so a user's own class names colour correctly."""
    value = getattr(op_category, "value", op_category)
    return _FROM_OPS.get(str(value) if value is not None else "", LayerCategory.OTHER)


def category_color(op_category: object) -> str:
    return CATEGORY_COLORS[layer_category(op_category)]


def _template() -> go.layout.Template:
    axis = dict(
        gridcolor=GRID,
        zerolinecolor=GRID,
        linecolor=GRID,
        tickfont=dict(color=MUTED),
        title_font=dict(color=MUTED),
        automargin=True,
    )
    return go.layout.Template(
        layout=go.Layout(
            font=dict(family=FONT_FAMILY, size=13, color=INK),
            title=dict(font=dict(size=16, color=INK), x=0, xanchor="left", y=0.97),
            colorway=list(SERIES),
            paper_bgcolor=PAPER,
            plot_bgcolor=PAPER,
            xaxis=axis,
            yaxis=axis,
            # Every colour set: Plotly draws hover text in the border colour when the font has none.
            hoverlabel=dict(
                font=dict(family=FONT_FAMILY, size=12, color=INK), bgcolor="white", bordercolor=HOVER_BORDER, align="left"
            ),
            legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1, title_text=""),
            margin=dict(l=60, r=20, t=56, b=48),
            bargap=0.25,
        )
    )


TEMPLATE_NAME = "explorer"
pio.templates[TEMPLATE_NAME] = _template()


def _log_window(values) -> tuple[float, float] | None:
    """The data's extent, widened to at least a factor 10 round its geometric centre (one model, one batch)."""
    positive = [float(v) for v in values if v is not None and float(v) > 0]
    if not positive:
        return None
    low, high = min(positive), max(positive)
    if high / low < 10:
        centre = math.sqrt(low * high)
        low, high = centre / math.sqrt(10), centre * math.sqrt(10)
    return low, high


def log_ticks(values) -> list[float] | None:
    """1-2-5 ticks for data spanning under three decades (dtick=1 would label only one or two powers of ten);
    a single value still gets several ticks round it."""
    window = _log_window(values)
    if window is None:
        return None
    low, high = window
    if high / low >= 1000:
        return None
    ticks = []
    exponent = math.floor(math.log10(low))
    while 10**exponent <= high * 10:
        ticks += [m * 10**exponent for m in (1, 2, 5) if low / 1.5 <= m * 10**exponent <= high * 1.5]
        exponent += 1
    return ticks


def log_axes(
    fig: go.Figure, *, x: bool = False, y: bool = False, x_values=None, y_values=None, keep_range: bool = False
) -> None:
    """Log axes labelled 1k, 10k, 1M … (or 1-2-5 steps when the data spans few decades), no cluttered minor labels.
    Data spanning under a decade gets a decade-wide range, so the axis shows more than one tick; `keep_range`
    leaves a range the caller set."""
    for enabled, values, update in ((x, x_values, fig.update_xaxes), (y, y_values, fig.update_yaxes)):
        if not enabled:
            continue
        ticks = log_ticks(values) if values is not None else None
        if ticks:
            update(type="log", tickvals=ticks, tickformat="~s")
            positive = [float(v) for v in values if v is not None and float(v) > 0]
            low, high = _log_window(values)  # type: ignore[misc]
            if not keep_range and max(positive) / min(positive) < 10:
                update(range=[math.log10(low / 1.3), math.log10(high * 1.3)])
        else:
            update(type="log", dtick=1, tickformat="~s")


def legend_right(fig: go.Figure) -> None:
    """A vertical legend beside the plot, for charts with more entries than fit on one line above it."""
    fig.update_layout(legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02))


def legend_below(fig: go.Figure) -> None:
    """A horizontal legend at the foot of the figure, for half-width charts whose entries are long: anchored to
    the container's bottom edge (not the plot's), with the bottom margin grown for it, so it never sits on the
    x axis's title."""
    fig.update_layout(
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.01, xanchor="left", x=0),
        margin=dict(b=120),
    )


def styled(fig: go.Figure, *, title: str, height: int = 380) -> go.Figure:
    """Apply the explorer template, a title and a height; returns the same figure for chaining."""
    fig.update_layout(template=TEMPLATE_NAME, title_text=title, height=height)
    return fig


def empty_figure(message: str, *, title: str = "", height: int = 240) -> go.Figure:
    """A blank chart carrying a short explanation, for a friendly empty state instead of an error."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, font=dict(color=MUTED, size=14), x=0.5, y=0.5, xref="paper", yref="paper"
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, title=title, height=height)
