"""The benchmark harness on CPU with tiny models: complete rows, resume, OOM/error rows, schema, roofline, CLI."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gc
import io
import weakref
from dataclasses import fields
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
import torch
from torch import nn

from analyzers.bench.schema import (
    COLUMN_NAMES,
    BenchStatus,
    MemoryFormat,
    load_results,
)
from analyzers.bench.results_file import ResultsFileError, append_row, completed_keys
from analyzers.bench.harness import BenchConfig, BenchResult, count_with_analyzer, run_sweep
from analyzers.devices import (
    DevicePeak,
    PeakSource,
    Precision,
    lookup_peak,
    measure_peak,
    peak_for,
)
from analyzers.records import Analysis, LayerRecord, RecordKind, Totals
from tests.bench_rows import bench_row
from analyzers.predict.roofline import (
    Limit,
    element_bytes,
    layer_bound,
    layer_bytes_moved,
    measured_over_bound,
    model_bound,
    ridge_point,
)
from explorer.cli import bench as cli_bench
from explorer.cli import bench_configs
from analyzers import analyze
from explorer.zoo import build_model

# A made-up device with round numbers, so that expected times can be written down by hand.
TEST_PEAK = DevicePeak("test device", 1.0, None, 2.0, 2.0, 1.0, PeakSource.MEASURED)


def zoo_factory(name: str, device: torch.device) -> nn.Module:
    return build_model(name, device=device).module


class FailingAt(nn.Module):
    """A 3→5 3×3 convolution (the seeds' 6×6×3 example) that raises a chosen exception at chosen batch sizes."""

    def __init__(self, failures: dict[int, Callable[[], BaseException]]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, kernel_size=3, bias=False)
        self.failures = failures

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] in self.failures:
            raise self.failures[x.shape[0]]()  # a fresh exception, as a real failure would be
        return self.conv(x)


def conv_record(batch: int, name: str = "0") -> LayerRecord:
    """The seeds' normal convolution, 6×6×3 → 4×4×5 with five 3×3×3 filters, in fp32, counted by hand:
    2,160 MACs per image, 135 weights (540 bytes), 108 input and 80 output elements per image."""
    return LayerRecord(
        name=name, type="Conv2d", kind=RecordKind.MODULE, depth=1, parent="", children=(), calls=1,
        input_shapes=((batch, 3, 6, 6),), output_shapes=((batch, 5, 4, 4),),
        params=135, trainable_params=135, param_bytes=540, macs=2160 * batch, elementwise_ops=0,
        activation_elements=80 * batch, activation_bytes=320 * batch, receptive_field=None, weight_depth=1,
    )  # fmt: skip


def relu_record(batch: int) -> LayerRecord:
    """An in-place ReLU on the conv's output: reads 80 elements per image, allocates nothing."""
    return LayerRecord(
        name="1", type="ReLU", kind=RecordKind.MODULE, depth=1, parent="", children=(), calls=1,
        input_shapes=((batch, 5, 4, 4),), output_shapes=((batch, 5, 4, 4),),
        params=0, trainable_params=0, param_bytes=0, macs=0, elementwise_ops=80 * batch,
        activation_elements=0, activation_bytes=0, receptive_field=None, weight_depth=1,
    )  # fmt: skip


def container_record(children: tuple[LayerRecord, ...]) -> LayerRecord:
    """The model itself: a Sequential over `children`, its numbers their sums."""
    first, last = children[0], children[-1]
    return LayerRecord(
        name="", type="Sequential", kind=RecordKind.CONTAINER, depth=0, parent=None,
        children=tuple(c.name for c in children), calls=1,
        input_shapes=first.input_shapes, output_shapes=last.output_shapes,
        params=sum(c.params for c in children), trainable_params=sum(c.trainable_params for c in children),
        param_bytes=sum(c.param_bytes for c in children), macs=sum(c.macs for c in children),
        elementwise_ops=sum(c.elementwise_ops for c in children),
        activation_elements=sum(c.activation_elements for c in children),
        activation_bytes=sum(c.activation_bytes for c in children), receptive_field=None, weight_depth=1,
    )  # fmt: skip


def hand_analysis(batch: int, model_name: str = "conv_6x6x3_normal") -> Analysis:
    conv = conv_record(batch)
    root = container_record((conv,))
    totals = Totals(
        params=135, trainable_params=135, param_bytes=540, macs=conv.macs, elementwise_ops=0,
        activation_elements=conv.activation_elements, activation_bytes=conv.activation_bytes,
        uncounted_ops=0, layers=1, weight_depth=1,
    )  # fmt: skip
    return Analysis(model_name, (3, 6, 6), batch, torch.float32, (root, conv), totals)


def hand_counter(meta_model: nn.Module, config: BenchConfig) -> Analysis:
    assert next(meta_model.parameters()).is_meta  # counting never allocates real weights
    return hand_analysis(config.batch, config.model)


def config(model: str = "conv_6x6x3_normal", batch: int = 1, **options) -> BenchConfig:
    options = {"iters": 3, "warmup": 1, **options}
    return BenchConfig(model=model, batch=batch, input_size=(3, 6, 6), **options)


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


# --- rows -----------------------------------------------------------------------------------------------------


def test_result_fields_are_the_csv_columns_in_order():
    assert tuple(f.name for f in fields(BenchResult)) == COLUMN_NAMES


def test_sweep_rows_are_complete_and_consistent(tmp_path):
    csv_path = tmp_path / "rows.csv"
    configs = [config(batch=1), config(batch=4), config(batch=2, memory_format="channels_last", dtype="bf16")]
    results = run_sweep(
        configs, zoo_factory, csv_path, counter=hand_counter, device_peak=lambda d: TEST_PEAK, progress=False
    )
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    for r in results:
        assert 0 < r.latency_ms_min <= r.latency_ms_p50 <= r.latency_ms_p95
        assert r.images_per_s == pytest.approx(r.batch / (r.latency_ms_p50 / 1e3))
        assert r.flops == 4320 * r.batch
        assert r.achieved_tflops == pytest.approx(r.flops / (r.latency_ms_p50 / 1e3) / 1e12)
        peak = TEST_PEAK.tflops(r.dtype)
        assert (r.peak_tflops, r.peak_source) == (peak, PeakSource.MEASURED)
        assert r.pct_of_peak == pytest.approx(100 * r.achieved_tflops / peak)
        # roofline: memory-bound at 1 GB/s: (540 + 432·b + 320·b) bytes / 1e9 B/s, in ms
        assert r.roofline_ms == pytest.approx((540 + 752 * r.batch) / 1e9 * 1e3)
        assert r.measured_over_roofline == pytest.approx(r.latency_ms_p50 / r.roofline_ms)
        assert r.peak_memory_bytes is None  # CPU: not measured (see analyzers.bench.harness)
        assert (r.iters, r.warmup, r.device) == (3, 1, "cpu")
        assert r.torch_version == torch.__version__ and r.device_name
    frame = load_results(csv_path)
    assert list(frame.columns) == list(COLUMN_NAMES)
    assert frame["batch"].tolist() == [1, 4, 2]
    assert frame["dtype"].tolist() == ["fp32", "fp32", "bf16"]
    assert frame["memory_format"].tolist() == ["nchw", "nchw", "channels_last"]
    assert frame["flops"].tolist() == [4320, 17280, 8640]
    assert frame["latency_ms_p50"].tolist() == pytest.approx([r.latency_ms_p50 for r in results], rel=1e-6)
    assert frame["compile"].tolist() == [False, False, False]


def test_each_row_is_on_disk_before_the_next_config_starts(tmp_path):
    csv_path = tmp_path / "rows.csv"
    rows_seen: list[int] = []

    def factory(name: str, device: torch.device) -> nn.Module:
        rows_seen.append(len(read_rows(csv_path)) if csv_path.exists() else 0)
        return zoo_factory(name, device)

    run_sweep([config(batch=b) for b in (1, 2, 3)], factory, csv_path, counter=None, progress=False)
    assert rows_seen == [0, 1, 2]
    assert [row["batch"] for row in read_rows(csv_path)] == ["1", "2", "3"]


def test_counter_gets_a_meta_model_and_runs_once_per_count_key(tmp_path):
    calls: list[tuple[int, bool]] = []

    def counter(meta_model: nn.Module, cfg: BenchConfig) -> Analysis:
        calls.append((cfg.batch, next(meta_model.parameters()).is_meta))
        return hand_analysis(cfg.batch)

    configs = [config(batch=1), config(batch=1, memory_format="channels_last"), config(batch=2)]
    run_sweep(configs, zoo_factory, tmp_path / "rows.csv", counter=counter, progress=False)
    assert calls == [(1, True), (2, True)]  # the layout does not change the count


def test_counting_failure_keeps_the_timing_and_warns(tmp_path):
    def broken(meta_model: nn.Module, cfg: BenchConfig) -> Analysis:
        raise RuntimeError("no formula for this op")

    with pytest.warns(UserWarning, match="counting FLOPs failed.*no formula for this op"):
        (result,) = run_sweep([config()], zoo_factory, tmp_path / "rows.csv", counter=broken, progress=False)
    assert result.status == "ok" and result.latency_ms_p50 > 0
    assert (result.flops, result.achieved_tflops, result.roofline_ms) == (None, None, None)


def test_unknown_device_peak_leaves_percent_and_roofline_blank(tmp_path):
    (result,) = run_sweep([config()], zoo_factory, tmp_path / "rows.csv", counter=hand_counter, progress=False)
    assert peak_for("cpu").source is PeakSource.UNKNOWN
    assert result.flops == 4320 and result.achieved_tflops > 0
    assert (result.peak_source, result.pct_of_peak, result.roofline_ms) == (PeakSource.UNKNOWN, None, None)


def test_with_the_real_analyzer_counts_the_seed_convolution(tmp_path):
    configs = [config(batch=2)]
    (result,) = run_sweep(configs, zoo_factory, tmp_path / "rows.csv", counter=count_with_analyzer, progress=False)
    assert result.flops == 2 * 2160 * 2  # the seeds: 2,160 multiplications per image


def test_compile_call_is_outside_warmup_and_timing(tmp_path, monkeypatch):
    forward_calls: list[int] = []

    class Counting(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            forward_calls.append(x.shape[0])
            return self.inner(x)

    compiled: list[nn.Module] = []

    def fake_compile(model: nn.Module) -> nn.Module:
        compiled.append(model)
        return Counting(model)

    monkeypatch.setattr(torch, "compile", fake_compile)
    (result,) = run_sweep(
        [config(compile=True, iters=4, warmup=2)], zoo_factory, tmp_path / "rows.csv", counter=None, progress=False
    )
    assert result.status == "ok" and result.compile is True
    assert len(compiled) == 1
    assert len(forward_calls) == 1 + 2 + 4  # compiling call, warm-up, timed


# --- resume ---------------------------------------------------------------------------------------------------


def test_rerun_skips_rows_already_present(tmp_path):
    csv_path = tmp_path / "rows.csv"
    built: list[str] = []

    def factory(name: str, device: torch.device) -> nn.Module:
        built.append(f"{name}@{torch.device(device).type}")
        return zoo_factory(name, device)

    first = [config(batch=1), config(batch=2)]
    run_sweep(first, factory, csv_path, counter=None, progress=False)
    built.clear()
    second = [*first, config(batch=3), config("conv_6x6x3_depthwise_separable", batch=1)]
    again = run_sweep(second, factory, csv_path, counter=None, progress=False)
    assert [(r.model, r.batch) for r in again] == [("conv_6x6x3_normal", 3), ("conv_6x6x3_depthwise_separable", 1)]
    assert built == ["conv_6x6x3_normal@cpu", "conv_6x6x3_depthwise_separable@cpu"]
    rows = read_rows(csv_path)
    assert [(row["model"], row["batch"]) for row in rows] == [
        ("conv_6x6x3_normal", "1"),
        ("conv_6x6x3_normal", "2"),
        ("conv_6x6x3_normal", "3"),
        ("conv_6x6x3_depthwise_separable", "1"),
    ]
    assert run_sweep(second, factory, csv_path, counter=None, progress=False) == []


def test_resume_key_tells_configs_apart(tmp_path):
    csv_path = tmp_path / "rows.csv"
    base = config()
    variants = [
        base,
        config(dtype="bf16"),
        config(memory_format=MemoryFormat.CHANNELS_LAST),
        BenchConfig("conv_6x6x3_normal", 1, (3, 8, 8), iters=3, warmup=1),
    ]
    assert len(run_sweep(variants, zoo_factory, csv_path, counter=None, progress=False)) == 4
    assert len(completed_keys(csv_path)) == 4
    # iterations and warm-up are how a row was measured, not which configuration it is
    assert run_sweep([config(iters=5, warmup=0)], zoo_factory, csv_path, counter=None, progress=False) == []


def test_interrupted_sweep_keeps_finished_rows_and_resumes(tmp_path):
    csv_path = tmp_path / "rows.csv"

    def interrupting(name: str, device: torch.device) -> nn.Module:
        if len(read_rows(csv_path) if csv_path.exists() else []) == 2:
            raise KeyboardInterrupt
        return zoo_factory(name, device)

    configs = [config(batch=b) for b in (1, 2, 3, 4)]
    with pytest.raises(KeyboardInterrupt):
        run_sweep(configs, interrupting, csv_path, counter=None, progress=False)
    assert [row["batch"] for row in read_rows(csv_path)] == ["1", "2"]
    resumed = run_sweep(configs, zoo_factory, csv_path, counter=None, progress=False)
    assert [r.batch for r in resumed] == [3, 4]


# --- failures -------------------------------------------------------------------------------------------------


def test_oom_and_errors_are_recorded_and_the_sweep_goes_on(tmp_path):
    csv_path = tmp_path / "rows.csv"
    failures = {
        2: lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
        3: lambda: RuntimeError("shape mismatch somewhere\nwith a second line of detail"),
        5: MemoryError,
    }
    built: list[weakref.ref[nn.Module]] = []

    def factory(name: str, device: torch.device) -> nn.Module:
        model = FailingAt(failures).to(device)
        built.append(weakref.ref(model))
        return model

    results = run_sweep(
        [config("failing", batch=b) for b in (1, 2, 3, 4, 5)],
        factory,
        csv_path,
        counter=hand_counter,
        device_peak=lambda d: TEST_PEAK,
        progress=False,
    )
    statuses = [r.status for r in results]
    assert statuses == [BenchStatus.OK, BenchStatus.OOM, BenchStatus.ERROR, BenchStatus.OK, BenchStatus.OOM]
    assert [r.error_message for r in results] == [None, None, "RuntimeError: shape mismatch somewhere", None, None]
    for r in results:
        if r.status is not BenchStatus.OK:
            measured = (r.latency_ms_p50, r.latency_ms_p95, r.latency_ms_min, r.images_per_s, r.achieved_tflops)
            assert measured == (None,) * 5 and r.roofline_ms is None
            assert r.flops == 4320 * r.batch  # the count does not depend on the run
    gc.collect()
    assert all(ref() is None for ref in built)  # nothing of a failed config is kept alive
    assert [row["status"] for row in read_rows(csv_path)] == ["ok", "oom", "error", "ok", "oom"]
    assert read_rows(csv_path)[2]["error_message"] == "RuntimeError: shape mismatch somewhere"
    loaded = load_results(csv_path)
    assert loaded["status"].tolist() == statuses
    assert loaded["error_message"].tolist()[2] == "RuntimeError: shape mismatch somewhere"


def test_older_files_with_the_message_in_the_status_still_load(tmp_path):
    """Before `error_message` existed a failed row said "error: <message>" in `status` (and had no such column)."""
    path = tmp_path / "old.csv"
    append_row(path, bench_row("lenet5", 1, 2.0))
    append_row(path, bench_row("lenet5", 2, 2.0, status="error", error_message="x"))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=["error_message"])
    frame.loc[1, "status"] = "error: RuntimeError: shape mismatch"
    frame.to_csv(path, index=False)
    loaded = load_results(path)
    assert loaded["status"].tolist() == ["ok", "error"]
    assert loaded["error_message"].isna().tolist() == [True, False]
    assert loaded["error_message"][1] == "RuntimeError: shape mismatch"


def test_the_shipped_results_still_load():
    (shipped,) = sorted((Path(__file__).resolve().parents[1] / "assets" / "benchmarks").glob("cpu-2core*.csv"))
    frame = load_results(shipped)
    assert len(frame) == 18 and set(frame["status"]) == {BenchStatus.OK}  # 19 lines: a header and 18 rows
    assert frame["error_message"].isna().all() and frame["estimated_memory_bytes"].isna().all()


def test_enums_read_as_their_csv_text():
    assert [str(Precision.BF16), str(MemoryFormat.CHANNELS_LAST), str(PeakSource.SPEC)] == [
        "bf16", "channels_last", "spec"]
    assert (BenchStatus.parse("oom"), BenchStatus.parse("error: MemoryError")) == (
        (BenchStatus.OOM, None), (BenchStatus.ERROR, "MemoryError"))
    with pytest.raises(ValueError):
        BenchStatus.parse("fine")


def test_config_validation():
    with pytest.raises(ValueError, match="tf32 is a CUDA tensor-core mode"):
        config(dtype="tf32")
    with pytest.raises(ValueError, match="batch must be at least 1"):
        config(batch=0)
    with pytest.raises(ValueError, match="iters"):
        config(iters=0)
    with pytest.raises(ValueError):
        config(dtype="fp64")
    with pytest.raises(ValueError, match="device must be cpu or cuda"):
        config(device="meta")
    assert config(dtype="bf16").dtype is Precision.BF16
    assert config().input_label == "3x6x6"


# --- schema ---------------------------------------------------------------------------------------------------


@pytest.fixture
def good_csv(tmp_path) -> Path:
    csv_path = tmp_path / "good.csv"
    run_sweep([config(batch=1), config(batch=2)], zoo_factory, csv_path, counter=hand_counter, progress=False)
    return csv_path


def rewritten(path: Path, edit) -> bytes:
    """The CSV at `path` with `edit(rows)` applied to its list of dict rows (column order kept)."""
    rows = read_rows(path)
    rows = edit(rows) or rows
    header = list(rows[0])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows({h: row[h] for h in header} for row in rows)
    return out.getvalue().encode()


def test_load_results_accepts_paths_buffers_and_bytes(good_csv):
    raw = good_csv.read_bytes()
    for source in (good_csv, str(good_csv), io.BytesIO(raw), raw):
        frame = load_results(source)
        assert frame["batch"].tolist() == [1, 2]
        assert str(frame["batch"].dtype) == "Int64" and str(frame["latency_ms_p50"].dtype) == "float64"
        assert frame["peak_memory_bytes"].isna().all()


def test_load_results_keeps_extra_columns(good_csv):
    def add_note(rows):
        for row in rows:
            row["note"] = "quiet machine"

    frame = load_results(rewritten(good_csv, add_note))
    assert frame["note"].tolist() == ["quiet machine", "quiet machine"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: [{k: v for k, v in r.items() if k != "latency_ms_p50"} for r in rows],
         "missing column(s): latency_ms_p50"),
        (lambda rows: rows[1].update(batch="abc"), "column 'batch', line 3: 'abc' is not an integer"),
        (lambda rows: rows[0].update(status="fine"), "column 'status', line 2: 'fine' is not one of ok, oom, error"),
        (lambda rows: rows[0].update(dtype="fp64"), "column 'dtype', line 2: 'fp64' is not one of fp32, tf32"),
        (lambda rows: rows[0].update(compile="maybe"), "column 'compile', line 2: 'maybe' is not true/false"),
        (lambda rows: rows[1].update(latency_ms_p95="fast"), "column 'latency_ms_p95', line 3: 'fast' is not a number"),
        (lambda rows: rows[0].update(latency_ms_p50=""), "column 'latency_ms_p50', line 2: is blank in a row with status ok"),
        (lambda rows: rows[0].update(model=""), "column 'model', line 2: is blank"),
        (lambda rows: rows[0].update(input_size="224x224"), "column 'input_size', line 2: '224x224' does not match"),
        (lambda rows: rows[0].update(date="yesterday"), "column 'date', line 2: 'yesterday' is not an ISO 8601 date"),
    ],
)  # fmt: skip
def test_load_results_rejects_bad_csvs_with_one_clear_line(good_csv, edit, message):
    with pytest.raises(ResultsFileError) as caught:
        load_results(rewritten(good_csv, edit))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_load_results_rejects_empty_and_unreadable_files():
    with pytest.raises(ResultsFileError, match="the CSV is empty"):
        load_results(b"")
    with pytest.raises(ResultsFileError, match="missing column"):
        load_results(b"just,some,header\n1,2,3\n")


def test_failed_rows_may_leave_measurements_blank(good_csv):
    def to_oom(rows):
        for key in ("latency_ms_p50", "latency_ms_p95", "latency_ms_min", "images_per_s"):
            rows[0][key] = ""
        rows[0]["status"] = "oom"

    assert load_results(rewritten(good_csv, to_oom))["status"].tolist() == ["oom", "ok"]


def test_appending_to_a_file_of_another_schema_is_refused(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("model,batch\nx,1\n")
    with pytest.raises(ResultsFileError, match="another results schema.*missing column"):
        run_sweep([config()], zoo_factory, other, counter=None, progress=False)
    with pytest.raises(ResultsFileError, match="row lacks column"):
        append_row(tmp_path / "new.csv", {"model": "x"})


# --- roofline -------------------------------------------------------------------------------------------------


def test_roofline_of_the_seed_convolution_by_hand():
    conv = conv_record(batch=1)
    # weights 540 B + input 1·3·6·6·4 = 432 B + output 1·5·4·4·4 = 320 B
    assert layer_bytes_moved(conv, 4) == 1292
    bound = layer_bound(conv, peak_tflops=1.0, memory_gb_per_s=1.0, bytes_per_element=4)
    assert bound.flops == 4320
    assert bound.compute_ms == pytest.approx(4320 / 1e12 * 1e3, rel=1e-12)  # 4.32e-6 ms
    assert bound.memory_ms == pytest.approx(1292 / 1e9 * 1e3, rel=1e-12)  # 1.292e-3 ms
    assert bound.bound_ms == bound.memory_ms and bound.limit is Limit.MEMORY and bound.memory_bound
    assert bound.arithmetic_intensity == pytest.approx(4320 / 1292)
    # at 1e-6 TFLOP/s (1 MFLOP/s) the same layer is compute-bound: 4320 FLOPs take 4.32 ms
    slow = layer_bound(conv, peak_tflops=1e-6, memory_gb_per_s=1.0, bytes_per_element=4)
    assert slow.bound_ms == pytest.approx(4.32, rel=1e-12) and slow.limit is Limit.COMPUTE and not slow.memory_bound


def test_model_roofline_sums_its_leaves():
    conv, relu = conv_record(batch=2), relu_record(batch=2)
    totals = Totals(135, 135, 540, conv.macs, relu.elementwise_ops, conv.activation_elements,
                    conv.activation_bytes, 0, 2, 1)  # fmt: skip
    root = container_record((conv, relu))
    analysis = Analysis("tiny", (3, 6, 6), 2, torch.float32, (root, conv, relu), totals)
    bound = model_bound(analysis, TEST_PEAK, Precision.FP32)
    assert [layer.name for layer in bound.layers] == ["0", "1"]  # leaves only: the root is not counted twice
    conv_bytes = 540 + 2 * 432 + 2 * 320  # 2,044
    relu_bytes = 2 * 320  # reads the conv's output, writes in place
    assert [layer.bytes_moved for layer in bound.layers] == [conv_bytes, relu_bytes]
    assert bound.bytes_moved == 2684 and bound.flops == 8640
    assert bound.bound_ms == pytest.approx((conv_bytes + relu_bytes) / 1e9 * 1e3, rel=1e-12)
    assert bound.arithmetic_intensity == pytest.approx(8640 / 2684)
    assert bound.ridge_point == pytest.approx(1000.0)  # 1 TFLOP/s over 1 GB/s
    with pytest.raises(ValueError, match="no tf32 peak"):
        model_bound(analysis, TEST_PEAK, Precision.TF32)


def test_reused_layer_reads_its_weights_and_input_once_per_call():
    conv = conv_record(batch=1)
    twice = dataclasses.replace(conv, calls=2, macs=4320, activation_bytes=640)
    assert layer_bytes_moved(twice, 4) == 2 * (540 + 432) + 640


def test_roofline_helpers():
    assert ridge_point(989.4, 4800) == pytest.approx(989.4e12 / 4800e9)
    assert measured_over_bound(3.0, 1.5) == 2.0
    with pytest.raises(ValueError):
        measured_over_bound(1.0, 0.0)
    assert (element_bytes(torch.float32), element_bytes(torch.bfloat16), element_bytes("fp16")) == (4, 2, 2)
    assert (element_bytes(torch.float16), element_bytes(Precision.FP32)) == (2, 4)
    with pytest.raises(ValueError, match="unknown precision"):
        element_bytes("float99")


# --- devices --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "table_name", "bf16_tflops", "gb_per_s"),
    [
        ("NVIDIA H200", "NVIDIA H200 SXM", 989.4, 4800),
        ("NVIDIA H200 NVL", "NVIDIA H200 NVL", 835.5, 4800),
        ("NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM", 989.4, 3350),
        ("NVIDIA H100 PCIe", "NVIDIA H100 PCIe", 756.5, 2000),
        ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 SXM 80GB", 312.0, 2039),
        ("NVIDIA A100 80GB PCIe", "NVIDIA A100 PCIe 80GB", 312.0, 1935),
        ("NVIDIA A100-PCIE-40GB", "NVIDIA A100 40GB", 312.0, 1555),
        ("NVIDIA L4", "NVIDIA L4", 121.0, 300),
        ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090", 165.2, 1008),
        ("NVIDIA GeForce RTX 5090", "NVIDIA GeForce RTX 5090", 209.5, 1792),
        ("NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 3090", 71.0, 936),
        ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "NVIDIA RTX PRO 6000 Blackwell", 503.8, 1792),
        ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "NVIDIA RTX PRO 6000 Blackwell", 503.8, 1792),
        ("NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition", "NVIDIA RTX PRO 6000 Blackwell Max-Q", 438.9,
         1792),
    ],
)
def test_spec_table_lookup(reported, table_name, bf16_tflops, gb_per_s):
    peak = lookup_peak(reported)
    assert (peak.name, peak.source) == (table_name, PeakSource.SPEC)
    assert (peak.tflops("bf16"), peak.memory_gb_per_s) == (bf16_tflops, gb_per_s)
    assert peak.tflops(Precision.FP32) < peak.tflops(Precision.BF16)


@pytest.mark.parametrize(
    "reported", ["NVIDIA GH200 480GB", "NVIDIA L40S", "NVIDIA GeForce RTX 4090 Laptop GPU", "NVIDIA GeForce RTX 4090 D",
                 "Tesla V100-SXM2-16GB", "NVIDIA RTX 6000 Ada Generation", ""]
)
def test_devices_not_in_the_table_are_unknown_not_guessed(reported):
    peak = lookup_peak(reported)
    assert peak.source is PeakSource.UNKNOWN and peak.name == reported
    assert all(peak.tflops(p) is None for p in Precision) and peak.memory_gb_per_s is None


def test_measured_probe_on_cpu():
    peak = measure_peak("cpu", precisions=("fp32", "tf32"), matmul_size=128, copy_bytes=1 << 20, repeats=2)
    assert peak.source is PeakSource.MEASURED and peak.name == peak_for("cpu").name
    assert peak.fp32_tflops > 0 and peak.memory_gb_per_s > 0
    assert (peak.tf32_tflops, peak.bf16_tflops, peak.fp16_tflops) == (None, None, None)  # tf32: CUDA only


# --- command line ---------------------------------------------------------------------------------------------


def bench_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="explorer")
    cli_bench.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["bench", *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["conv_6x6x3_normal", "--batch", "1,x"], "--batch '1,x': expected positive integers"),
        (["conv_6x6x3_normal", "--batch", "0"], "--batch '0': expected positive integers"),
        (["conv_6x6x3_nromal"], "unknown model 'conv_6x6x3_nromal'; did you mean conv_6x6x3_normal"),
        (["conv_6x6x3_normal", "--dtype", "fp64"], "--dtype 'fp64': expected one of fp32 | tf32 | bf16 | fp16"),
        (["conv_6x6x3_normal", "--dtype", "tf32", "--device", "cpu"], "--dtype tf32 is a CUDA tensor-core mode"),
        (["conv_6x6x3_normal", "--device", "tpu"], "--device 'tpu': expected cuda or cpu"),
        (["conv_6x6x3_normal", "--input", "3x0x6"], "--input '3x0x6': expected CxHxW"),
        (["conv_6x6x3_normal", "--input", "224"], "--input '224': expected CxHxW"),
        (["conv_6x6x3_normal", "--iters", "0"], "--iters '0': expected an integer from 1 to 9,223,372,036,854,775,807"),
        (["conv_6x6x3_normal", "--warmup", "-1"], "--warmup '-1': expected an integer from 0 to 9,223,372,036,854,775,807"),
    ],
)
def test_cli_bad_input_is_one_line_and_status_2(argv, message, capsys, tmp_path):
    status = cli_bench.run(bench_args(*argv, "--csv", str(tmp_path / "rows.csv")))
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "rows.csv").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_cli_cuda_without_a_gpu(capsys):
    assert cli_bench.run(bench_args("conv_6x6x3_normal", "--device", "cuda")) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_cli_runs_a_sweep_and_resumes(capsys, tmp_path):
    csv_path = tmp_path / "rows.csv"
    argv = ["conv_6x6x3_normal", "lenet5", "--batch", "1,2", "--iters", "2", "--warmup", "0", "--device", "cpu"]
    assert cli_bench.run(bench_args(*argv, "--csv", str(csv_path))) == 0
    out = capsys.readouterr().out
    assert "4 row(s) appended" in out
    frame = load_results(csv_path)
    assert frame["model"].tolist() == ["conv_6x6x3_normal"] * 2 + ["lenet5"] * 2
    assert frame["input_size"].tolist() == ["3x6x6"] * 2 + ["x".join(map(str, build_model("lenet5").input_size))] * 2
    assert frame["status"].tolist() == ["ok"] * 4
    assert frame["flops"].tolist()[:2] == [4320, 8640]
    assert cli_bench.run(bench_args(*argv, "--channels-last", "--batch", "2", "--csv", str(csv_path))) == 0
    assert "2 row(s) appended" in capsys.readouterr().out
    assert cli_bench.run(bench_args(*argv, "--csv", str(csv_path))) == 0
    assert "0 row(s) appended to" in capsys.readouterr().out and len(load_results(csv_path)) == 6


def test_cli_measured_peak_fills_percent_of_peak_and_roofline_on_cpu(capsys, tmp_path, monkeypatch):
    probed = []

    def fake_probe(device, precisions, matmul_size, copy_bytes, repeats, seconds_per_call):
        probed.append((torch.device(device).type, tuple(precisions), matmul_size, seconds_per_call))
        return DevicePeak(name="probe", fp32_tflops=0.5, tf32_tflops=None, bf16_tflops=None, fp16_tflops=None,
                          memory_gb_per_s=10.0, source=PeakSource.MEASURED)

    monkeypatch.setattr(bench_configs, "measure_peak", fake_probe)
    csv_path = tmp_path / "rows.csv"
    argv = ["conv_6x6x3_normal", "--iters", "2", "--warmup", "0", "--device", "cpu", "--peak", "measured"]
    assert cli_bench.run(bench_args(*argv, "--csv", str(csv_path))) == 0
    assert probed == [("cpu", (Precision.FP32,), 2048, 0.25)]
    row = load_results(csv_path).iloc[0]
    assert row["peak_source"] == "measured" and row["peak_tflops"] == 0.5
    assert row["memory_gb_per_s"] == 10.0  # stored beside the peak: a reader needs no bisection to get it back
    assert row["pct_of_peak"] == pytest.approx(100 * row["achieved_tflops"] / 0.5)
    assert row["roofline_ms"] > 0


def test_rows_carry_the_analyzers_memory_estimate(capsys, tmp_path):
    csv_path = tmp_path / "rows.csv"
    argv = ["conv_6x6x3_normal", "--batch", "2", "--iters", "2", "--warmup", "0", "--device", "cpu"]
    assert cli_bench.run(bench_args(*argv, "--csv", str(csv_path))) == 0
    row = load_results(csv_path).iloc[0]
    weights = 3 * 3 * 3 * 5 * 4  # 135 fp32 weights, no bias
    activations = 2 * 4 * 4 * 5 * 4  # batch 2 of 4×4×5 fp32 outputs
    assert row["estimated_memory_bytes"] == weights + activations == 1_180
    assert pd.isna(row["memory_over_estimate"])  # no allocator high-water mark on a CPU


def test_results_from_before_the_memory_estimate_still_load(tmp_path):
    path = tmp_path / "old.csv"
    append_row(path, bench_row("lenet5", 1, 2.0))
    frame = pd.read_csv(path).drop(columns=["estimated_memory_bytes", "memory_over_estimate"])
    frame.to_csv(path, index=False)
    loaded = load_results(path)
    assert loaded["estimated_memory_bytes"].isna().all() and list(loaded["latency_ms_p50"]) == [2.0]


def test_an_fp32_analysis_read_in_bf16_storage_moves_half_the_bytes():
    model = build_model("conv_6x6x3_normal")
    fp32 = analyze(model.module, model.input_size)
    bf16 = analyze(model.module, model.input_size, dtype=torch.bfloat16)
    peak = lookup_peak("NVIDIA H200")
    rescaled = model_bound(fp32, peak, "bf16", in_precision_storage=True)
    direct = model_bound(bf16, peak, "bf16")
    assert [b.bytes_moved for b in rescaled.layers] == [b.bytes_moved for b in direct.layers] == [
        (135 + 108 + 80) * 2]
    assert rescaled.bound_ms == pytest.approx(direct.bound_ms)
