"""The side-by-side peer benchmark's plumbing (bench/peers.py): ratios, medians, conventions, failures, files.

The fast tests feed hand-made measurements to the table and run the counters in-process on a tiny module; the slow
one runs the script end to end (one process per pair) on MobileNet-v2 with two peers and one repeat.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.bench_scripts import ROOT, load

peers = load("peers")

MODELS = [peers.MODELS["resnet50"], peers.MODELS["vgg16"]]
TOOLS = [peers.TOOLS["ours"], peers.TOOLS["flopcounter_meta"], peers.TOOLS["thop"]]


def _ok(model: str, tool: str, warm_s: float, reported: float) -> peers.Measurement:
    convention = peers.TOOLS[tool].convention
    return peers.Measurement(model, tool, convention.text, reported=reported,
                             macs=round(reported / convention.per_mac), cold_s=warm_s, warm_s=warm_s, peak_mb=1.0,
                             same_count_every_call=True)


def _results() -> dict[tuple[str, str], peers.Measurement]:
    """resnet50: ours 0.010 s, FlopCounterMode 0.030 s (3.00×), thop 0.025 s (2.50×);
    vgg16: ours 0.020 s, FlopCounterMode 0.050 s (2.50×), thop failed."""
    return {
        ("resnet50", "ours"): _ok("resnet50", "ours", 0.010, 4e9),
        ("resnet50", "flopcounter_meta"): _ok("resnet50", "flopcounter_meta", 0.030, 8e9),
        ("resnet50", "thop"): _ok("resnet50", "thop", 0.025, 4.5e9),
        ("vgg16", "ours"): _ok("vgg16", "ours", 0.020, 15.5e9),
        ("vgg16", "flopcounter_meta"): _ok("vgg16", "flopcounter_meta", 0.050, 31e9),
        ("vgg16", "thop"): peers.Measurement("vgg16", "thop", "MACs", error="RuntimeError: boom"),
    }


def test_table_ratios_fastest_peer_and_medians() -> None:
    lines = peers.markdown_tables(_results(), MODELS, TOOLS).splitlines()
    # resnet50: 0.030/0.010 = 3.00×, 0.025/0.010 = 2.50× (thop fastest); vgg16: 0.050/0.020 = 2.50×, thop failed.
    assert "| resnet50 | 0.010 | 3.00× | 2.50× | thop | 2.50× |" in lines
    assert "| vgg16 | 0.020 | 2.50× | failed | FlopCounterMode (meta) | 2.50× |" in lines
    # Medians over the models where the tool ran: (3.00 + 2.50) / 2 = 2.75; thop only resnet50's 2.50; fastest 2.50.
    assert "| **median** | | 2.75× | 2.50× | | 2.50× |" in lines


def test_counts_normalised_to_macs_with_each_convention_named() -> None:
    text = peers.markdown_tables(_results(), MODELS, TOOLS)
    # FlopCounterMode's 8e9 FLOPs are 4e9 MACs; vgg16's 31e9 FLOPs are 15.5e9 MACs.
    assert "| resnet50 | 4.000 | 4.000 | 4.500 |" in text
    assert "| vgg16 | 15.500 | 15.500 | failed |" in text
    assert "- FlopCounterMode (meta): FLOPs = 2 × MACs, ÷ 2" in text
    assert "- thop: MACs" in text
    assert "- vgg16, thop: RuntimeError: boom" in text


def test_every_tool_names_a_counter_of_the_module_and_a_convention() -> None:
    for tool in peers.TOOLS.values():
        assert callable(getattr(peers, tool.counter_name)), tool.key
        assert tool.device in ("meta", "cpu")
    assert peers.Convention.FLOPS.per_mac == 2 and peers.Convention.FLOPS_AS_MACS.per_mac == 1
    assert {m.key: m.resolution for m in peers.MODELS.values() if m.resolution != 224} == {"inception_v3": 299}
    assert len(peers.MODELS) == 12 and len(peers.TOOLS) == 10


class _Boom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom in forward")


class _TinyConv(nn.Sequential):
    """3→4 channels, 3×3, on 3×8×8: out 4×6×6 = 144 positions × 27 weights = 3,888 MACs."""

    def __init__(self) -> None:
        super().__init__(nn.Conv2d(3, 4, 3, bias=False))


@pytest.mark.parametrize("tool_key, expected_error", [
    ("ptflops_pytorch", "<class 'RuntimeError'>: boom in forward"),  # ptflops prints it and returns None
    ("thop", "RuntimeError: boom in forward"),
])
def test_a_failing_peer_is_a_one_line_result(monkeypatch: pytest.MonkeyPatch, tool_key: str,
                                            expected_error: str) -> None:
    monkeypatch.setattr(peers, "build", lambda model, device: _Boom())
    result = peers.measure_here(peers.MODELS["resnet50"], peers.TOOLS[tool_key], repeats=1, threads=None)
    assert not result.ok and result.macs is None
    assert expected_error in result.error and "\n" not in result.error


def test_counters_agree_on_a_hand_counted_conv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers, "build", lambda model, device: _TinyConv().to(device))
    small = peers.Model("tiny", "tiny", "torchvision", "unused", 8)
    for key in ("ours", "flopcounter_meta", "flopcounter_cpu", "ptflops_aten", "torchinfo"):
        result = peers.measure_here(small, peers.TOOLS[key], repeats=2, threads=1)
        assert result.ok, result.error
        assert result.macs == 3_888, key  # FlopCounterMode reports 7,776 FLOPs, halved
        assert result.same_count_every_call and result.warm_s > 0


def test_a_child_past_its_timeout_is_recorded_not_raised() -> None:
    result = peers.measure(peers.MODELS["resnet50"], peers.TOOLS["ours"], repeats=1, threads=None, timeout_s=0.01)
    assert result.error == "timed out after 0.01 s"


@pytest.mark.parametrize("argv, message", [
    (["--models", "resnet50,nope"], "error: unknown model 'nope'; choose from resnet50, vgg16"),
    (["--tools", ""], "error: no tool given; choose from ours, fvcore"),
    (["--repeats", "0"], "error: --repeats must be at least 1, got 0"),
    (["--threads", "0"], "error: --threads must be at least 1, got 0"),
    (["--rounds", "0"], "error: --rounds must be at least 1, got 0"),
    (["--out", "figures.txt"], "error: --out must end in .json or .csv, got 'figures.txt'"),
])
def test_bad_options_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                             message: str) -> None:
    assert peers.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_rounds_keep_each_pairs_fastest_process_and_a_success_over_a_failure() -> None:
    def run(cpu_s: float) -> peers.Measurement:
        measured = _ok("vgg16", "ours", cpu_s, 15.5e9)
        measured.warm_cpu_s = cpu_s
        return measured

    slow, fast = run(0.004), run(0.002)
    failed = peers.Measurement("vgg16", "ours", "MACs", error="RuntimeError: boom")
    assert peers.faster(None, slow) is slow
    assert peers.faster(slow, fast) is fast and peers.faster(fast, slow) is fast
    assert peers.faster(failed, slow) is slow and peers.faster(slow, failed) is slow


def test_raw_figures_as_csv_and_json(tmp_path: Path) -> None:
    results = list(_results().values())
    env = {"cpus": 2}
    peers.write_out(tmp_path / "raw.csv", results, env, repeats=5)
    rows = list(csv.DictReader((tmp_path / "raw.csv").open()))
    assert [(r["model"], r["tool"], r["macs"], r["error"]) for r in rows][1:3] == [
        ("resnet50", "flopcounter_meta", "4000000000", ""), ("resnet50", "thop", "4500000000", "")]
    assert rows[5]["error"] == "RuntimeError: boom"
    peers.write_out(tmp_path / "raw.json", results, env, repeats=5)
    data = json.loads((tmp_path / "raw.json").read_text())
    assert data["repeats"] == 5 and data["environment"] == env
    assert data["results"][1]["reported"] == 8e9 and data["results"][1]["macs"] == 4_000_000_000


@pytest.mark.slow
def test_end_to_end_mobilenet_v2_ours_and_two_peers(tmp_path: Path) -> None:
    """One process per pair. torchvision publishes MobileNet-v2's conv+linear count as 0.301 G (its `_ops`, in
    GFLOPS that are MACs, 3 dp); ours and FlopCounterMode (meta) ÷ 2 both give it, ptflops (aten) counts the same
    five op kinds on the CPU."""
    import torchvision
    published = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["_ops"]
    out = tmp_path / "peers.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "peers.py"), "--models", "mobilenet_v2", "--tools",
                           "ours,flopcounter_meta,ptflops_aten", "--repeats", "1", "--threads", "1", "--out",
                           str(out)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    results = {r["tool"]: r for r in json.loads(out.read_text())["results"]}
    assert all(r["error"] is None for r in results.values()), results
    assert {round(r["macs"] / 1e9, 3) for r in results.values()} == {published}
    assert results["ours"]["macs"] == results["flopcounter_meta"]["reported"] // 2
    assert "| mobilenet_v2 |" in done.stdout and "| **median** |" in done.stdout


def test_tables_from_saved_files_merge_later_over_earlier(tmp_path: Path) -> None:
    results = _results()
    env = {"started_utc": "s", "finished_utc": "f", "cpus": 2, "load_average_1_5_15_min_before": [9.64, 9.5, 7.0],
           "load_average_1_5_15_min_after": [12.6, 11.6, 8.8], "torch_threads": 1}
    peers.write_out(tmp_path / "first.json", list(results.values()), env, repeats=5)
    # A rerun of vgg16/thop alone: 0.040 s against ours' 0.020 s is 2.00×, and thop is then vgg16's fastest peer.
    peers.write_out(tmp_path / "rerun.json", [_ok("vgg16", "thop", 0.040, 16e9)], env, repeats=5)
    text = peers.saved_tables(*peers.load_results([tmp_path / "first.json", tmp_path / "rerun.json"]))
    assert "| vgg16 | 0.020 | 2.50× | 2.00× | thop | 2.00× |" in text.splitlines()
    # thop's median over resnet50's 2.50× and vgg16's 2.00× is 2.25×.
    assert "| **median** | | 2.75× | 2.25× | | 2.25× |" in text.splitlines()
    assert "load average before 9.6, 9.5, 7.0, after 12.6, 11.6, 8.8 (1, 5, 15 min); torch threads: 1" in text


def test_tables_from_a_file_that_is_not_ours_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "other.json").write_text('{"rows": []}')
    assert peers.main(["--tables-from", str(tmp_path / "other.json")]) == 2
    assert capsys.readouterr().err == "error: --tables-from needs this script's --out .json files: 'environment'\n"


def test_cpu_time_table_beside_the_wall_clock_one() -> None:
    results = _results()
    # CPU seconds per call: resnet50 ours 0.008, FlopCounterMode 0.032 (4.00×), thop 0.012 (1.50×, fastest);
    # vgg16 ours 0.016, FlopCounterMode 0.040 (2.50×), thop failed. Medians: (4.00 + 2.50) / 2 = 3.25, 1.50;
    # fastest per model 1.50 and 2.50, median 2.00.
    for key, cpu_s in {("resnet50", "ours"): 0.008, ("resnet50", "flopcounter_meta"): 0.032,
                       ("resnet50", "thop"): 0.012, ("vgg16", "ours"): 0.016,
                       ("vgg16", "flopcounter_meta"): 0.040}.items():
        results[key].warm_cpu_s = cpu_s
    lines = peers.markdown_tables(results, MODELS, TOOLS).splitlines()
    cpu = lines[lines.index(peers.Clock.CPU.title):]
    assert "| resnet50 | 0.008 | 4.00× | 1.50× | thop | 1.50× |" in cpu
    assert "| vgg16 | 0.016 | 2.50× | failed | FlopCounterMode (meta) | 2.50× |" in cpu
    assert "| **median** | | 3.25× | 1.50× | | 2.00× |" in cpu
    # The wall-clock table above it is unchanged.
    assert "| **median** | | 2.75× | 2.50× | | 2.50× |" in lines[:lines.index(peers.Clock.CPU.title)]


def test_regnet_whose_constructor_computes_with_tensors_still_builds_on_meta() -> None:
    # torchvision's RegNet derives its block widths with torch.arange(...).tolist(), which meta cannot give.
    module = peers.build(peers.MODELS["regnet_y_400mf"], "meta")
    assert {p.device.type for p in module.parameters()} == {"meta"} and not module.training
    # RegNetY-400MF has 4,344,144 parameters (torchvision's weights.meta num_params).
    import torchvision
    assert sum(p.numel() for p in module.parameters()) == \
        torchvision.models.RegNet_Y_400MF_Weights.IMAGENET1K_V1.meta["num_params"] == 4_344_144
