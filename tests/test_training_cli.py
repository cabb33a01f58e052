"""`summary/report NAME --train`: totals, CSV/JSON columns with units, and one-line errors with exit status 2."""

from __future__ import annotations

import csv
import json

from explorer.cli import main


def test_summary_train_json_has_the_step_totals(capsys):
    """resnet18 at 3×64×64, batch 2, Adam: 11,689,512 parameters in 62 tensors, Adam's two fp32 moments 8 B each
    and a 4-byte step per tensor."""
    assert main(["summary", "resnet18", "--input", "3x64x64", "--batch", "2", "--train", "--optimizer", "adam",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trainable_params"] == summary["params"] == 11_689_512
    assert summary["optimizer_state_bytes"] == 8 * 11_689_512 + 4 * 62
    assert summary["backward_macs"] == summary["backward_input_macs"] + summary["backward_weight_macs"]
    # every conv/linear computes its weight gradient at its forward count
    assert summary["backward_weight_macs"] == summary["forward_macs"]
    assert summary["peak_bytes"] > summary["parameter_bytes"] + summary["optimizer_state_bytes"]


def test_report_train_csv_with_freezing(tmp_path, capsys):
    path = tmp_path / "train.csv"
    assert main(["report", "resnet18", "--input", "3x64x64", "--train", "--freeze", "layer3", "--csv",
                 str(path)]) == 0
    rows = list(csv.DictReader(path.open()))
    by_name = {row["name"]: row for row in rows}
    assert by_name["conv1"]["backward_weight_macs"] == "0"
    assert by_name["layer4.0.conv1"]["backward_input_macs"] == "0"  # its input comes from the frozen trunk
    assert by_name["layer4.0.conv1"]["backward_weight_macs"] == by_name["layer4.0.conv1"]["forward_macs"]
    assert sum(int(r["trainable_params"]) for r in rows) == 8_393_728 + 513_000


def test_training_flags_errors_are_one_line(capsys):
    assert main(["summary", "resnet18", "--freeze", "layer3"]) == 2
    assert capsys.readouterr().err.strip() == "error: --freeze needs --train"
    assert main(["summary", "resnet18", "--train", "--freeze", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no module named 'nope'") and err.count("\n") == 1
    assert main(["summary", "resnet18", "--train", "--freeze-stages", "42"]) == 2
    assert "--freeze-stages must be 0 to" in capsys.readouterr().err
    assert main(["summary", "resnet18", "--train", "--optimizer", "lbfgs"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_summary_with_freezing_reports_the_unfrozen_step_and_cached_features(capsys):
    """resnet50 with a 3-class head, every stage frozen (batch 2): trainable = fc, 2048·3 + 3 = 6,147; its weight
    gradient is the only backward product, 2·2048·3 = 12,288 MACs, and the step after the cut costs that plus the
    head's forward, 24,576. layer4's output, 2048×7×7 fp32 = 401,408 B per image, for ImageNet's 1,281,167."""
    assert main(["summary", "resnet50", "--set", "num_classes=3", "--batch", "2", "--train", "--freeze-stages", "4",
                 "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["frozen_through"] == "layer4"
    assert (s["trainable_params"], s["unfrozen_trainable_params"]) == (6_147, s["params"])
    assert s["backward_macs"] == 12_288 < s["unfrozen_backward_macs"]
    assert s["step_macs_after_cut"] == 24_576
    assert s["cached_feature_bytes_per_image"] == 401_408
    assert s["cached_feature_bytes"] == 401_408 * 1_281_167
    assert s["peak_bytes"] < s["unfrozen_peak_bytes"]


def test_bench_train_times_a_real_step_and_writes_the_estimate_beside_it(tmp_path, capsys):
    """lenet5 on the CPU: the measured peak comes from the profiler's allocation events, the estimate is the meta
    analysis's own peak for the same batch on the CPU (Adam's for-loop). The allocator's peak is the estimate plus
    oneDNN's convolution scratch, which no dispatch-level count sees."""
    from analyzers.training.analyze import analyze_training
    from explorer.zoo import build_model

    results = tmp_path / "bench.csv"
    assert main(["bench", "lenet5", "--train", "--device", "cpu", "--batch", "4", "--iters", "1", "--warmup", "1",
                 "--optimizer", "adam", "--csv", str(results)]) == 0
    rows = list(csv.DictReader((tmp_path / "bench_train.csv").open()))
    assert len(rows) == 1 and rows[0]["model"] == "lenet5"
    expected = analyze_training(build_model("lenet5").module, (1, 32, 32), 4, optimizer="adam", device="cpu").memory
    assert int(rows[0]["measured_peak_bytes"]) >= expected.peak_bytes
    assert int(rows[0]["estimated_peak_bytes"]) == expected.peak_bytes
    assert int(rows[0]["estimated_saved_bytes"]) == expected.saved_activation_bytes
    assert float(rows[0]["step_ms_p50"]) > 0
    assert main(["bench", "lenet5", "--train", "--dtype", "fp16", "--device", "cpu", "--csv", str(results)]) == 2
    assert capsys.readouterr().err.strip().endswith("bench --train runs fp32 in NCHW without --compile")
