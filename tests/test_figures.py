"""Figure builders on real analyses of small zoo models: the charts plot the analysis's own numbers."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from analyzers import Analysis, analyze
from analyzers.bench.results_file import append_row
from analyzers.bench.schema import load_results
from analyzers.reports.table import to_dataframe
from explorer.figures.bench_charts import (
    achieved_vs_peak,
    latency_vs_batch,
    macs_vs_latency,
    measured_vs_roofline,
    throughput_by_model,
)
from explorer.figures.compare import FLAT_STAGE, accuracy_vs_macs, params_vs_macs, resolution_stages, stage_cost
from explorer.figures.cost_split import cost_by_category, cost_split
from explorer.figures.cumulative import cumulative_cost
from explorer.figures.layer_bars import macs_per_layer, params_per_layer
from explorer.figures.network_diagram import network_diagram, readable_depth
from explorer.figures.scaling import compound_scaling, width_scaling
from explorer.figures.shape_progression import shape_progression
from explorer.figures.shape_text import hwc, hwc_text, parse_shapes
from explorer.figures.theme import HIGHLIGHT, LayerCategory, layer_category
from explorer.zoo import build_model
from tests.bench_rows import bench_row


@functools.cache
def analysed(name: str) -> tuple[Analysis, pd.DataFrame]:
    model = build_model(name)
    analysis = analyze(model.module, model.input_size, model_name=name)
    return analysis, to_dataframe(analysis)


def trace_sum(fig: go.Figure, attribute: str = "y") -> int:
    return int(sum(sum(v for v in getattr(t, attribute) if v is not None) for t in fig.data))


def texts(fig: go.Figure) -> list[str]:
    return [text for trace in fig.data if trace.text is not None for text in trace.text]


def test_shape_text_writes_volumes_as_the_seeds_do() -> None:
    assert parse_shapes("1x192x28x28; 1x16x28x28") == ((1, 192, 28, 28), (1, 16, 28, 28))
    assert hwc((1, 192, 28, 28)) == "28×28×192"
    assert hwc((1, 4096)) == "4096"
    assert hwc_text("1x64x28x28; 1x32x28x28") == "28×28×64 + 28×28×32"


class Opaque(nn.Module):
    """A class name that says nothing: colours must come from the ops it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(4, 3, 3, 3))

    def forward(self, x):
        return F.max_pool2d(F.relu(F.conv2d(x, self.weight)), 2)


def test_layer_category_comes_from_the_ops_a_layer_ran() -> None:
    analysis = analyze(nn.Sequential(Opaque(), nn.BatchNorm2d(4), nn.Hardswish(), nn.Flatten()), (3, 10, 10))
    assert layer_category(analysis.record("0").category) is LayerCategory.CONV  # conv wins over its relu and pool
    assert layer_category(analysis.record("1").category) is LayerCategory.NORM
    assert layer_category(analysis.record("2").category) is LayerCategory.ACTIVATION
    assert layer_category(analysis.record("3").category) is LayerCategory.OTHER  # a view: data movement
    assert layer_category("pooling") is LayerCategory.POOL  # the report's `category` column, as text


def test_the_diagram_names_a_users_conv_by_its_kernel_not_its_class() -> None:
    analysis = analyze(nn.Sequential(Opaque()), (3, 10, 10))
    assert "conv 3×3" in texts(network_diagram(analysis))


def test_macs_and_params_bars_add_up_to_the_totals() -> None:
    analysis, table = analysed("lenet5")
    assert trace_sum(macs_per_layer(table)) == analysis.totals.macs
    assert trace_sum(params_per_layer(table)) == analysis.totals.params
    assert params_per_layer(table, log_scale=True).layout.yaxis.type == "log"


def test_selected_layer_is_outlined_in_the_bars() -> None:
    _, table = analysed("inception_5x5_bottleneck")
    fig = macs_per_layer(table, selected="1")
    bars = fig.data[0]
    outlines = dict(zip(bars.customdata, bars.marker.line.color))
    assert outlines["1"] == HIGHLIGHT and outlines["0"] != HIGHLIGHT


def test_each_layer_gets_one_bar_in_its_own_slot() -> None:
    """LeNet-5 has 12 leaves: one bar trace, x = 1…12 in execution order, so conv2 (the 4th leaf) sits between
    pool1 and relu2 instead of spanning them."""
    _, table = analysed("lenet5")
    fig = macs_per_layer(table)
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 1
    assert list(bars[0].x) == list(range(1, 13))
    assert list(bars[0].customdata[2:5]) == ["pool1", "conv2", "relu2"]
    legend = {t.name for t in fig.data if t.type == "scatter"}
    assert legend == {"conv", "linear"}  # the categories with MACs (pooling and ReLU cost none)


def test_bars_follow_the_tables_depth() -> None:
    """At depth 1 ResNet-18 is conv1, bn1, relu, maxpool, layer1…layer4, avgpool, flatten, fc: 11 bars adding up to the
    totals, the four stages coloured as blocks; a selected leaf outlines its stage."""
    analysis, table = analysed("resnet18")
    fig = macs_per_layer(table, depth=1, selected="layer2.0.conv1")
    bars = fig.data[0]
    assert list(bars.customdata) == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                                     "avgpool", "flatten", "fc"]  # fmt: skip
    assert sum(bars.y) == analysis.totals.macs
    assert [c for n, c in zip(bars.customdata, bars.marker.line.color) if c == HIGHLIGHT] == [HIGHLIGHT]
    assert list(bars.marker.line.color).index(HIGHLIGHT) == 5


def test_shape_progression_follows_lenet_32_28_14_10_5() -> None:
    _, table = analysed("lenet5")
    fig = shape_progression(table)
    spatial, channels = fig.data[0].y, fig.data[1].y
    assert sorted(set(spatial), reverse=True) == [28 * 28, 14 * 14, 10 * 10, 5 * 5]
    assert spatial[0] == 28 * 28 and channels[0] == 6 and channels[-1] == 16


def test_vgg16_parameters_sit_in_its_fully_connected_layers() -> None:
    _, table = analysed("vgg16")
    split = cost_by_category(table).set_index("category")
    assert split.loc["linear", "params_pct"] > 85  # 123.6M of 138.4M
    assert split.loc["conv", "macs_pct"] > 99
    assert isinstance(cost_split(table), go.Figure)


def test_cumulative_cost_ends_at_100_percent() -> None:
    _, table = analysed("resnet18")
    for trace in cumulative_cost(table).data:
        assert trace.y[-1] == pytest.approx(100.0)


def test_diagram_draws_the_inception_module_as_four_branches() -> None:
    analysis, table = analysed("inception_module")
    fig = network_diagram(analysis, depth=3)
    labels = texts(fig)
    assert labels.count("⧺") == 1  # one concatenation
    assert "28×28×192" in labels and {"28×28×64", "28×28×128", "28×28×32"} <= set(labels)
    assert {"conv 1×1", "conv 3×3", "conv 5×5", "max pool 3×3"} <= set(labels)
    targets = fig.data[-1 - sum(1 for t in fig.data if t.name in {c.value for c in LayerCategory})]
    leaf_convs = set(table[(table["type"] == "Conv2d")]["name"])
    assert leaf_convs <= set(targets.customdata)


def test_diagram_draws_resnet_shortcuts_and_projections() -> None:
    analysis, _ = analysed("resnet18")
    fig = network_diagram(analysis, depth=3)
    labels = texts(fig)
    assert labels.count("+") == 8  # eight basic blocks, each adding its shortcut
    assert labels.count("downsample") == 3  # W_s projections where the shape changes
    collapsed = network_diagram(analysis, depth=1)
    assert "+" not in texts(collapsed) and "layer1" in texts(collapsed)


def test_diagram_outlines_the_selected_box() -> None:
    analysis, _ = analysed("inception_5x5_bottleneck")
    fig = network_diagram(analysis, selected="1")
    assert any(t.line.color == HIGHLIGHT for t in fig.data if t.mode == "lines")
    assert not any(t.line.color == HIGHLIGHT for t in network_diagram(analysis).data if t.mode == "lines")


def test_readable_depth_collapses_big_networks() -> None:
    assert readable_depth(analysed("inception_module")[0]) == 3
    assert readable_depth(analysed("resnet18")[0]) == 4  # every layer fits
    assert readable_depth(analysed("resnet50")[0]) == 2


def test_resolution_stages_partition_the_macs() -> None:
    analysis, table = analysed("resnet18")
    stages = resolution_stages(table)
    assert list(stages["stage"]) == ["1/2", "1/4", "1/8", "1/16", "1/32", FLAT_STAGE]
    assert stages["macs"].sum() == analysis.totals.macs
    fig = stage_cost(stages.assign(model="resnet18"))
    assert trace_sum(fig) == analysis.totals.macs


def models_table(*names: str, top1: dict[str, float] | None = None) -> pd.DataFrame:
    rows = []
    for name in names:
        analysis, _ = analysed(name)
        rows.append(
            {"model": name, "family": name[:3], "params": analysis.totals.params, "macs": analysis.totals.macs,
             "top1": (top1 or {}).get(name)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_params_vs_macs_and_accuracy_bubbles() -> None:
    models = models_table("lenet5", "resnet18", top1={"resnet18": 69.758})
    scatter = params_vs_macs(models)
    assert scatter.layout.xaxis.type == "log" and scatter.layout.yaxis.type == "log"
    assert sorted(x for t in scatter.data for x in t.x) == sorted(models["macs"])
    bubble = accuracy_vs_macs(models)
    assert [list(t.text) for t in bubble.data] == [["resnet18"]]  # lenet5 has no published top-1
    assert list(bubble.data[0].marker.size) == [analysed("resnet18")[0].totals.params]


def test_accuracy_chart_explains_when_no_model_has_a_top1() -> None:
    fig = accuracy_vs_macs(models_table("lenet5"))
    assert "published ImageNet top-1" in fig.layout.annotations[0].text


def test_scaling_curves_mark_the_current_setting() -> None:
    table = pd.DataFrame(
        {"phi": [0.0, 1.0], "counted_macs": [10, 25], "predicted_macs": [10, 20], "rule_macs": [10, 19]}
    )
    fig = compound_scaling(table, current_phi=1.0)
    assert [list(t.y) for t in fig.data] == [[10, 25], [10, 20], [10, 19]]
    assert fig.layout.shapes[0].x0 == 1.0
    widths = pd.DataFrame({"alpha": [0.5, 1.0], "counted_macs": [3, 12], "predicted_macs": [3, 12]})
    assert len(width_scaling(widths).data) == 2


@pytest.fixture
def results(tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "results.csv"
    for row in (bench_row("a", 1, 2.0), bench_row("a", 8, 8.0), bench_row("b", 1, 5.0), bench_row("b", 64, 1.0, "oom")):
        append_row(path, row)
    return load_results(path)


def test_bench_charts_plot_the_finished_rows(results: pd.DataFrame) -> None:
    latency = latency_vs_batch(results)
    assert sorted(y for t in latency.data for y in t.y) == [2.0, 5.0, 8.0]  # the oom row is left out
    throughput = throughput_by_model(results)
    assert sorted(throughput.data[0].x) == [200.0, 1000.0]  # a's best is batch 8: 8 / 8 ms
    assert len(achieved_vs_peak(results).data) == 2
    roofline = measured_vs_roofline(results)
    assert sorted(x for t in roofline.data[:-1] for x in t.x) == [0.5, 1.25, 2.0]
    macs = macs_vs_latency(results)
    assert sorted(x for t in macs.data for x in t.x) == [1_000_000, 1_000_000, 8_000_000]


def test_bench_charts_have_an_empty_state(results: pd.DataFrame) -> None:
    failed = results[results["status"] != "ok"]
    assert "No finished measurements" in latency_vs_batch(failed).layout.annotations[0].text


def test_roofline_chart_puts_layers_with_macs_on_the_roof():
    from analyzers.devices import lookup_peak
    from analyzers.predict.roofline import model_bound
    from explorer.figures.roofline_chart import roofline_chart

    model = build_model("conv_6x6x3_depthwise_separable")
    bound = model_bound(analyze(model.module, model.input_size), lookup_peak("NVIDIA H200"), "bf16",
                        in_precision_storage=True)
    fig = roofline_chart(bound, device="H200", precision="bf16")
    points = [t for t in fig.data if t.mode == "markers"]
    assert sum(len(t.x) for t in points) == 2  # the depthwise and the pointwise conv
    for trace in points:
        for x, y in zip(trace.x, trace.y):  # on the roof: min(peak, bandwidth × intensity)
            assert y == pytest.approx(min(bound.peak_tflops, bound.memory_gb_per_s * x / 1e3))
    assert fig.layout.title.text.startswith(f"Roofline on H200, bf16: bound {bound.bound_ms:.3g} ms")


def test_tooltips_have_dark_text_on_white() -> None:
    """Plotly draws hover text in the border colour unless the font has one: the template sets both."""
    import plotly.io as pio

    from explorer.figures.theme import INK, TEMPLATE_NAME

    label = pio.templates[TEMPLATE_NAME].layout.hoverlabel
    assert (label.font.color, label.bgcolor) == (INK, "white")


def test_the_selection_outline_stands_out_on_every_category_colour() -> None:
    """The amber outline must not melt into a box's fill (pool boxes were amber-orange: RGB distance 49)."""
    from explorer.figures.theme import CATEGORY_COLORS, CONTAINER_COLOR

    def rgb(color: str) -> tuple[int, ...]:
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))

    for fill in (*CATEGORY_COLORS.values(), CONTAINER_COLOR):
        distance = sum((a - b) ** 2 for a, b in zip(rgb(fill), rgb(HIGHLIGHT))) ** 0.5
        assert distance >= 100, (fill, distance)


def test_the_explorer_writes_volumes_as_the_engine_does() -> None:
    from analyzers.numbers import volume
    from explorer.figures.shape_text import input_volume

    for shape in ((1, 192, 28, 28), (1, 4096), (1, 64, 100), (2, 3, 8, 16, 16)):
        assert hwc(shape) == volume(shape)
    assert input_volume((3, 224, 160)) == "224×160×3"
