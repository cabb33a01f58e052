"""`python -m explorer predict` and `summary --predict`: the per-layer prediction, its labels and interval, the
files it writes, calibration from a results CSV, and every user error as one line with exit code 2."""

from __future__ import annotations

import csv
import json

import pytest

from analyzers.predict.parameters import load_intervals
from analyzers.reports.prediction import ROW_FIELDS
from explorer.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_prints_layers_total_interval_and_labels(capsys):
    code, out, err = run(capsys, "predict", "resnet18", "--device", "rtx5090", "--batch", "64")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("PREDICTED (not measured): resnet18, one forward of batch 64 on the NVIDIA GeForce "
                               "RTX 5090 (rtx5090), bf16")
    assert lines[1].split()[:4] == ["layer", "type", "MACs", "predicted"]
    assert any(line.startswith("conv1 ") and "Conv2d" in line for line in lines)
    total = next(line for line in lines if line.startswith("total (predicted)"))
    assert "per batch of 64" in total and "80 % of held-out measurements fell within" in total
    interval = load_intervals()["rtx5090"]
    assert f"median |error| {interval.median_abs_error:.1%}" in out


def test_layer_times_add_up_to_the_total_and_shares_to_one(capsys):
    code, out, _ = run(capsys, "predict", "mobilenet_v2", "--device", "h100-sxm", "--batch", "32", "--json")
    document = json.loads(out)
    layers, summary = document["layers"], document["summary"]
    assert sum(r["predicted_ms"] for r in layers) == pytest.approx(summary["predicted_ms"], rel=1e-9)
    assert sum(r["predicted_share"] for r in layers) == pytest.approx(1.0, rel=1e-9)
    assert summary["predicted_samples_per_s"] == pytest.approx(32 / (summary["predicted_ms"] / 1e3), rel=1e-9)
    assert summary["predicted_ms_low"] < summary["predicted_ms"] < summary["predicted_ms_high"]
    assert {r["predicted_bound"] for r in layers} <= {"compute", "memory", "overhead"}
    # an unmeasured GPU: the parameters of all measured GPUs, the unseen-device interval
    assert summary["interval_basis"] == load_intervals()["unseen-gpu"].basis
    assert all(key.startswith(("predicted_", "held_out_")) for key in summary if "ms" in key)


def test_csv_file_and_train_and_cpu(capsys, tmp_path):
    target = tmp_path / "layers.csv"
    code, _, err = run(capsys, "predict", "lenet5", "--device", "cpu", "--csv", str(target))
    assert code == 0, err
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == ROW_FIELDS and rows[0]["layer"] == "conv1"
    code, out, err = run(capsys, "predict", "lenet5", "--device", "rtx3090", "--batch", "8", "--train")
    assert code == 0, err
    assert "one training step of batch 8" in out and "(optimizer step)" in out and "(backward)" in out


def test_summary_adds_the_predicted_totals(capsys):
    code, out, err = run(capsys, "summary", "resnet18", "--predict", "rtx4090", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["predicted_device"] == "rtx4090" and summary["predicted_precision"] == "bf16"
    assert summary["predicted_ms_low"] < summary["predicted_ms"] < summary["predicted_ms_high"]
    code, out, _ = run(capsys, "summary", "resnet18", "--predict", "rtx4090")
    assert "PREDICTED" in out and "ms per batch on the rtx4090" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["predict", "resnet18", "--device", "rtx9090"], "--device 'rtx9090': not in the device table; choose one of"),
    (["predict", "resnet18", "--device", "t4", "--dtype", "bf16"], "the t4's datasheet has no peak for it"),
    (["predict", "resnet18", "--device", "cpu", "--dtype", "tf32"], "tf32 is a CUDA tensor-core mode"),
    (["predict", "--device", "rtx5090"], "predict needs a model name"),
    (["predict", "resnet18", "--calibrate", "missing.csv"], "leave out the model name"),
    (["predict", "--calibrate", "no_such_file.csv"], "cannot read no_such_file.csv: No such file or directory"),
    (["summary", "resnet18", "--predict", "gtx480"], "not in the device table"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1



def write_rows(path, rows: list[dict]) -> None:
    """A results CSV holding these bench rows, as `bench --csv` writes them."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

def test_calibrate_refits_from_results_rows_and_predicts_with_them(capsys, tmp_path):
    # Five zoo models' one-thread CPU rows from the shipped measurements, as `explorer bench` would write them.
    source = "assets/benchmarks/cpu-1thread-time-model.csv"
    with open(source, newline="") as handle:
        reader = csv.DictReader(handle)
        keep = {"lenet5", "resnet56_cifar", "nin", "alexnet", "mobilenet_v1"}
        rows = [r for r in reader if r["model"] in keep]
        fields = reader.fieldnames
    results = tmp_path / "mine.csv"
    with results.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    out_file = tmp_path / "cal.json"
    code, out, err = run(capsys, "predict", "--calibrate", str(results), "--device", "cpu", "--out", str(out_file))
    assert code == 0, err
    assert "calibrated the cpu on 10 rows of 5 models" in out and "leave-one-model-out" in out
    document = json.loads(out_file.read_text())
    assert document["device"] == "cpu" and document["interval"]["samples"] == 10
    code, out, err = run(capsys, "predict", "lenet5", "--device", "cpu", "--parameters", str(out_file))
    assert code == 0, err
    assert "leave-one-model-out on your 10 rows of 5 models" in out
    code, _, err = run(capsys, "predict", "lenet5", "--device", "rtx5090", "--parameters", str(out_file))
    assert code == 2 and "was calibrated for the cpu, not the rtx5090" in err
    code, _, err = run(capsys, "predict", "--calibrate", str(results), "--device", "rtx5090")
    assert code == 2 and "no ok rows measured on the rtx5090" in err


def test_a_gpu_without_bf16_defaults_to_fp16(capsys):
    # the T4 (Turing) has fp16 tensor cores and no bf16: mixed precision there is fp16
    code, out, err = run(capsys, "predict", "resnet18", "--device", "t4")
    assert code == 0, err
    assert out.splitlines()[0].endswith("on the NVIDIA T4 (t4), fp16")


def test_predicts_a_transformers_config_with_the_batch_in_its_token_ids(capsys, tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, '
                      '"intermediate_size": 64, "vocab_size": 100}')
    code, out, err = run(capsys, "predict", f"hf:{config}", "--batch", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["summary"]["batch"] == 3


def test_calibration_refuses_a_row_faster_than_the_peak_and_names_its_line(capsys, tmp_path):
    # resnet18 is 1.82 GMACs (torchvision) = 3.6 GFLOPs a 224×224 image: 1 µs would be 3.6 PFLOP/s on a CPU
    from tests.bench_rows import bench_row

    rows = [bench_row("lenet5", 1, 0.5) | {"input_size": "1x32x32"},
            bench_row("resnet18", 1, 0.001) | {"input_size": "3x224x224"}]
    results = tmp_path / "results.csv"
    write_rows(results, rows)
    code, out, err = run(capsys, "predict", "--calibrate", str(results), "--device", "cpu")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {results}, line 3 (resnet18 at 3x224x224): 0.001 ms for batch 1 is faster than "
                          "the cpu's peak allows (")
    assert err.rstrip().endswith("this row was not measured on the cpu")


def test_calibration_names_the_row_a_model_cannot_take(capsys, tmp_path):
    from tests.bench_rows import bench_row

    results = tmp_path / "results.csv"
    row = bench_row("lenet5", 1, 0.5)  # at 3x32x32: lenet5's first conv takes one channel
    results.write_text(",".join(row) + "\n" + ",".join("" if v is None else str(v) for v in row.values()) + "\n")
    code, _, err = run(capsys, "predict", "--calibrate", str(results), "--device", "cpu")
    assert code == 2
    assert err == (f"error: {results}, line 2 (lenet5 at 3x32x32): conv1: expected an input with 1 channels (weight "
                   "6×1×5×5, groups 1), got 3\n")


def test_calibration_never_builds_a_user_factory_a_results_file_names(capsys, tmp_path, monkeypatch):
    # a results file may come from anyone: a `package.module:factory` row must not import and run that code
    from tests.bench_rows import bench_row

    package = tmp_path / "evil_pkg"
    package.mkdir()
    marker = tmp_path / "ran"
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef net():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rows = [bench_row("evil_pkg:net", 1, 0.5) | {"input_size": "1x32x32"}]
    results = tmp_path / "results.csv"
    write_rows(results, rows)
    code, out, err = run(capsys, "predict", "--calibrate", str(results), "--device", "cpu")
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert "a user factory (evil_pkg:net) is not built from a results file" in err
    assert not marker.exists()
