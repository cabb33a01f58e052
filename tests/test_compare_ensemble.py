"""The Compare page's ensemble section: the chosen models averaged over N crops, cost per image."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analyzers.bench.results_file import append_row
from tests.bench_rows import bench_row
from tests.test_app_pages import PAGES, TIMEOUT_S, totals


def compare_page(monkeypatch: pytest.MonkeyPatch, bench_dir: Path) -> AppTest:
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(bench_dir))
    at = AppTest.from_file(str(PAGES / "compare.py"), default_timeout=TIMEOUT_S)
    at.run()
    at.multiselect(key="compare_models").set_value(["resnet50", "lenet5"]).run()
    assert not at.exception
    return at


def ensemble_row(at: AppTest):
    frame = next(d.value for d in at.dataframe if "MACs per image" in d.value.columns)
    return frame.iloc[0]


def test_ten_crops_of_two_models_cost_ten_times_their_sum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = compare_page(monkeypatch, tmp_path)
    resnet50, lenet5 = totals("resnet50"), totals("lenet5")
    row = ensemble_row(at)  # 10-crop is the default
    assert (row["models"], row["crops"]) == (2, 10)
    assert row["MACs per image"] == 10 * (resnet50.macs + lenet5.macs)
    assert row["weight bytes"] == resnet50.param_bytes + lenet5.param_bytes  # crops share the weights
    assert row["activation bytes, crops batched"] == 10 * max(resnet50.activation_bytes, lenet5.activation_bytes)
    assert row.isna()["measured ms per image"]  # no results: no latency, never a guess
    at.segmented_control(key="compare_crops").set_value(144).run()
    assert ensemble_row(at)["MACs per image"] == 144 * (resnet50.macs + lenet5.macs)


def test_measured_latency_when_every_model_was_benchmarked(tmp_path: Path, monkeypatch) -> None:
    append_row(tmp_path / "cpu.csv", bench_row("lenet5", 1, 2.0))
    append_row(tmp_path / "cpu.csv", bench_row("resnet50", 1, 50.0))
    at = compare_page(monkeypatch, tmp_path)
    assert ensemble_row(at)["measured ms per image"] == pytest.approx(10 * (2.0 + 50.0))
