"""Every page under Streamlit's AppTest: change the widgets, read the numbers it renders, and no exception.

Expected numbers come from the seeds (exact) or from running the analyzer directly on the same model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analyzers import analyze
from analyzers.bench.results_file import append_row
from analyzers.bench.schema import BENCH_RESULTS
from explorer.spec import EXAMPLES, load_spec
from explorer.ui.selection import selected_key, table_key
from explorer.zoo import build_model
from tests.bench_rows import bench_row

PAGES = Path(__file__).resolve().parents[1] / "explorer" / "pages"
TIMEOUT_S = 120


def run_page(name: str, **query: str) -> AppTest:
    """Run a page once; `query` is the address's query string (`model="lenet5"` for `?model=lenet5`)."""
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=TIMEOUT_S)
    at.query_params.update(query)
    at.run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_tab(at: AppTest, scope: str, label: str) -> None:
    """Open one tab of "Where the cost goes" (only the open tab's chart is drawn), as a click on it does."""
    at.session_state[f"{scope}_cost_tab"] = label
    at.run()
    assert_clean(at)


def totals(name: str, **options):
    model = build_model(name, **options)
    return analyze(model.module, model.input_size).totals


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


# ---------------------------------------------------------------- Architecture


def test_architecture_opens_on_a_whole_network_and_writes_it_to_the_address() -> None:
    at = run_page("architecture")
    expected = totals("resnet50")
    assert at.title[0].value == "resnet50"
    assert f"**{expected.params:,}** parameters · **{expected.macs:,}** MACs" in captions(at)
    keys = {chart.key for chart in at.get("plotly_chart")}
    assert keys == {"arch_resnet50_diagram_chart", "arch_resnet50_macs_chart"}  # only the open tab is drawn
    for tab, chart in (("Parameters per layer", "params"), ("Cumulative", "cumulative"), ("Roofline", "roofline")):
        open_tab(at, "arch_resnet50", tab)
        assert f"arch_resnet50_{chart}_chart" in {c.key for c in at.get("plotly_chart")}
    assert len(at.dataframe) == 1
    assert at.query_params["model"] == "resnet50"
    at.selectbox(key="arch_model").select("vgg16").run()
    assert at.query_params["model"] == "vgg16"  # a view can be shared: the address names it


def test_architecture_reads_the_model_from_the_address() -> None:
    at = run_page("architecture", model="inception_module")
    assert at.title[0].value == "inception_module"


def test_architecture_shows_the_seeds_bottleneck_numbers() -> None:
    at = run_page("architecture")
    at.selectbox(key="arch_family").select("Seed examples").run()
    at.selectbox(key="arch_model").select("inception_5x5_bottleneck").run()
    assert_clean(at)
    assert "**15,872** parameters · **12,443,648** MACs" in captions(at)
    table = at.dataframe[0].value
    assert list(table["macs"]) == [2_408_448, 10_035_200]
    assert list(table["output"]) == ["28×28×16", "28×28×32"]


def test_architecture_crosscheck_button_runs_fvcore_on_request() -> None:
    at = run_page("architecture")
    at.selectbox(key="arch_family").select("Seed examples").run()
    at.selectbox(key="arch_model").select("inception_5x5_naive").run()
    assert not at.success  # fvcore has not run yet
    at.button(key="arch_inception_5x5_naive_fvcore").click().run()
    assert_clean(at)
    assert metrics(at)["fvcore conv/linear/matmul"] == "120,422,400"
    assert "ours 120,422,400 (equal)" in at.success[0].value
    # plain wording: the naive 5×5 conv is all MACs, so fvcore has nothing else to add; no "↑ equal" arrow
    assert "fvcore total 120,422,400, all of it conv/linear/matmul." in at.success[0].value
    (card,) = [m for m in at.metric if m.label == "fvcore conv/linear/matmul"]
    assert card.delta == "same count"


def test_architecture_roofline_tab_follows_the_device_and_precision() -> None:
    from analyzers.devices import lookup_peak
    from analyzers.predict.roofline import model_bound

    at = run_page("architecture", model="inception_module")
    open_tab(at, "arch_inception_module", "Roofline")
    at.selectbox(key="arch_inception_module_roofline_device").select("NVIDIA A100 SXM 80GB").run()
    at.selectbox(key="arch_inception_module_roofline_dtype").select("fp16").run()
    assert_clean(at)
    model = build_model("inception_module")
    expected = model_bound(analyze(model.module, model.input_size), lookup_peak("NVIDIA A100-SXM4-80GB"), "fp16",
                           in_precision_storage=True)
    (spec,) = [s for s in chart_specs(at) if "Roofline" in s["layout"]["title"]["text"]]
    assert spec["layout"]["title"]["text"].startswith(
        f"Roofline on NVIDIA A100 SXM 80GB, fp16: bound {expected.bound_ms:.3g} ms")


def test_architecture_blocks_collapse_and_expand_one_by_one_and_rows_add_up() -> None:
    """ResNet-18: 'Collapse all' leaves conv1 … fc with layer1…layer4 as single rows; selecting layer2 and
    expanding it opens only that block (its two BasicBlocks as rows, then their layers when opened too); the rows
    always add up to the totals."""
    at = run_page("architecture", model="resnet18")
    full = at.dataframe[0].value
    at.button(key="arch_resnet18_collapse_all").click().run()
    assert_clean(at)
    collapsed = at.dataframe[0].value
    assert list(collapsed["layer"]) == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                                        "avgpool", "flatten", "fc"]  # fmt: skip
    at.session_state[selected_key("arch_resnet18")] = "layer2"
    at.run()
    at.button(key="arch_resnet18_toggle_block").click().run()  # the panel's "Expand this block"
    assert_clean(at)
    one_open = list(at.dataframe[0].value["layer"])
    assert one_open[4:7] == ["layer1", "layer2.0", "layer2.1"] and "layer3" in one_open
    expected = totals("resnet18")
    for table in (full, collapsed, at.dataframe[0].value):
        assert table["macs"].sum() == expected.macs
        assert table["params"].sum() == expected.params


def repr_request(name: str) -> str:
    from explorer.ui.cached_analysis import ModelRequest

    return repr(ModelRequest.of(name, build_model(name).input_size))


def test_architecture_input_too_small_is_a_friendly_error() -> None:
    at = run_page("architecture")
    at.selectbox(key="arch_model").select("lenet5").run()
    at.text_input(key="arch_lenet5_32_h").input("4").run()
    assert_clean(at)
    assert len(at.error) == 1
    assert "\n" not in at.error[0].value


def test_architecture_selected_layer_links_table_and_diagram() -> None:
    at = run_page("architecture", model="inception_module")
    scope = "arch_inception_module"
    at.session_state[selected_key(scope)] = "branch2.1.conv"
    at.run()
    assert_clean(at)
    names = list(at.dataframe[0].value["layer"])
    assert at.session_state[table_key(scope)]["selection"]["rows"] == [names.index("branch2.1.conv")]
    diagram = chart_specs(at)[0]
    highlighted = [t for t in diagram["data"] if t.get("mode") == "lines" and t.get("line", {}).get("width") == 4]
    assert len(highlighted) == 1


# ---------------------------------------------------------------- Arithmetic


def test_arithmetic_opens_on_the_naive_inception_conv() -> None:
    at = run_page("arithmetic")
    shown = metrics(at)
    assert shown["Output volume"] == "28×28×32"
    assert shown["Parameters"] == "153,600"
    assert [m.value for m in at.metric if m.label == "MACs"][:2] == ["120,422,400", "120,422,400"]
    assert len(at.success) == 5 and not at.error  # the calculator and the four designs compared agree


def test_arithmetic_comparisons_show_bottleneck_and_depthwise_separable() -> None:
    at = run_page("arithmetic")
    macs = [m.value for m in at.metric if m.label == "MACs"]
    assert macs[1:] == ["120,422,400", "12,443,648", "2,160", "672"]
    ratios = [i.value for i in at.info]
    assert any("1/n_c' + 1/f² = 1/5 + 1/3² = 0.311" in r for r in ratios)


@pytest.mark.parametrize(
    ("preset", "volume", "params", "macs"),
    [
        ("AlexNet conv1", "55×55×96", "34,944", "105,415,200"),
        ("Depthwise 3×3 on 6×6×3", "4×4×3", "27", "432"),
        ("1×1 conv, 28×28×192 → 32", "28×28×32", "6,144", "4,816,896"),
        ("AlexNet max pool 3×3, stride 2", "27×27×96", "0", "0"),
    ],
)
def test_arithmetic_presets(preset: str, volume: str, params: str, macs: str) -> None:
    at = run_page("arithmetic")
    at.selectbox(key="arith_preset").select(preset).run()
    assert_clean(at)
    shown = metrics(at)
    assert (shown["Output volume"], shown["Parameters"], at.metric[2].value) == (volume, params, macs)
    assert "Agrees with the analyzer" in at.success[0].value


@pytest.mark.parametrize(("field", "text", "message"), [
    ("arith_n", "1e9", "n = '1e9' is not a whole number (allowed: whole numbers 1–4,096)"),
    ("arith_n", "5000", "n = 5,000 is out of range (allowed: whole numbers 1–4,096)"),
    ("arith_f", "3.7", "f = '3.7' is not a whole number (allowed: whole numbers 1–512)"),
    ("arith_stride", "", "s is empty (allowed: whole numbers 1–512)")])
def test_arithmetic_fields_are_read_exactly(field: str, text: str, message: str) -> None:
    """An entry the calculator cannot use is said in place of a result: never rounded (3.7 → 3), cut (1e9 → 1)
    or put back (an emptied field)."""
    at = run_page("arithmetic")
    at.text_input(key=field).input(text).run()
    assert_clean(at)
    assert message in [e.value for e in at.error]
    assert at.metric[0].label != "Output volume"  # no result for another layer


def test_arithmetic_edit_becomes_custom_and_rejects_impossible_layers() -> None:
    at = run_page("arithmetic")
    at.text_input(key="arith_f").input("3").run()
    assert at.selectbox(key="arith_preset").value == "Custom"
    assert at.metric[2].value == f"{28 * 28 * 32 * 3 * 3 * 192:,}"  # same padding now p = 1
    at.text_input(key="arith_groups").input("5").run()
    assert_clean(at)
    assert "groups = 5 must divide" in at.error[0].value


# ---------------------------------------------------------------- Compare


def test_compare_tables_the_chosen_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))  # no results: no latency chart
    at = run_page("compare")
    at.multiselect(key="compare_models").set_value(["vgg16", "resnet50", "lenet5"]).run()
    assert_clean(at)
    table = at.dataframe[0].value.set_index("model")
    for name in ("vgg16", "resnet50", "lenet5"):
        expected = totals(name)
        assert (table.loc[name, "params"], table.loc[name, "macs"]) == (expected.params, expected.macs)
    assert table.loc["resnet50", "top1"] == pytest.approx(76.13)
    assert len(at.get("plotly_chart")) == 3


def test_compare_adds_measured_latency_when_results_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    append_row(tmp_path / "cpu.csv", bench_row("lenet5", 1, 2.0))
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("compare")
    at.multiselect(key="compare_models").set_value(["vgg16", "lenet5"]).run()
    assert_clean(at)
    assert [chart.key for chart in at.get("plotly_chart")][-1] == "compare_latency"
    assert list(at.dataframe[1].value["latency_ms_p50"]) == [2.0]


def test_compare_without_models_says_what_to_do() -> None:
    at = run_page("compare")
    at.multiselect(key="compare_models").set_value([]).run()
    assert_clean(at)
    assert "Pick two or more models" in at.info[0].value


# ---------------------------------------------------------------- Scaling


def test_scaling_efficientnet_phi_zero_is_b0() -> None:
    at = run_page("scaling")
    at.slider(key="scaling_phi").set_value(0.0).run()
    assert_clean(at)
    b0 = totals("efficientnet")
    shown = metrics(at)
    assert shown["depth × α^φ"] == "1.00" and shown["resolution"] == "224×224"
    phi_chart = chart_specs(at)[0]
    counted = phi_chart["data"][0]["y"]
    assert counted[0] == b0.macs
    assert counted[3] == totals("efficientnet", phi=3.0).macs


def test_scaling_mobilenet_alpha_and_resolution_follow_alpha_squared_rho_squared() -> None:
    at = run_page("scaling")
    at.select_slider(key="scaling_alpha").set_value(0.5).run()
    at.select_slider(key="scaling_resolution").set_value(160).run()
    assert_clean(at)
    model = build_model("mobilenet_v1", width_mult=0.5)
    expected = analyze(model.module, (3, 160, 160)).totals.macs
    shown = metrics(at)
    assert shown["counted MACs"] == f"{expected:,}"
    assert 0.9 < float(shown["counted / predicted"]) < 1.1  # the paper's α²ρ² rule holds within 10 %


# ---------------------------------------------------------------- Design


def test_design_opens_on_lenet5_with_the_zoo_numbers() -> None:
    at = run_page("design")
    expected = totals("lenet5")
    assert f"**{expected.params:,}** parameters · **{expected.macs:,}** MACs" in captions(at)


def test_design_example_inception_module_matches_the_zoo() -> None:
    at = run_page("design")
    at.selectbox(key="design_example").select("Inception module").run()
    assert_clean(at)
    expected = totals("inception_module")
    assert f"**{expected.params:,}** parameters · **{expected.macs:,}** MACs" in captions(at)


def test_design_spec_errors_name_the_line_and_never_raise() -> None:
    at = run_page("design")
    at.text_area(key="design_text").input("input 32x32x1\nconv 5x5\n").run()
    assert_clean(at)
    assert at.error[0].value.startswith("line 2")
    assert at.header[0].value.startswith("Previous analysis: ")  # the last good analysis stays, labelled


def test_design_analyses_typed_text_only_through_the_parser() -> None:
    text = "input 8x8x3\nconv 4 3x3\nflatten\nfc 2\n"
    at = run_page("design")
    at.text_area(key="design_text").input(text).run()
    assert_clean(at)
    spec = load_spec(text)
    expected = analyze(spec.module, spec.input_size).totals
    assert f"**{expected.macs:,}** MACs" in captions(at)
    assert EXAMPLES  # the examples the page offers


# ---------------------------------------------------------------- Benchmarks


def test_benchmarks_empty_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("benchmarks")
    assert "No benchmark results yet" in at.info[0].value
    assert not at.get("plotly_chart")


def test_benchmarks_charts_results_and_skips_bad_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for row in (bench_row("lenet5", 1, 2.0), bench_row("lenet5", 8, 6.0), bench_row("resnet18", 64, 1.0, "oom")):
        append_row(tmp_path / "cpu.csv", row)
    (tmp_path / "broken.csv").write_text("model,batch\nlenet5,1\n")
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("benchmarks")
    assert "broken.csv: missing column(s)" in at.warning[0].value.replace("\\", "")  # user text arrives escaped
    shown = metrics(at)
    assert (shown["Results"], shown["Failed (oom / error)"]) == ("3", "1")
    assert len(at.get("plotly_chart")) == 5
    assert list(at.dataframe[0].value["latency_ms_p50"].dropna()) == [2.0, 6.0]


# ---------------------------------------------------------------- Architecture, as people use it (issue 14)


def plotly_array(value) -> list:
    """A data array of a figure's JSON: a list, or Plotly's typed array {'dtype': 'i1', 'bdata': base64}."""
    if isinstance(value, dict) and "bdata" in value:
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def chart_spec(at: AppTest, title: str) -> dict:
    (spec,) = [s for s in chart_specs(at) if s["layout"].get("title", {}).get("text", "").startswith(title)]
    return spec


def test_architecture_bars_one_per_table_row() -> None:
    """LeNet-5's bars: one trace, one bar per table row (12 leaves), each in its own slot."""
    at = run_page("architecture")
    at.selectbox(key="arch_model").select("lenet5").run()
    assert_clean(at)
    layers = list(at.dataframe[0].value["layer"])
    for title in ("MACs per layer", "Parameters per layer"):
        open_tab(at, "arch_lenet5", title)
        bars = [t for t in chart_spec(at, title)["data"] if t["type"] == "bar"]
        assert len(bars) == 1
        assert plotly_array(bars[0]["customdata"]) == layers
        assert plotly_array(bars[0]["x"]) == list(range(1, len(layers) + 1))


def marker_colors(spec: dict) -> dict[str, str]:
    """Model name → its marker colour in a Compare scatter (one trace per model)."""
    return {t["name"]: t["marker"]["color"] for t in spec["data"] if t.get("mode", "").startswith("markers")}


def test_compare_colours_are_the_models_own_whatever_is_chosen(tmp_path: Path, monkeypatch) -> None:
    """vgg16 keeps its colour when the selection around it changes, on both scatters; ten models, ten colours."""
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("compare")
    colours = []
    for chosen in (["vgg16", "resnet50"], ["lenet5", "alexnet", "resnet18", "vgg16"]):
        at.multiselect(key="compare_models").set_value(chosen).run()
        assert_clean(at)
        for title in ("Parameters vs MACs", "Accuracy vs MACs"):
            colours.append(marker_colors(chart_spec(at, title))["vgg16"])
    assert len(set(colours)) == 1
    ten = ["lenet5", "alexnet", "zfnet", "vgg16", "vgg19", "resnet18", "resnet50", "googlenet", "mobilenet_v2",
           "efficientnet_b0"]  # fmt: skip
    at.multiselect(key="compare_models").set_value(ten).run()
    assert len(set(marker_colors(chart_spec(at, "Parameters vs MACs")).values())) == 10


def test_compare_single_model_axes_have_several_ticks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("compare")
    at.multiselect(key="compare_models").set_value(["resnet50"]).run()
    assert_clean(at)
    layout = chart_spec(at, "Parameters vs MACs")["layout"]
    for axis in ("xaxis", "yaxis"):
        low, high = layout[axis]["range"]
        shown = [t for t in plotly_array(layout[axis]["tickvals"]) if low <= math.log10(t) <= high]
        assert len(shown) >= 3, (axis, shown)


def test_compare_latency_points_are_named_and_coloured_by_model(tmp_path: Path, monkeypatch) -> None:
    for model, ms in (("lenet5", 2.0), ("vgg16", 300.0)):
        append_row(tmp_path / "cpu.csv", bench_row(model, 1, ms))
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("compare")
    at.multiselect(key="compare_models").set_value(["vgg16", "lenet5"]).run()
    assert_clean(at)
    points = [t for t in chart_spec(at, "Counted MACs vs measured latency")["data"] if t.get("x")]
    names = [text for t in points for text in t["text"]]
    colours = [c for t in points for c in t["marker"]["color"]]
    assert sorted(names) == ["lenet5 ×1", "vgg16 ×1"]
    assert len(set(colours)) == 2


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("h", "0", "H = 0 is out of range (allowed: whole numbers 1–4,096)"),
    ("h", "5000", "H = 5,000 is out of range (allowed: whole numbers 1–4,096)"),
    ("h", "1e9", "H = '1e9' is not a whole number (allowed: whole numbers 1–4,096)"),  # not 1
    ("h", "٣", "H = '٣' is not a whole number (allowed: whole numbers 1–4,096)"),  # not 3
    ("h", "3.7", "H = '3.7' is not a whole number (allowed: whole numbers 1–4,096)"),  # not 3
    ("h", "", "H is empty (allowed: whole numbers 1–4,096)"),  # not the default put back
    ("batch", "0", "Batch = 0 is out of range (allowed: whole numbers 1–4,096)"),
    ("batch", "100000", "Batch = 100,000 is out of range (allowed: whole numbers 1–4,096)")])
def test_architecture_out_of_range_input_says_what_is_allowed_and_shows_no_numbers(field, value, shown) -> None:
    """Every entry is read exactly: nothing is rounded, clipped or put back behind the user's back, and a bad one
    is said once (in the main area, not again in the sidebar) with no numbers left from another input."""
    at = run_page("architecture")
    at.selectbox(key="arch_model").select("lenet5").run()
    assert at.metric  # numbers for the valid input
    key = "arch_batch" if field == "batch" else "arch_lenet5_32_h"
    at.text_input(key=key).input(value).run()
    assert_clean(at)
    assert [e.value for e in at.error] == [f"{shown}. Nothing is analysed until it is."]
    assert not at.sidebar.error
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")  # nothing stale under the new input
    assert "allowed: H, W and C 1–4,096; batch 1–4,096" in captions(at)  # the range is visible before any error


def test_architecture_metric_cards_use_prefixes_up_to_exa_with_the_exact_number_in_the_tooltip() -> None:
    """VGG-16 at 4096×4096, batch 4096 does ~2e16 MACs: '21.1 P' (not '2.11e+04 T'), the exact count in the help."""
    at = run_page("architecture")
    at.selectbox(key="arch_model").select("vgg16").run()
    at.text_input(key="arch_vgg16_224_h").input("4096").run()
    at.text_input(key="arch_vgg16_224_w").input("4096").run()
    at.text_input(key="arch_batch").input("4096").run()
    assert_clean(at)
    model = build_model("vgg16", device="meta")
    expected = analyze(model.module, (3, 4096, 4096), 4096).totals.macs
    (card,) = [m for m in at.metric if m.label == "MACs"]
    scale, prefix = (1e18, "E") if expected >= 1e18 else (1e15, "P")
    assert card.value == f"{expected / scale:.1f} {prefix}".replace(".0 ", " ")
    assert f"{expected:,}" in card.proto.help


def test_architecture_crosscheck_is_refused_for_a_huge_real_run() -> None:
    """resnet18 at 2048×2048 × batch 4 (33 s and 2.8 GB in the server before): the button is off, with the limit."""
    at = run_page("architecture")
    at.selectbox(key="arch_model").select("resnet18").run()
    at.text_input(key="arch_resnet18_224_h").input("2048").run()
    at.text_input(key="arch_resnet18_224_w").input("2048").run()
    at.text_input(key="arch_batch").input("4").run()
    assert_clean(at)
    assert at.button(key="arch_resnet18_fvcore").disabled
    assert any("50,331,648 input elements" in i.value and "over its limit of 3,145,728" in i.value for i in at.info)


def test_roofline_offers_the_measured_cpu_of_the_shipped_benchmarks() -> None:
    """The CPU device carries the shipped CSV's measured fp32 peak; only fp32 is offered for it; its chart's
    TFLOP/s axis prints plain numbers (0.1, not SI's '100m')."""
    at = run_page("architecture")
    scope = "arch_" + at.title[0].value
    open_tab(at, scope, "Roofline")
    devices = at.selectbox(key=f"{scope}_roofline_device").options
    (cpu,) = [d for d in devices if "CPU (measured here: 0.183 TFLOP/s fp32" in d]
    at.selectbox(key=f"{scope}_roofline_device").select(cpu).run()
    assert_clean(at)
    assert at.selectbox(key=f"{scope}_roofline_dtype").options == ["fp32"]
    spec = chart_spec(at, f"Roofline on {cpu}, fp32")
    assert spec["layout"]["yaxis"]["tickformat"] == "~g"


def test_a_measured_cpu_is_the_peak_and_bandwidth_its_rows_store() -> None:
    """The bandwidth is a column now, not read back by bisection: each device is its latest measured row's
    `peak_tflops` and `memory_gb_per_s`, and those reproduce the harness's recorded roofline bound of the rows of
    that run (alexnet and resnet18 at batches 1 and 4 on the EPYC) to 0.5 %."""
    from analyzers.predict.roofline import model_bound
    from explorer.ui.bench_results import shipped_results
    from explorer.ui.measured_devices import _peaks

    results = shipped_results().results
    epyc = [peak for peak in _peaks(results) if peak.name.startswith("AMD EPYC CPU")]
    assert [(p.name, p.fp32_tflops, p.memory_gb_per_s) for p in epyc] == [
        ("AMD EPYC CPU (measured here: 0.183 TFLOP/s fp32, 42.3 GB/s)", 0.1828459, 42.32379)]
    rows = results[results["model"].isin(["alexnet", "resnet18"]) & (results["device_name"] == "AMD EPYC")]
    assert len(rows) == 4
    for row in rows.itertuples():
        model = build_model(row.model, device="meta")
        bound = model_bound(analyze(model.module, (3, 224, 224), int(row.batch)), epyc[0], "fp32").bound_ms
        assert bound == pytest.approx(row.roofline_ms, rel=5e-3)


def test_inception_v3_draws_the_never_run_aux_head_apart_and_the_legend_names_every_colour() -> None:
    """In eval mode Inception v3 never calls AuxLogits (calls = 0): greyed in a row of its own, under everything
    else and with no path into it, not after `fc`. The legend names blocks and 'other' layers too."""
    from explorer.figures.network_diagram import UNUSED_COLOR, UNUSED_LABEL

    at = run_page("architecture", model="inception_v3")
    diagram = chart_spec(at, "Network diagram")
    texts = [t for trace in diagram["data"] for t in (trace.get("text") or [])]
    assert UNUSED_LABEL in texts
    (unused,) = [t for t in diagram["data"] if t.get("fillcolor") == UNUSED_COLOR]
    path = diagram["data"][0]  # the edges
    lowest_edge = min(y for y in plotly_array(path["y"]) if y is not None)
    assert max(y for y in plotly_array(unused["y"]) if y is not None) < lowest_edge  # below the whole path
    legend = {t["name"] for t in diagram["data"] if t.get("showlegend") is not False and t.get("name")}
    assert {"block (collapsed)", "other (flatten, dropout, …)", "not run (calls = 0)"} <= legend


def test_resnet50_folds_identical_blocks_and_the_panel_explains_the_selected_layer() -> None:
    """ResNet-50 has 3, 4, 6, 3 bottlenecks per stage; each stage's first one has the downsample projection, the
    rest are identical: drawn as layer1.1 ×2, layer2.1 ×3, layer3.1 ×5, layer4.1 ×2. The diagram fits in view
    (at most 760 px). layer1.0.conv1 is a 1×1 conv, 64 → 64 channels on 56×56: 56·56·64·64 = 12,845,056 MACs,
    4,096 weights; its receptive field is conv1's 7, plus (3 − 1)·2 for the stride-2 max pool = 11 pixels."""
    at = run_page("architecture")
    diagram = chart_spec(at, "Network diagram")
    texts = [t for trace in diagram["data"] for t in (trace.get("text") or [])]
    assert [t for t in texts if "×" in t and t.startswith("layer")] == ["layer1.1 ×2", "layer2.1 ×3", "layer3.1 ×5",
                                                                      "layer4.1 ×2"]  # fmt: skip
    assert diagram["layout"]["height"] <= 760
    at.session_state[selected_key("arch_resnet50")] = "layer1.0.conv1"
    at.run()
    assert_clean(at)
    panel = (captions(at) + "\n".join(m.value for m in at.markdown)).replace("\\", "")  # markdown escapes
    assert "out 56×56×64 · kernel 1×1×64 = 12,845,056 MACs" in panel
    assert "1·1·64·64 = 4,096" in panel
    assert "Receptive field: **11×11 input pixels, jump 4**" in panel


def test_layer_table_number_columns_widen_with_their_numbers() -> None:
    """VGG-16 at batch 256: features.2 does 224·224·64·(3·3·64)·256 = 473,520,144,384 MACs (15 characters). The MACs
    column is sized from the numbers shown, so a larger batch widens it (the grid keeps a column's first width:
    '73,520,144,384' was all that showed before)."""
    at = run_page("architecture", model="vgg16")
    narrow = json.loads(at.dataframe[0].proto.columns)["macs"]["width"]
    at.text_input(key="arch_batch").input("256").run()
    assert_clean(at)
    assert at.dataframe[0].value.set_index("layer").loc["features.2", "macs"] == 224 * 224 * 64 * 3 * 3 * 64 * 256
    wide = json.loads(at.dataframe[0].proto.columns)["macs"]["width"]
    assert wide >= narrow + 2 * 8  # two more digits than batch 1's 1,849,688,064
    assert wide >= 8 * len("473,520,144,384") + 20


def test_benchmarks_with_many_models_keep_their_colours_room_and_quotes(tmp_path: Path, monkeypatch) -> None:
    """1,200 models (12 of them 4× faster than the rest): 'Models' reads 1,200; each configuration is drawn in its
    model's own colour on every chart (the same on latency and % of peak), the legend below grows the figure
    instead of squeezing the plot, and a quote in a name is the entity Plotly decodes (&#34;), never '&quot;'."""
    from analyzers.bench.results_file import ResultsFile
    from explorer.figures.bench_charts import latency_vs_batch
    from explorer.figures.identity_colors import model_color

    names = [f'net "{i}"' for i in range(1200)]
    with ResultsFile(tmp_path / "cpu.csv", BENCH_RESULTS) as results:
        results.append_all(bench_row(name, batch, (1.0 if i < 12 else 4.0) + i / 1000)
                            for i, name in enumerate(names) for batch in (1, 8))
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("benchmarks")
    assert metrics(at)["Models"] == "1,200" and metrics(at)["Results"] == "2,400"
    latency, peak = chart_spec(at, "Latency vs batch size"), chart_spec(at, "Achieved vs peak compute")
    colours = {t["name"]: t["line"]["color"] for t in latency["data"]}
    assert colours == {t["name"]: t["line"]["color"] for t in peak["data"]}
    assert len(colours) == 24 and len(set(colours.values())) == 24
    assert colours["net &#34;0&#34; · fp32"] == model_color('net "0"')
    assert all("&quot;" not in t["name"] for t in latency["data"])

    def plot_height(layout) -> int:
        return layout["height"] - layout["margin"]["b"] - layout.get("margin", {}).get("t", 56)

    import pandas as pd

    one = json.loads(latency_vs_batch(pd.DataFrame([bench_row("lenet5", 1, 2.0)])).to_json())["layout"]
    assert latency["layout"]["height"] > one["height"]  # the figure grows for its legend …
    assert plot_height(latency["layout"]) == plot_height(one)  # … and the plot keeps its size


def test_scaling_bar_labels_are_short_lines_never_rotated() -> None:
    """The one-knob chart names each setting under its bars in lines of at most 16 characters (the longest setting,
    'compound φ = 1 (α = 1.2, β = 1.1, γ = 1.15)', rotated and cut off before) with the axis kept horizontal,
    and no axis title under them (Chromium drew 'setting' on their third lines)."""
    at = run_page("scaling")
    spec = chart_spec(at, "EfficientNet: each dimension alone")
    labels = [x for trace in spec["data"] for x in trace["x"]]
    assert any(label.startswith("compound φ = 1") for label in labels)
    assert max(len(line) for label in labels for line in label.split("<br>")) <= 16
    assert spec["layout"]["xaxis"]["tickangle"] == 0
    assert not spec["layout"]["xaxis"].get("title", {}).get("text")  # an axis title sat on the third lines


def test_gradients_seed_and_batch_are_read_exactly() -> None:
    """'2.5' is not a batch (it was read as 2) and a seed past 10,000 is said, not clipped: no chart for another."""
    at = run_page("gradients")
    at.text_input(key="gradients_batch").input("2.5").run()
    assert_clean(at)
    assert any("batch = '2.5' is not a whole number" in e.value for e in at.error)
    assert not at.get("plotly_chart")
    at.text_input(key="gradients_batch").input("8").run()
    at.text_input(key="gradients_seed").input("20000").run()
    assert any("seed = 20,000 is out of range (allowed: whole numbers 0–10,000)" in e.value for e in at.error)


def test_a_deep_network_opens_to_a_depth_within_the_drawing_budget() -> None:
    """ResNet-1202 opened to depth 3 (every one of its 603 blocks): the diagram still draws at most MAX_ELEMENTS
    boxes, says how many open blocks it shows closed, and the table lists what the diagram shows; finding
    layer3.199.conv2 by name then selects it and opens its way (layer3, layer3.199)."""
    from explorer.figures.network_diagram import MAX_ELEMENTS

    at = run_page("architecture", model="resnet1202_cifar")
    scope = "arch_resnet1202_cifar"
    at.selectbox(key=f"{scope}_depth").select(3).run()
    assert_clean(at)
    targets = next(t for t in chart_spec(at, "Network diagram")["data"] if t.get("name") == "layers")
    assert len(plotly_array(targets["customdata"])) <= MAX_ELEMENTS
    assert any("of the 603 open blocks are drawn closed" in c.value for c in at.caption)
    at.selectbox(key=f"{scope}_find").select("layer3.199.conv2").run()
    assert_clean(at)
    assert at.session_state[selected_key(scope)] == "layer3.199.conv2"
    rows = list(at.dataframe[0].value["layer"])
    assert "layer3.199.conv2" in rows and rows[at.session_state[table_key(scope)]["selection"]["rows"][0]] == \
        "layer3.199.conv2"
    targets = next(t for t in chart_spec(at, "Network diagram")["data"] if t.get("name") == "layers")
    assert "layer3.199.conv2" in plotly_array(targets["customdata"])
