"""Charts of measured benchmark results (the results CSV of `python -m explorer bench`).

Rows whose status is not `ok` (out of memory, errors) are left out of the charts; the page lists them.
A *configuration* is everything but the batch: model, dtype, memory format, compile mode and device.
Names come from uploaded files, so they are HTML-escaped (Plotly reads `<a href>` in trace names as a link) and
never put inside a hover template (where `%{…}` would be read as a field): templates name a trace by
`%{fullData.name}`. Quotes are escaped as numeric entities: Plotly decodes `&#34;` but shows `&quot;` as it is.
Charts draw at most `MAX_CONFIGURATIONS` configurations, the fastest, so that a large upload stays readable and
quick. Each configuration is drawn in its model's colour (the one it has on every page, whatever is chosen), its
settings told apart by dash; a long legend gets the room it needs below the plot instead of squeezing it.
"""

from __future__ import annotations

import html
from typing import Callable

import pandas as pd
import plotly.graph_objects as go

from analyzers.bench.schema import BenchStatus
from explorer.figures.identity_colors import model_color
from explorer.figures.point_labels import label_positions, padded_range
from explorer.figures.theme import MUTED, empty_figure, legend_below, log_axes, styled

__all__ = [
    "DASHES", "HALF_WIDTH_PX", "LEGEND_CHAR_PX", "LEGEND_ENTRY_PX", "LEGEND_ROW_PX", "MAX_CONFIGURATIONS",
    "MAX_LABELLED_POINTS", "MAX_POINTS", "SYMBOLS", "achieved_vs_peak", "config_labels", "escaped",
    "fastest_configurations", "latency_vs_batch", "macs_vs_latency", "measured_vs_roofline", "ok_rows",
    "throughput_by_model",
]

SYMBOLS = ("circle", "diamond", "square", "triangle-up", "x")


MAX_CONFIGURATIONS = 24  # per chart: more is unreadable, and thousands of traces freeze the browser
MAX_POINTS = 1_500  # per chart: a configuration measured at hundreds of batch sizes is thinned to fit
MAX_LABELLED_POINTS = 80  # named beside the point (the placement compares every label with every other)
_TRACE_NAME = "<extra>%{fullData.name}</extra>"


def ok_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Finished measurements only, each labelled with its configuration (escaped for Plotly)."""
    rows = results[results["status"] == BenchStatus.OK].copy()
    rows["config"] = config_labels(rows, with_device=rows["device_name"].nunique() > 1)
    rows["macs"] = rows["flops"] / 2
    return rows


def config_labels(rows: pd.DataFrame, *, with_device: bool = True) -> pd.Series:
    """'resnet50 · bf16 · channels-last · compiled', plus the device when the results span several; one label per
    row, built column-wise (an upload may have tens of thousands of rows) and HTML-escaped."""
    label = rows["model"].astype(str) + " · " + rows["dtype"].astype(str)
    label = label.where(rows["memory_format"].astype(str) != "channels_last", label + " · channels-last")
    label = label.where(~rows["compile"].astype(bool), label + " · compiled")
    if with_device:
        label = label + " · " + rows["device_name"].astype(str)
    return escaped(label)


_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}  # what Plotly decodes


def escaped(text: pd.Series) -> pd.Series:
    """Every cell HTML-escaped with entities Plotly decodes (it reads no tag in the result), column-wise."""
    text = text.astype(str)
    for char, entity in _ENTITIES.items():  # "&" first: the entities themselves contain it
        text = text.str.replace(char, entity, regex=False)
    return text


DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
LEGEND_ROW_PX = 21
HALF_WIDTH_PX = 560  # a half-width chart on a 1,440 px page
LEGEND_ENTRY_PX = 46  # a legend entry's symbol and gaps
LEGEND_CHAR_PX = 6.8


def _styles(rows: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Configuration → (its model's colour, a dash that tells the model's configurations apart)."""
    styles: dict[str, tuple[str, str]] = {}
    per_model: dict[str, int] = {}
    for config, model in rows[["config", "model"]].drop_duplicates("config").itertuples(index=False):
        index = per_model.get(model, 0)
        per_model[model] = index + 1
        styles[config] = (model_color(str(model)), DASHES[index % len(DASHES)])
    return styles


def _legend_room(fig: go.Figure, base_height: int, width_px: float = HALF_WIDTH_PX) -> int:
    """The height that keeps the plot its size with the legend below it: one row per line of entries as Plotly
    wraps them (entries side by side while they fit the width)."""
    names = [html.unescape(str(t.name)) for t in fig.data if t.showlegend is not False and t.name]
    if not names:
        return base_height
    widest = LEGEND_ENTRY_PX + LEGEND_CHAR_PX * max(len(n) for n in names)
    per_row = max(1, int(width_px // widest))
    rows = -(-len(names) // per_row)
    bottom = 80 + LEGEND_ROW_PX * rows  # the x axis's title, then the legend
    fig.update_layout(margin=dict(b=bottom))
    return base_height - 120 + bottom


def fastest_configurations(rows: pd.DataFrame, limit: int = MAX_CONFIGURATIONS) -> pd.DataFrame:
    """The rows of the `limit` configurations with the best throughput (all of them when there are fewer), each
    thinned to evenly spaced batch sizes (the smallest and largest kept) when they exceed `MAX_POINTS` together."""
    best = rows.groupby("config")["images_per_s"].max()
    if len(best) > limit:
        rows = rows[rows["config"].isin(best.nlargest(limit).index)]
    per_config = max(2, MAX_POINTS // max(1, rows["config"].nunique()))
    if len(rows) <= MAX_POINTS:
        return rows
    rows = rows.sort_values(["config", "batch"])
    position = rows.groupby("config").cumcount()
    count = rows.groupby("config")["batch"].transform("size")
    step = (count - 1) / (per_config - 1)
    keep = (count <= per_config) | (position == count - 1) | ((position % step.clip(lower=1)) < 1)
    return rows[keep.to_numpy()]


def _title(title: str, rows: pd.DataFrame, shown: pd.DataFrame) -> str:
    total, drawn = rows["config"].nunique(), shown["config"].nunique()
    parts = [f"the {drawn} fastest of {total:,} configurations"] if drawn < total else []
    if len(shown) < len(rows[rows["config"].isin(shown["config"])]):
        parts.append(f"{len(shown):,} of their {len(rows[rows['config'].isin(shown['config'])]):,} points")
    return f"{title}: {', '.join(parts)}" if parts else title


def _none_yet(title: str, missing: str = "finished measurements") -> go.Figure:
    return empty_figure(f"No {missing} in these results.", title=title)


def _shown(results: pd.DataFrame, title: str,
           keep: Callable[[pd.DataFrame], pd.Series] | None = None) -> tuple[pd.DataFrame | None, str]:
    """The rows a per-configuration chart draws: the finished ones (those `keep` accepts), at most
    `MAX_CONFIGURATIONS` configurations, the fastest; and its title, which says when some were left out. None
    when there is nothing to draw."""
    rows = ok_rows(results)
    if keep is not None:
        rows = rows[keep(rows)]
    if rows.empty:
        return None, title
    shown = fastest_configurations(rows)
    return shown, _title(title, rows, shown)


def latency_vs_batch(results: pd.DataFrame) -> go.Figure:
    """p50 latency against batch size, one line per configuration (log–log: linear scaling is a 45° line)."""
    rows, title = _shown(results, "Latency vs batch size")
    if rows is None:
        return _none_yet(title)
    fig = go.Figure()
    styles = _styles(rows)
    for config, part in rows.sort_values("batch").groupby("config", sort=False):
        color, dash = styles[config]
        fig.add_trace(
            go.Scatter(
                x=part["batch"],
                y=part["latency_ms_p50"],
                name=config,
                mode="lines+markers",
                line=dict(color=color, width=2.5, dash=dash),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=part["latency_ms_p95"] - part["latency_ms_p50"],
                    arrayminus=part["latency_ms_p50"] - part["latency_ms_min"],
                    thickness=1,
                    color=MUTED,
                ),
                hovertemplate="batch %{x}<br>p50 %{y:.3g} ms" + _TRACE_NAME,
            )
        )
    fig.update_xaxes(type="log", title_text="batch size", dtick=0.30103)  # ticks at powers of two
    log_axes(fig, y=True, y_values=rows["latency_ms_p50"])
    fig.update_yaxes(title_text="latency p50 (ms)", tickformat="")
    legend_below(fig)
    return styled(fig, title=title, height=_legend_room(fig, 460))


def throughput_by_model(results: pd.DataFrame) -> go.Figure:
    """Best images/s of each configuration over the batch sizes measured."""
    rows = ok_rows(results)
    title = "Throughput by model (best batch)"
    if rows.empty:
        return _none_yet(title)
    best = rows.loc[rows.groupby("config")["images_per_s"].idxmax()].sort_values("images_per_s")
    if len(best) > MAX_CONFIGURATIONS:
        title = f"{title}: the {MAX_CONFIGURATIONS} fastest of {len(best):,} configurations"
        best = best.tail(MAX_CONFIGURATIONS)
    fig = go.Figure(
        go.Bar(
            y=best["config"],
            x=best["images_per_s"],
            orientation="h",
            marker_color=[model_color(str(m)) for m in best["model"]],
            text=[f"{v:,.0f} img/s @ batch {b}" for v, b in zip(best["images_per_s"], best["batch"])],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>%{x:,.0f} images/s<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="images / s")
    if best["images_per_s"].max() > 100 * best["images_per_s"].min():  # LeNet next to VGG: only a log axis reads
        log_axes(fig, x=True, x_values=best["images_per_s"])
    widest = max((len(t) for t in fig.data[0].text), default=0)
    fig.update_layout(margin=dict(r=20 + LEGEND_CHAR_PX * widest))  # room for the longest bar's label
    return styled(fig, title=title, height=max(260, 80 + 38 * len(best)))


def achieved_vs_peak(results: pd.DataFrame) -> go.Figure:
    """Achieved TFLOP/s (from our counted FLOPs) as a % of the device's peak for the dtype, per batch."""
    rows, title = _shown(results, "Achieved vs peak compute", keep=lambda r: r["pct_of_peak"].notna())
    if rows is None:
        return _none_yet(title, "peak figures for these devices (no % of peak)")
    fig = go.Figure()
    styles = _styles(rows)
    for config, part in rows.sort_values("batch").groupby("config", sort=False):
        color, dash = styles[config]
        fig.add_trace(
            go.Scatter(
                x=part["batch"],
                y=part["pct_of_peak"],
                name=config,
                mode="lines+markers",
                line=dict(color=color, width=2.5, dash=dash),
                customdata=part[["achieved_tflops", "peak_tflops"]],
                hovertemplate="batch %{x}<br>%{customdata[0]:.3g} of %{customdata[1]:.3g} TFLOP/s (%{y:.1f}%)"
                + _TRACE_NAME,
            )
        )
    fig.update_xaxes(type="log", title_text="batch size", dtick=0.30103)
    fig.update_yaxes(title_text="% of peak TFLOP/s", ticksuffix="%", rangemode="tozero")
    legend_below(fig)
    return styled(fig, title=title, height=_legend_room(fig, 460))


def measured_vs_roofline(results: pd.DataFrame) -> go.Figure:
    """Measured p50 against the roofline lower bound; the dashed diagonal is the bound itself."""
    rows, title = _shown(results, "Measured latency vs roofline bound",
                         keep=lambda r: r["roofline_ms"].notna() & (r["roofline_ms"] > 0))
    if rows is None:
        return _none_yet(title, "roofline bounds (they need the device's peaks)")
    fig = go.Figure()
    styles = _styles(rows)
    for config, part in rows.groupby("config", sort=False):
        color, dash = styles[config]
        fig.add_trace(
            go.Scatter(
                x=part["roofline_ms"],
                y=part["latency_ms_p50"],
                name=config,
                mode="markers",
                marker=dict(size=10, color=color, line=dict(color="white", width=1),
                            symbol=SYMBOLS[DASHES.index(dash) % len(SYMBOLS)]),
                customdata=part[["batch", "measured_over_roofline"]],
                hovertemplate="batch %{customdata[0]}<br>bound %{x:.3g} ms, measured %{y:.3g} ms "
                "(%{customdata[1]:.1f}×)" + _TRACE_NAME,
            )
        )
    low = float(min(rows["roofline_ms"].min(), rows["latency_ms_p50"].min())) * 0.8
    high = float(max(rows["roofline_ms"].max(), rows["latency_ms_p50"].max())) * 1.25
    fig.add_trace(
        go.Scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            name="bound (measured = roofline)",
            line=dict(color=MUTED, dash="dash", width=1.5),
            hoverinfo="skip",
        )
    )
    log_axes(fig, x=True, y=True, x_values=[low, high], y_values=[low, high])
    fig.update_xaxes(title_text="roofline bound (ms)", tickformat="")
    fig.update_yaxes(title_text="measured p50 (ms)", tickformat="")
    legend_below(fig)
    return styled(fig, title=title, height=_legend_room(fig, 460))


def macs_vs_latency(results: pd.DataFrame, *, width_px: float = 1150) -> go.Figure:
    """Counted MACs of one forward against measured p50: how well counted cost predicts time (`width_px`: the
    plot area's width, where point names are placed)."""
    rows, title = _shown(results, "Counted MACs vs measured latency", keep=lambda r: r["macs"].notna())
    if rows is None:
        return _none_yet(title)
    rows["setting"] = escaped(rows["dtype"].astype(str) + " · " + rows["device_name"].astype(str))
    rows["point"] = escaped(rows["model"].astype(str) + " ×" + rows["batch"].astype(str))
    # Each model in its own colour (the app-wide one) and named beside its points; settings differ by symbol.
    x_range = padded_range(rows["macs"], log=True)
    y_range = padded_range(rows["latency_ms_p50"], log=True, fraction=0.15)
    labelled = len(rows) <= MAX_LABELLED_POINTS
    positions = dict(zip(rows.index, label_positions(rows["macs"], rows["latency_ms_p50"], list(rows["point"]),
                                                     x_range=x_range, y_range=y_range, log_x=True, log_y=True,
                                                     width_px=width_px, height_px=320))) if labelled else {}
    fig = go.Figure()
    for i, (setting, part) in enumerate(rows.groupby("setting", sort=False)):
        fig.add_trace(
            go.Scatter(
                x=part["macs"],
                y=part["latency_ms_p50"],
                name=setting,
                mode="markers+text" if labelled else "markers",
                marker=dict(size=11, color=[model_color(m) for m in part["model"]], line=dict(color="white", width=1),
                            symbol=SYMBOLS[i % len(SYMBOLS)]),
                text=[name if positions.get(j) else "" for name, j in zip(part["point"], part.index)],  # no room:
                textposition=[positions.get(j) or "top center" for j in part.index] if labelled else None,  # hover
                hovertext=part["point"],
                textfont=dict(size=11),
                cliponaxis=False,
                customdata=part["batch"],
                hovertemplate="%{hovertext}<br>%{x:.3s} MACs → %{y:.3g} ms<extra></extra>",
            )
        )
    log_axes(fig, x=True, y=True, x_values=rows["macs"], y_values=rows["latency_ms_p50"], keep_range=True)
    fig.update_xaxes(title_text="counted MACs per forward (whole batch)", range=x_range)
    fig.update_yaxes(title_text="measured p50 (ms)", tickformat="", range=y_range)
    legend_below(fig)
    return styled(fig, title=title, height=_legend_room(fig, 500, width_px=width_px + 130))
