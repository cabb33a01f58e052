"""EfficientNet one knob at a time: the zoo options, the notes' presets, the page and its figure.

Expected numbers: the paper's cost rule (Tan & Le 2019, §3.3: FLOPs ∝ d·w²·r²) worked by hand, and the analyzer run
directly on the same models.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analyzers import analyze
from explorer.figures.scaling import knob_scaling
from explorer.zoo import BuildOptionError, build_model
from explorer.zoo.efficientnet import NOTES_PRESETS, predicted_cost_factor
from tests.zoo_helpers import params

PAGE = Path(__file__).resolve().parents[1] / "explorer" / "pages" / "scaling.py"


def _macs(**options: object) -> int:
    model = build_model("efficientnet", **options)
    return analyze(model.module, model.input_size).totals.macs


def test_the_rule_by_hand() -> None:
    assert predicted_cost_factor(2, 1, 1) == 2  # depth doubles the work
    assert predicted_cost_factor(1, 2, 1) == 4  # width: every conv's in and out channels, w²
    assert predicted_cost_factor(1, 1, 2) == 4  # resolution: the map's height and width, r²
    # the notes' mixed question: 1.5 · 1.2² · 1.1² = 1.5 · 1.44 · 1.21 = 2.6136
    assert predicted_cost_factor(1.5, 1.2, 1.1) == pytest.approx(2.6136)
    # compound φ = 1: α·β²·γ² = 1.2 · 1.21 · 1.3225 = 1.920
    assert predicted_cost_factor(1.2, 1.1, 1.15) == pytest.approx(1.92027)


def test_presets_are_the_notes_questions() -> None:
    by_label = {p.label: (p.depth_mult, p.width_mult, p.resolution) for p in NOTES_PRESETS}
    assert by_label["double the depth"] == (2.0, 1.0, 224)
    assert by_label["double the resolution"] == (1.0, 1.0, 448)
    assert by_label["resolution +10%, depth +50%, width +20%"] == (1.5, 1.2, 246)  # round(224 · 1.1) = 246


def test_each_knob_moves_only_its_dimension() -> None:
    b0 = build_model("efficientnet")
    deeper = build_model("efficientnet", depth_mult=2.0)
    wider = build_model("efficientnet", width_mult=2.0)
    sharper = build_model("efficientnet", resolution=448)
    # depth ×2: every stage's block count ×2 (Table 1: 1,2,2,3,3,4,1 → 2,4,4,6,6,8,2 = 32 MBConv blocks)
    assert [len(stage) for stage in deeper.module.features[1:-1]] == [2, 4, 4, 6, 6, 8, 2]
    assert deeper.module.features[0][0].out_channels == b0.module.features[0][0].out_channels == 32
    # width ×2: the stem's 32 filters become 64, the head 1280 → 2560 (4 × the last stage's 320·2)
    assert wider.module.features[0][0].out_channels == 64 and wider.module.classifier[-1].in_features == 2560
    assert [len(stage) for stage in wider.module.features[1:-1]] == [1, 2, 2, 3, 3, 4, 1]
    # resolution changes the input only: the same parameters
    assert sharper.input_size == (3, 448, 448) and params(sharper.module) == params(b0.module)


def test_counted_factors_sit_near_the_rule_where_no_rounding_intervenes() -> None:
    base = _macs()
    assert 1.9 < _macs(depth_mult=2.0) / base < 2.1  # rule: 2
    assert 3.6 < _macs(width_mult=2.0) / base < 4.0  # rule: 4 (the 16 → 24 → … rounding, SE widths)
    assert 3.9 < _macs(resolution=448) / base < 4.05  # rule: 4 (padding at the borders)


def test_phi_and_knobs_compose() -> None:
    assert _macs(phi=1.0) == _macs(depth_mult=1.2, width_mult=1.1, resolution=258)


def test_knob_bounds() -> None:
    with pytest.raises(BuildOptionError, match="depth_mult"):
        build_model("efficientnet", depth_mult=100)
    with pytest.raises(BuildOptionError, match="width_mult"):
        build_model("efficientnet", width_mult=0)


def test_knob_figure_pairs_predicted_and_counted_bars() -> None:
    table = pd.DataFrame(
        {"setting": ["a", "b"], "predicted_macs_factor": [1.0, 2.0], "counted_macs_factor": [1.0, 2.1]}
    )
    fig = knob_scaling(table, current="b")
    assert [trace.name for trace in fig.data] == ["predicted d·w²·r²", "counted (analyzer)"]
    assert list(fig.data[1].y) == [1.0, 2.1]
    assert list(fig.data[0].marker.line.width) == [0, 3]


def test_scaling_page_presets_drive_the_sliders_and_the_counts() -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception
    at.selectbox(key="scaling_knob_preset").select("resolution +10%, depth +50%, width +20%").run()
    assert not at.exception
    assert at.slider(key="scaling_depth").value == 1.5
    assert at.slider(key="scaling_width").value == 1.2
    assert at.slider(key="scaling_knob_resolution").value == 246
    shown = {m.label: (m.value, m.delta) for m in at.metric}
    assert shown["predicted d·w²·r²"][0] == f"× {1.5 * 1.2**2 * (246 / 224) ** 2:.2f}"
    ratio = _macs(depth_mult=1.5, width_mult=1.2, resolution=246) / _macs()
    assert shown["MACs counted"][1] == f"× {ratio:.2f} B0"
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    chart = next(spec for spec in specs if "each dimension alone" in spec["layout"]["title"]["text"])
    assert chart["data"][1]["y"][-1] == pytest.approx(ratio)
