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
    frame = next(d.value for d in at.dataframe if "macs_per_image" in d.value.columns)
    return frame.iloc[0]


def test_ten_crops_of_two_models_cost_ten_times_their_sum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = compare_page(monkeypatch, tmp_path)
    resnet50, lenet5 = totals("resnet50"), totals("lenet5")
    row = ensemble_row(at)  # 10-crop is the default
    assert (row["models"], row["crops"]) == (2, 10)
    assert row["macs_per_image"] == 10 * (resnet50.macs + lenet5.macs)
    assert row["weight_bytes"] == resnet50.param_bytes + lenet5.param_bytes  # crops share the weights
    assert row["activation_bytes_batched"] == 10 * max(resnet50.activation_bytes, lenet5.activation_bytes)
    assert row.isna()["latency_ms_per_image"]  # no results: no latency, never a guess (shown as "—", not "None")
    # measured against the costliest member (resnet50), not whichever model happens to be first (lenet5: ~10⁶×)
    assert row["vs_costliest"] == pytest.approx(10 * (resnet50.macs + lenet5.macs) / resnet50.macs)
    assert "the MACs of its costliest member, resnet50, on one crop" in "".join(c.value for c in at.caption)
    at.segmented_control(key="compare_crops").set_value(144).run()
    assert ensemble_row(at)["macs_per_image"] == 144 * (resnet50.macs + lenet5.macs)


def test_the_ensemble_table_is_formatted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands separators and labels for every column, '—' for a missing latency (the proto's column config)."""
    import json

    at = compare_page(monkeypatch, tmp_path)
    table = next(d for d in at.dataframe if "macs_per_image" in d.value.columns)
    config = json.loads(table.proto.columns)
    assert config["macs_per_image"]["label"] == "MACs per image"
    assert config["macs_per_image"]["type_config"]["format"] == "localized"
    assert config["vs_costliest"]["label"] == "× resnet50 alone"
    assert table.proto.placeholder == "—"


def test_more_models_than_an_ensemble_takes_leave_the_comparison_standing(tmp_path: Path, monkeypatch) -> None:
    """65 models (an ensemble takes at most 64): the table and charts stay, the ensemble section says why it is
    missing; no EnsembleError reaches the page."""
    from explorer.zoo import list_models

    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    names = [m.name for m in list_models()][:65]
    assert len(names) == 65
    at = AppTest.from_file(str(PAGES / "compare.py"), default_timeout=TIMEOUT_S).run()
    at.multiselect(key="compare_models").set_value(names).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 65
    assert any("at most 64 models" in i.value for i in at.info)


def test_measured_latency_when_every_model_was_benchmarked(tmp_path: Path, monkeypatch) -> None:
    append_row(tmp_path / "cpu.csv", bench_row("lenet5", 1, 2.0))
    append_row(tmp_path / "cpu.csv", bench_row("resnet50", 1, 50.0))
    at = compare_page(monkeypatch, tmp_path)
    assert ensemble_row(at)["latency_ms_per_image"] == pytest.approx(10 * (2.0 + 50.0))
