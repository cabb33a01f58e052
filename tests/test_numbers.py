"""Numbers a user gives are plain ASCII integers (or decimals) everywhere: the CLI's types, bench's parsers and
scripts, the spec language, the zoo's options and the API. Python's `int()` would read `٣` (Arabic-Indic three) and
`３` (full-width three) as 3, `1_0` as 10, and `int(8.7)` would quietly make a size of 8; each is refused in one line.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from analyzers import InputSizeError, InputSpec, analyze
from analyzers.errors import AnalysisError, UserError
from analyzers.numbers import decimal_number, parse_dims, whole_number
from analyzers.reports.gradients import gradient_profile
from analyzers.training.analyze import analyze_training
from explorer.cli import main
from explorer.spec import SpecError, load_spec
from explorer.zoo import BuildOptionError, build_model
from tests.bench_scripts import load

ARABIC_INDIC_3 = "\u0663"  # ٣
FULL_WIDTH_3 = "\uff13"  # ３
LOOK_ALIKES = [ARABIC_INDIC_3, FULL_WIDTH_3, "1_0", "\u00b2", " 3", "+3", "3.0", "1e1"]


def test_whole_number_takes_ascii_digits_only() -> None:
    # what int() reads and a person did not mean as this number
    assert [int(t) for t in (ARABIC_INDIC_3, FULL_WIDTH_3, "1_0", " 3", "+3")] == [3, 3, 10, 3, 3]
    assert [whole_number(t) for t in LOOK_ALIKES] == [None] * len(LOOK_ALIKES)


def test_whole_number_takes_true_integers_and_nothing_else() -> None:
    assert [whole_number(v) for v in ("10", "007", 7, np.int64(5), torch.tensor(4))] == [10, 7, 7, 5, 4]
    assert [whole_number(v) for v in (8.7, 8.0, True, None, "", "9" * 1001)] == [None] * 6


def test_decimals_and_sizes_read_as_written() -> None:
    assert [decimal_number(t) for t in ("0.75", ".5", "1e-4", "400e6")] == [0.75, 0.5, 1e-4, 400e6]
    assert [decimal_number(t) for t in ("inf", "nan", "-1", "1_0.5", ARABIC_INDIC_3)] == [None] * 5
    assert parse_dims("1x3x224x224") == (1, 3, 224, 224)
    assert parse_dims(" 3 × 224, 224 ") == (3, 224, 224)
    assert parse_dims("1x0x5") == (1, 0, 5)  # an empty tensor's shape reads back; whether it is allowed is not ours
    assert parse_dims(f"3x{ARABIC_INDIC_3}x3") is None and parse_dims("whole input") is None


@pytest.mark.parametrize("argv, message", [
    (["summary", "lenet5", "--batch", ARABIC_INDIC_3], "argument --batch: expected a positive integer, got '\u0663'"),
    (["summary", "lenet5", "--batch", "1_0"], "argument --batch: expected a positive integer, got '1_0'"),
    (["summary", "lenet5", "--batch", FULL_WIDTH_3], "argument --batch: expected a positive integer, got '\uff13'"),
    (["summary", "lenet5", "--input", f"1x32x3{ARABIC_INDIC_3}"], "--input '1x32x3\u0663': expected CxHxW"),
    (["summary", "lenet5", "--input", "x=float32:1x1x32x3_2"], "an input must look like NAME=DTYPE:SHAPE"),
    (["report", "lenet5", "--depth", FULL_WIDTH_3], "argument --depth: expected an integer ≥ 0, got '\uff13'"),
    (["summary", "lenet5", "--timeout", "1_0"], "argument --timeout: expected seconds from 0 (no limit) to 86400"),
    (["summary", "resnet18", "--train", "--freeze-stages", ARABIC_INDIC_3], "argument --freeze-stages: expected an "
     "integer ≥ 0"),
    (["gradients", "lenet5", "--seed", "1_0"], "argument --seed: expected an integer ≥ 0, got '1_0'"),
    (["atlas", "torchvision", "--jsonl", "x.jsonl", "--limit", ARABIC_INDIC_3], "argument --limit: expected an "
     "integer ≥ 0"),
    (["bench", "lenet5", "--batch", f"1,{ARABIC_INDIC_3}"], "--batch '1,\u0663': expected positive integers"),
    (["bench", "lenet5", "--iters", "1_0"], "--iters '1_0': expected an integer from 1 to 9,223,372,036,854,775,807"),
    (["bench", "lenet5", "--device", f"cuda:{ARABIC_INDIC_3}"], "--device 'cuda:\u0663': expected cuda or cpu"),
    (["summary", "lenet5", "--set", f"num_classes={ARABIC_INDIC_3}"], "num_classes must be"),
    (["summary", "mobilenet_v2", "--set", "width_mult=\u0660.\u0665"], "width_mult must be"),
    (["ensemble", f"lenet5*{ARABIC_INDIC_3}"], "cannot read 'lenet5*\u0663'"),
])
def test_the_cli_refuses_look_alike_numbers_in_one_line(capsys, tmp_path, monkeypatch, argv, message) -> None:
    monkeypatch.chdir(tmp_path)  # bench and atlas would write their files here
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def _conv() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())


@pytest.mark.parametrize("size", [(3, 8.7, 8), (3, 8.0, 8), (3, "8", ARABIC_INDIC_3), (3, True, 8)])
def test_the_api_refuses_a_size_that_is_not_whole_numbers(size) -> None:
    with pytest.raises(InputSizeError, match="input size must be integers like 3x224x224"):
        analyze(_conv(), size)
    with pytest.raises(InputSizeError, match="input size must be integers like 3x224x224"):
        analyze_training(_conv(), size, 2)


def test_the_api_refuses_a_batch_or_input_spec_that_is_not_whole_numbers() -> None:
    with pytest.raises(InputSizeError, match="batch size must be a positive integer, got 2.0"):
        analyze(_conv(), (3, 8, 8), batch_size=2.0)
    with pytest.raises(InputSizeError, match="an input shape must be integers like 1x128"):
        InputSpec((1, 3, 8.7, 8))
    with pytest.raises(AnalysisError, match="input must be positive sizes"):
        gradient_profile(_conv(), (3, 8.7, 8))
    with pytest.raises(AnalysisError, match="batch size must be 2 to"):
        gradient_profile(_conv(), (3, 8, 8), batch_size=2.5)
    # true integers of any kind are sizes: NumPy's, torch.Size's
    assert analyze(_conv(), torch.Size([3, 8, 8])).totals.macs == analyze(_conv(), (np.int64(3), 8, 8)).totals.macs \
        == 4 * 3 * 3 * 3 * 6 * 6


@pytest.mark.parametrize("text, message", [
    (f"input 32x32x{ARABIC_INDIC_3}", "input needs the size as HxWxC"),
    (f"input 32x32x1\nconv {FULL_WIDTH_3} 5x5", "conv needs a filter count"),
    ("input 32x32x1\nfc 1_0", "fc needs an output size"),
    ("input 32x32x1\nconv 6 5x5 s\u0662", "conv does not understand"),
    (f"input 32x32x1\nlrn alpha={ARABIC_INDIC_3}", "alpha needs a number from 0"),
])
def test_the_spec_language_refuses_look_alike_numbers(text: str, message: str) -> None:
    with torch.device("meta"), pytest.raises(SpecError, match=message):
        load_spec(text)


def test_zoo_options_from_the_api_refuse_floats_for_counts() -> None:
    with pytest.raises(BuildOptionError, match="num_classes must be"):
        build_model("lenet5", device="meta", num_classes=10.5)
    with pytest.raises(BuildOptionError, match="num_classes must be"):
        build_model("lenet5", device="meta", num_classes="1_0")


def test_bench_scripts_refuse_look_alike_numbers(capsys) -> None:
    training_speed, catalogue_speed, cold_cli = load("training_speed"), load("catalogue_speed"), load("cold_cli")
    assert training_speed.main(["--models", "lenet5", "--repeats", ARABIC_INDIC_3]) == 2
    assert "--repeats and --batch-size must be at least 1, got \u0663 and 1" in capsys.readouterr().err
    with pytest.raises(UserError, match="the batch after @ must be a whole number"):
        training_speed.model_and_input(f"lenet5@{FULL_WIDTH_3}", 1)
    assert catalogue_speed.main(["--repeats", "1_0"]) == 2
    assert "--repeats must be a positive whole number, got '1_0'" in capsys.readouterr().err
    assert cold_cli.main(["--runs", "\u00b2"]) == 2  # `"²".isdigit()` is True, `int("²")` a ValueError
    assert capsys.readouterr().err == "error: --runs must be a whole number of at least 1, got '\u00b2'\n"
