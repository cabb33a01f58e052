"""Ensembles and multi-crop (notes 001): the per-image cost multiplies by models × crops, weights add over models
only, activations are per crop or × crops when batched. Reference counts come from torchvision's published
num_params and from FlopCounterMode (the shared notes' measured facts), not from our analyzer."""

from __future__ import annotations

import json

import pytest

from analyzers import analyze
from analyzers.errors import UserError
from explorer.cli import main
from explorer.ensemble import (
    CropScheme,
    MemberCost,
    ensemble_cost,
    measured_latency_ms,
    parse_crops,
    parse_members,
    zoo_member_costs,
)
from explorer.zoo import build_model

RESNET50_PARAMS, RESNET50_MACS = 25_557_032, 4_089_184_256  # torchvision num_params; FlopCounterMode ÷ 2
VGG16_PARAMS, VGG16_MACS = 138_357_544, 15_470_264_320


def test_crop_schemes() -> None:
    assert CropScheme.TEN_CROP == 5 * 2  # centre + 4 corners, and the mirror image of each
    assert CropScheme.GOOGLENET == 4 * 3 * 6 * 2  # scales × squares × crops per square × mirrors


def test_an_ensemble_of_three_resnet50s_on_ten_crops() -> None:
    cost = ensemble_cost(zoo_member_costs(parse_members("resnet50*3")), parse_crops("10crop"))
    assert cost.models == 3 and cost.crops == 10
    assert cost.macs_per_image == 10 * 3 * RESNET50_MACS
    assert cost.flops_per_image == 2 * cost.macs_per_image
    assert cost.params == 3 * RESNET50_PARAMS  # three independently trained networks: three sets of weights
    assert cost.weight_bytes == 4 * 3 * RESNET50_PARAMS  # fp32
    assert cost.cost_multiplier == 30.0  # "slows down your running time by a factor of 3 to 15", × 10 crops


def test_crops_share_weights_and_multiply_activations_only_when_batched() -> None:
    model = build_model("resnet50")
    single = analyze(model.module, model.input_size).totals
    cost = ensemble_cost(zoo_member_costs(["resnet50"]), 10)
    assert cost.params == RESNET50_PARAMS and cost.weight_bytes == single.param_bytes
    assert cost.activation_bytes_per_crop == single.activation_bytes
    assert cost.activation_bytes_batched == 10 * single.activation_bytes
    assert cost.cost_multiplier == 10.0


def test_mixed_members_add_macs_and_weights_and_take_the_largest_activations() -> None:
    members = [
        MemberCost("a", (3, 8, 8), params=10, param_bytes=40, macs=100, activation_bytes=7),
        MemberCost("b", (3, 8, 8), params=30, param_bytes=120, macs=300, activation_bytes=5),
    ]
    cost = ensemble_cost(members, 144)
    assert cost.macs_per_crop == 400 and cost.macs_per_image == 144 * 400
    assert cost.params == 40 and cost.weight_bytes == 160
    assert cost.activation_bytes_per_crop == 7 and cost.activation_bytes_batched == 144 * 7
    assert cost.cost_multiplier == 144 * 400 / 100


def test_resnet50_and_vgg16_from_the_zoo() -> None:
    cost = ensemble_cost(zoo_member_costs(["resnet50", "vgg16"]), 1)
    assert cost.macs_per_image == RESNET50_MACS + VGG16_MACS
    assert cost.params == RESNET50_PARAMS + VGG16_PARAMS


@pytest.mark.parametrize(
    "text, names",
    [("a,b", ["a", "b"]), ("resnet50*3", ["resnet50"] * 3), (" x ×2 , y", ["x", "x", "y"])],
)
def test_member_lists(text: str, names: list[str]) -> None:
    assert parse_members(text) == names


@pytest.mark.parametrize("text", ["a,,b", "a*0", "a b", "a*65"])
def test_bad_member_lists(text: str) -> None:
    with pytest.raises(UserError):
        parse_members(text)


@pytest.mark.parametrize("text, crops", [("1", 1), ("10", 10), ("10crop", 10), ("googlenet", 144), ("144", 144)])
def test_crop_counts(text: str, crops: int) -> None:
    assert parse_crops(text) == crops


@pytest.mark.parametrize("text", ["0", "-3", "1001", "ten", "2.5"])
def test_bad_crop_counts(text: str) -> None:
    with pytest.raises(UserError, match="--crops must be"):
        parse_crops(text)


def test_cli_json(capsys) -> None:
    assert main(["ensemble", "resnet50*2", "--crops", "10", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["members"] == ["resnet50", "resnet50"] and record["crops"] == 10
    assert record["macs_per_image"] == 20 * RESNET50_MACS and record["params"] == 2 * RESNET50_PARAMS
    assert record["cost_multiplier"] == 20.0


def test_cli_text_and_bf16_bytes(capsys) -> None:
    assert main(["ensemble", "resnet50", "--crops", "googlenet", "--dtype", "bf16"]) == 0
    out = capsys.readouterr().out
    assert "1 model(s) × 144 crop(s)" in out
    assert f"{144 * RESNET50_MACS:,}" in out and f"{2 * RESNET50_PARAMS:,}  bytes" in out


@pytest.mark.parametrize(
    "argv, message",
    [(["ensemble", "resnet5,vgg16"], "did you mean"), (["ensemble", "resnet50", "--crops", "0"], "--crops must be")],
)
def test_cli_errors(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err


def test_measured_latency_is_crops_times_the_members_batch1_latencies() -> None:
    members = [
        MemberCost("a", (3, 8, 8), params=10, param_bytes=40, macs=100, activation_bytes=7),
        MemberCost("b", (3, 8, 8), params=30, param_bytes=120, macs=300, activation_bytes=5),
    ]
    cost = ensemble_cost(members, 10)
    assert measured_latency_ms(cost, {"a": 2.0, "b": 3.5}) == 10 * (2.0 + 3.5)
    assert measured_latency_ms(cost, {"a": 2.0}) is None  # b never measured: no number, never a guess


def test_cli_reads_measured_latency_from_a_results_file(capsys) -> None:
    # the shipped CPU results: resnet18 25.72946 ms and resnet50 65.45404 ms p50 at batch 1
    shipped = "assets/benchmarks/cpu-2core-epyc_2026-11-22.csv"
    assert main(["ensemble", "resnet18,resnet50", "--crops", "10", "--results", shipped, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["latency_ms_per_image"] == pytest.approx(10 * (25.72946 + 65.45404), rel=1e-6)
