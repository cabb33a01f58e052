"""Several models side by side: parameters against MACs, accuracy against MACs, and cost per stage.

Inputs are plain tables (one row per model, or one row per model and stage), so the figures know nothing of
the zoo; each model keeps its own colour (and its family's ring) on every chart, whatever else is chosen.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from explorer.figures.layer_rows import leaf_rows
from explorer.figures.shape_text import first_shape
from explorer.figures.identity_colors import family_color, model_color
from explorer.figures.point_labels import label_positions, padded_range
from explorer.figures.theme import INK, empty_figure, legend_right, log_axes, styled

__all__ = [
    "FLAT_STAGE", "FULL_STAGE", "HALF_PLOT_PX", "accuracy_vs_macs", "params_vs_macs", "resolution_stages", "stage_cost",
    "stage_name",
]

HALF_PLOT_PX = (360.0, 330.0)  # the plot area of a half-width chart with its legend beside it
FLAT_STAGE = "1×1 & FC"  # globally pooled maps and flat vectors
FULL_STAGE = "full"


def _hover(models: pd.DataFrame) -> list[str]:
    return [
        f"<b>{row.model}</b> · {row.family}<br>{row.params:,} params<br>{row.macs:,} MACs"
        + (f"<br>top-1 {row.top1:.1f}%" if pd.notna(getattr(row, "top1", None)) else "")
        for row in models.itertuples()
    ]


def _model_points(
    fig: go.Figure, models: pd.DataFrame, y_column: str, *, log_y: bool, marker_size=None, sizeref: float = 1.0
) -> None:
    """One trace per model in its own colour (the same on every page), grouped in the legend under its family's
    name in the family's colour, each point named beside it where the name has room."""
    x_range = padded_range(models["macs"], log=True)
    y_range = padded_range(models[y_column], log=log_y, fraction=0.15)
    diameters = [13.0] * len(models) if marker_size is None else [
        max((max(float(v), 0.0) / sizeref) ** 0.5, 5.0) for v in models[marker_size]]  # as Plotly draws them
    positions = label_positions(models["macs"], models[y_column], list(models["model"]), x_range=x_range,
                                y_range=y_range, log_x=True, log_y=log_y, width_px=HALF_PLOT_PX[0],
                                height_px=HALF_PLOT_PX[1], marker_px=diameters)  # fmt: skip
    hover = _hover(models)
    for index, row in enumerate(models.itertuples()):
        size = 13 if marker_size is None else max(float(getattr(row, marker_size)), 0.0)
        fig.add_trace(
            go.Scatter(
                x=[row.macs],
                y=[getattr(row, y_column)],
                name=str(row.model),
                legendgroup=str(row.family),
                legendgrouptitle=dict(text=str(row.family), font=dict(color=family_color(str(row.family)))),
                mode="markers+text",
                text=[row.model if positions[index] else ""],  # no room: the hover names it
                textposition=positions[index] or "top center",
                textfont=dict(size=11, color=INK),
                cliponaxis=False,
                marker=dict(
                    size=[size],
                    sizemode="area" if marker_size else "diameter",
                    sizeref=sizeref,
                    sizemin=5,
                    color=model_color(str(row.model)),
                    opacity=0.85,
                    line=dict(color="white", width=1),
                ),
                hovertext=[hover[index]],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    fig.update_xaxes(range=x_range)
    fig.update_yaxes(range=y_range)


def _by_family(models: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by family (in first-seen order) so the legend's groups each list their models together."""
    order = {family: i for i, family in enumerate(dict.fromkeys(models["family"]))}
    return models.sort_values("family", key=lambda f: f.map(order), kind="stable").reset_index(drop=True)


def params_vs_macs(models: pd.DataFrame) -> go.Figure:
    """Each model as a point on log–log axes: cheap-and-small bottom left, VGG's 138M parameters top right."""
    if models.empty:
        return empty_figure("Pick models to compare.", title="Parameters vs MACs")
    fig = go.Figure()
    _model_points(fig, _by_family(models), "params", log_y=True)
    log_axes(fig, x=True, y=True, x_values=models["macs"], y_values=models["params"], keep_range=True)
    fig.update_xaxes(title_text="MACs (batch 1)")
    fig.update_yaxes(title_text="parameters")
    legend_right(fig)
    fig.update_layout(legend_tracegroupgap=4)
    return styled(fig, title="Parameters vs MACs", height=500)


def accuracy_vs_macs(models: pd.DataFrame) -> go.Figure:
    """The classic accuracy/operations plot: top-1 against MACs, bubble area ∝ parameters."""
    rated = models[models["top1"].notna()] if "top1" in models else models.iloc[0:0]
    if rated.empty:
        return empty_figure("None of these models has a published ImageNet top-1.", title="Accuracy vs MACs")
    sizeref = 2.0 * float(rated["params"].max()) / (60.0**2)  # the largest bubble is 60 px across
    fig = go.Figure()
    _model_points(fig, _by_family(rated), "top1", log_y=False, marker_size="params", sizeref=sizeref)
    log_axes(fig, x=True, x_values=rated["macs"], keep_range=True)
    fig.update_xaxes(title_text="MACs (batch 1)")
    fig.update_yaxes(title_text="ImageNet top-1 (%)", ticksuffix="%")
    legend_right(fig)
    fig.update_layout(legend_tracegroupgap=4)
    return styled(fig, title="Accuracy vs MACs (bubble area = parameters)", height=500)


def stage_name(output_shape: str, input_height: int | None) -> str:
    """The stage of a layer by how far its output is downsampled from the input: '1/4' for 56×56 of 224×224
    (and 73×73 of 299×299); globally pooled 1×1 maps and flat vectors form the last stage."""
    shape = first_shape(output_shape)
    if shape is None or len(shape) < 4 or shape[2] * shape[3] == 1:
        return FLAT_STAGE
    if not input_height or shape[2] >= input_height:
        return FULL_STAGE
    factor = 2 ** round(math.log2(input_height / max(shape[2], 1)))
    return f"1/{factor}" if factor > 1 else FULL_STAGE


def resolution_stages(table: pd.DataFrame) -> pd.DataFrame:
    """MACs and parameters of one model's leaves summed per stage (input, 1/2, 1/4 … of the input's side, FC)."""
    root_input = first_shape(table.iloc[0]["input_shape"])
    input_height = root_input[2] if root_input is not None and len(root_input) >= 4 else None
    rows = leaf_rows(table)
    rows["stage"] = [stage_name(s, input_height) for s in rows["output_shape"]]
    grouped = rows.groupby("stage", sort=False).agg(macs=("macs", "sum"), params=("params", "sum")).reset_index()
    return grouped.sort_values("stage", key=lambda stages: stages.map(_stage_order)).reset_index(drop=True)


def _stage_order(stage: str) -> int:
    """Full resolution first, then 1/2, 1/4 …, the pooled and fully connected layers last."""
    if stage == FULL_STAGE:
        return 0
    if stage == FLAT_STAGE:
        return 10**9
    return int(stage.split("/")[1])


def stage_cost(stages: pd.DataFrame, *, share: bool = False) -> go.Figure:
    """Stacked bars, one per model, split by stage (columns model, stage, macs)."""
    if stages.empty:
        return empty_figure("Pick models to compare.", title="MACs per stage")
    order = sorted(stages["stage"].unique(), key=_stage_order)
    totals = stages.groupby("model", sort=False)["macs"].sum()
    fig = go.Figure()
    palette = ["#1e1b4b", "#312e81", "#3730a3", "#4338ca", "#4f46e5", "#6366f1", "#818cf8", "#a5b4fc", "#c7d2fe"]
    for i, stage in enumerate(order):
        part = stages[stages["stage"] == stage]
        values = 100 * part["macs"] / part["model"].map(totals) if share else part["macs"]
        fig.add_trace(
            go.Bar(
                x=part["model"],
                y=values,
                name=stage,
                marker_color=palette[i % len(palette)] if stage != FLAT_STAGE else "#e11d48",
                customdata=part["macs"],
                hovertemplate="%{x} · " + stage + "<br>%{customdata:,} MACs<extra></extra>",
            )
        )
    models = list(dict.fromkeys(stages["model"]))  # keep the caller's order, not the order stages first appear
    fig.update_xaxes(categoryorder="array", categoryarray=models)
    fig.update_layout(barmode="stack", legend_title_text="output side")
    legend_right(fig)
    fig.update_yaxes(
        title_text="% of the model's MACs" if share else "MACs",
        ticksuffix="%" if share else "",
        tickformat="" if share else "~s",
    )
    return styled(fig, title="MACs per stage (output side as a fraction of the input's)", height=420)
