"""The app's speed views under Streamlit's AppTest: the Architecture page's Speed view, the Catalogue's predicted vs
published throughput and Compare's predicted-throughput column.

Expected numbers come from the engine run directly on the same model (`analyzers.predict.predict`) or from the
shipped held-out rows read with the csv module; every predicted number must say "predicted", and a measured row
from a results CSV stands beside the prediction, never in it.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analyzers import analyze
from analyzers.bench.results_file import append_row
from analyzers.predict.measured import HELD_OUT
from analyzers.predict.prediction import predict
from explorer.zoo import build_model
from tests.bench_rows import bench_row
from tests.test_app_pages import run_page


def rerun(at: AppTest) -> None:
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def forward(name: str):
    model = build_model(name)
    return analyze(model.module, model.input_size, model_name=name)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def gpu_row(model: str, batch: int, latency_ms: float) -> dict:
    """A results row measured on an RTX 5090 (the test helper's row is a CPU one)."""
    return {**bench_row(model, batch, latency_ms), "device": "cuda:0", "device_name": "NVIDIA GeForce RTX 5090",
            "dtype": "bf16", "input_size": "3x224x224"}


def test_architecture_speed_view_predicts_per_layer_and_keeps_measured_rows_apart(tmp_path: Path,
                                                                                  monkeypatch) -> None:
    append_row(tmp_path / "gpu.csv", gpu_row("resnet18", 256, 12.5))
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("architecture", model="resnet18")
    assert "arch_resnet18_speed_layers" not in {c.key for c in at.get("plotly_chart")}  # only on request
    at.toggle(key="arch_resnet18_speed").set_value(True)
    rerun(at)
    assert at.selectbox(key="arch_resnet18_speed_device").value == "rtx5090"
    at.selectbox(key="arch_resnet18_speed_precision").select("bf16")
    at.selectbox(key="arch_resnet18_speed_batch").select(256)
    rerun(at)
    expected = predict(forward("resnet18"), "rtx5090", "bf16", batch=256)
    shown = metrics(at)
    assert shown["Predicted time per batch"] == f"{expected.total_ms:,.3g} ms"
    assert shown["Predicted throughput"] == f"{expected.throughput:,.0f} /s"
    assert shown["Held-out median |error|"] == f"{expected.interval.median_abs_error:.0%}"
    low, high = expected.interval.bounds_ms(expected.total_ms)
    (caption,) = [c.value for c in at.caption if c.value.startswith("**Predicted**")]
    assert f"fell between {low:,.3g} and {high:,.3g} ms" in caption
    # the measured row stands apart, labelled measured, and is not what the metrics show
    (measured,) = [m.value for m in at.markdown if m.value.startswith("**Measured**")]
    assert "12.500 ms per batch of 256" in measured and "gpu.csv" in measured
    assert "12.5" not in shown["Predicted time per batch"]
    charts = {c.key: c for c in at.get("plotly_chart")}
    assert {"arch_resnet18_speed_layers", "arch_resnet18_speed_batches"} <= set(charts)
    table = next(d.value for d in at.dataframe if "predicted_ms" in d.value.columns)
    assert len(table) == sum(1 for layer in expected.layers if layer.kernels)  # layers that launch a kernel
    assert table["predicted_ms"].sum() == pytest.approx(expected.total_ms)
    assert table["macs"].sum() == expected_macs("resnet18")
    assert all(c.startswith("predicted") for c in table.columns if c.endswith("_ms") or c.endswith("share"))


def expected_macs(name: str) -> int:
    return forward(name).totals.macs


def test_architecture_speed_view_follows_the_device_to_this_cpu(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("architecture", model="lenet5")
    at.toggle(key="arch_lenet5_speed").set_value(True)
    rerun(at)
    at.selectbox(key="arch_lenet5_speed_device").select("cpu")
    rerun(at)
    assert at.selectbox(key="arch_lenet5_speed_precision").options == ["fp32"]  # a CPU has no tensor-core modes
    batch = at.selectbox(key="arch_lenet5_speed_batch").value
    expected = predict(forward("lenet5"), "cpu", "fp32", batch=batch)
    assert metrics(at)["Predicted time per batch"] == f"{expected.total_ms:,.3g} ms"
    assert not [m for m in at.markdown if m.value.startswith("**Measured**")]  # none in an empty folder


def held_out_rows(evaluation: str) -> list[dict[str, str]]:
    with HELD_OUT.open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["evaluation"] == evaluation]


@pytest.mark.parametrize("evaluation", ["rtx5090", "pro6000-maxq"])
def test_catalogue_shows_predicted_against_published_with_the_held_out_error(evaluation: str) -> None:
    at = run_page("catalogue")
    assert "catalogue_speed_chart" not in {c.key for c in at.get("plotly_chart")}  # drawn on request
    at.toggle(key="catalogue_speed").set_value(True)
    rerun(at)
    at.radio(key="catalogue_speed_device").set_value(evaluation)
    rerun(at)
    rows = held_out_rows(evaluation)
    errors = [abs(float(r["predicted_ms"]) / float(r["measured_ms"]) - 1) for r in rows]
    shown = metrics(at)
    assert shown["timm rows (model × image size)"] == f"{len(rows):,}"
    assert shown["held-out median |error|"] == f"{statistics.median(errors):.1%}"
    assert shown["within ±25 %"] == f"{sum(e <= 0.25 for e in errors) / len(errors):.0%}"
    table = next(d.value for d in at.dataframe if "predicted_per_s" in d.value.columns)
    first = rows[0]
    model, size = first["sample"].rsplit("@", 1)
    row = table[(table["model"] == model) & (table["image_size"] == size)].iloc[0]
    assert row["published_per_s"] == pytest.approx(int(first["batch"]) / float(first["measured_ms"]) * 1e3)
    assert row["predicted_per_s"] == pytest.approx(int(first["batch"]) / float(first["predicted_ms"]) * 1e3)
    assert "catalogue_speed_chart" in {c.key for c in at.get("plotly_chart")}


def test_catalogue_speed_is_for_timm_only() -> None:
    at = run_page("catalogue")
    at.radio(key="catalogue_source").set_value("torchvision")
    rerun(at)
    assert not [t for t in at.toggle if t.key == "catalogue_speed"]


def test_compare_has_a_predicted_throughput_column_with_its_band(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("compare")
    at.multiselect(key="compare_models").set_value(["resnet18", "lenet5"])
    at.selectbox(key="compare_speed_batch").select(32)
    rerun(at)
    table = at.dataframe[0].value.set_index("model")
    column = "predicted /s on GeForce RTX 5090 (batch 32, bf16)"
    for name in ("resnet18", "lenet5"):
        expected = predict(forward(name), "rtx5090", batch=32)
        low, high = expected.interval.bounds_ms(expected.total_ms)
        assert table.loc[name, column] == round(expected.throughput)
        assert table.loc[name, "predicted /s, 80 % band"] == f"{32 / high * 1e3:,.0f}–{32 / low * 1e3:,.0f}"


def test_a_timm_model_shows_timms_published_rows_beside_the_prediction(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = run_page("architecture", model="timm:resnet18")
    scope = next(t.key for t in at.toggle if t.label.startswith("Predict the time per layer")).removesuffix("_speed")
    at.toggle(key=f"{scope}_speed").set_value(True)
    rerun(at)
    published = [r for r in held_out_rows("rtx5090") if r["sample"].rsplit("@", 1)[0] == "resnet18"]
    assert published  # timm measured resnet18 on the 5090
    (measured,) = [m.value for m in at.markdown if m.value.startswith("**Measured**")]
    for row in published:
        assert f"{float(row['measured_ms']):.3f} ms per batch of {row['batch']}" in measured
    assert "timm's RTX 5090 file" in measured
