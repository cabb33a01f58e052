"""Gradients at initialisation: the plain-vs-residual contrast the notes state, an exact gradient worked by hand,
execution order, determinism, the CLI and the page."""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from analyzers.errors import AnalysisError
from analyzers.reports.gradients import Init, gradient_profile
from explorer.cli import main
from explorer.figures.gradient_norms import gradient_norms
from explorer.zoo import build_model

PAGE = Path(__file__).resolve().parents[1] / "explorer" / "pages" / "gradients.py"


def profile(name: str, **kwargs):
    model = build_model(name)
    return gradient_profile(model.module, model.input_size, model_name=name, **kwargs)


@pytest.fixture(scope="module")
def plain_and_residual():
    return profile("plain56_cifar", seed=0), profile("resnet56_cifar", seed=0)


def test_the_plain_nets_gradient_drifts_by_orders_of_magnitude_the_resnets_does_not(plain_and_residual) -> None:
    # The notes: very deep plain nets suffer vanishing/exploding gradients; skip connections let the gradient reach
    # every layer. Measured (seed 0, batch 4, He init, training-mode BN): the plain net's first conv gets ~1,900×
    # the classifier's gradient (it explodes towards the input), the ResNet's ~0.5×.
    plain, residual = plain_and_residual
    assert abs(math.log10(plain.first_to_last())) > 2  # more than 100× away from the last layer's
    assert abs(math.log10(residual.first_to_last())) < 1  # within 10×
    assert plain.first_to_last() / residual.first_to_last() > 100
    assert plain.spread_decades() > 3 > 2 > residual.spread_decades()


def test_the_plain_drift_grows_with_depth_and_the_shortcuts_hold_it(plain_and_residual) -> None:
    # Measured at seed 0 (decades spanned by the layers' gradient norms): plain 20 ≈ 1.1, 56 ≈ 3.9, 110 ≈ 7.7;
    # ResNet-110 ≈ 1.8. FractalNet-20 has no residuals but a one-conv path through every block: ≈ 0.6.
    plain20, plain110 = profile("plain20_cifar"), profile("plain110_cifar")
    assert plain20.spread_decades() < plain_and_residual[0].spread_decades() < plain110.spread_decades()
    assert plain110.spread_decades() > 6 and profile("resnet110_cifar").spread_decades() < 2
    assert profile("fractalnet20_cifar").spread_decades() < 1


@pytest.mark.parametrize("seed", [1, 2])
def test_the_contrast_holds_for_other_seeds(seed: int) -> None:
    plain, residual = profile("plain56_cifar", seed=seed), profile("resnet56_cifar", seed=seed)
    assert abs(math.log10(plain.first_to_last())) > 2 > 1 > abs(math.log10(residual.first_to_last()))


def test_every_weight_layer_in_execution_order(plain_and_residual) -> None:
    plain, residual = plain_and_residual
    assert len(plain.layers) == len(residual.layers) == 56  # 55 convs + the fc: the "56 layers"
    assert [layer.order for layer in plain.layers] == list(range(56))
    assert plain.first.name == "conv1" and plain.last.name == "fc" and plain.last.type == "Linear"
    # option B: the block calls its projection before its two convs, though it registers it after them
    names = [layer.name for layer in profile("resnet20_cifar", init=Init.PYTORCH).layers]
    assert not any("downsample" in name for name in names)  # option A: its shortcuts have no layers
    model = build_model("resnet20_cifar", shortcut="b")
    b = [layer.name for layer in gradient_profile(model.module, model.input_size).layers]
    assert b.index("layer2.0.downsample.0") == b.index("layer2.0.conv1") - 1


class _ZeroLinear(nn.Linear):
    """A linear layer that initialises to zero, so the logits are 0 and the softmax uniform."""

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


def test_the_gradient_norm_of_a_linear_classifier_by_hand() -> None:
    # logits = W·x = 0 → p = (1/3, 1/3, 1/3); cross-entropy's gradient: ∂L/∂W = (p − onehot(y))ᵀ·X / B.
    # The probe draws X = randn(B, 4) then y = randint(0, 3, (B,)) from one torch.Generator seeded with `seed`.
    batch, seed = 5, 7
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 4, generator=generator, dtype=torch.float32).double()
    y = torch.randint(0, 3, (batch,), generator=generator)
    residual = torch.full((batch, 3), 1 / 3, dtype=torch.float64) - torch.eye(3, dtype=torch.float64)[y]
    expected = (residual.T @ x / batch).norm().item()
    result = gradient_profile(nn.Sequential(_ZeroLinear(4, 3)), (4,), batch_size=batch, seed=seed, init=Init.PYTORCH)
    assert result.layers[0].grad_norm == pytest.approx(expected, rel=1e-6)
    assert result.loss == pytest.approx(math.log(3))
    assert result.layers[0].weight_norm == 0.0 and result.layers[0].params == 12


def test_deterministic_and_leaves_the_callers_model_alone() -> None:
    model = build_model("resnet20_cifar")
    first = gradient_profile(model.module, model.input_size, seed=3)
    second = gradient_profile(model.module, model.input_size, seed=3)
    assert first == second
    assert all(p.is_meta and p.grad is None for p in model.module.parameters())
    assert torch.get_num_threads() >= 1


def test_plain56_and_resnet56_take_seconds_not_minutes() -> None:
    start = time.process_time()  # CPU time: the probe runs on one thread, so a busy machine does not inflate it
    profile("plain56_cifar")
    profile("resnet56_cifar")
    assert time.process_time() - start < 5


def test_bad_inputs_are_one_line_errors() -> None:
    model = build_model("resnet20_cifar")
    with pytest.raises(AnalysisError, match="at least 2"):
        gradient_profile(model.module, model.input_size, batch_size=1)
    with pytest.raises(AnalysisError, match="logits"):
        gradient_profile(build_model("residual_block").module, (64, 8, 8))
    with pytest.raises(AnalysisError, match="no convolution or linear"):
        gradient_profile(nn.Sequential(nn.Flatten()), (10,))


def test_cli_prints_one_line_per_model_and_writes_every_layer(tmp_path, capsys) -> None:
    target = tmp_path / "grads.csv"
    assert main(["gradients", "plain20_cifar", "resnet20_cifar", "--csv", str(target)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[0] == "model" and out[1].startswith("plain20_cifar") and out[2].startswith("resnet20_cifar")
    assert "not training" in out[3]
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40 and rows[0]["layer"] == "conv1" and rows[-1]["layer"] == "fc"
    expected = profile("plain20_cifar").first.grad_norm
    assert float(rows[0]["grad_norm"]) == expected


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gradients", "resnet56_cifr"], "did you mean"),
        (["gradients", "resnet20_cifar", "--batch", "1"], "batch size must be 2"),
        (["gradients", "resnet20_cifar", "--init", "xavier"], "invalid choice"),
    ],
)
def test_cli_errors(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1


def test_figure_is_one_log_line_per_model(plain_and_residual) -> None:
    import pandas as pd

    rows = [
        {"model": p.model_name, "order": layer.order, "layer": layer.name, "type": layer.type,
         "grad_norm": layer.grad_norm}
        for p in plain_and_residual for layer in p.layers
    ]
    fig = gradient_norms(pd.DataFrame(rows))
    assert [trace.name for trace in fig.data] == ["plain56_cifar", "resnet56_cifar"]
    assert fig.layout.yaxis.type == "log"
    assert list(fig.data[0].x) == list(range(1, 57))
    relative = gradient_norms(pd.DataFrame(rows), relative_to_last=True)
    assert relative.data[0].y[-1] == 1.0
    assert relative.data[0].y[0] == pytest.approx(plain_and_residual[0].first_to_last())


def test_page_charts_plain56_against_resnet56_and_says_what_it_does_not_show(plain_and_residual) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in spec["data"]] == ["plain56_cifar", "resnet56_cifar"]
    assert spec["layout"]["yaxis"]["type"] == "log"
    assert spec["data"][0]["y"][0] == pytest.approx(plain_and_residual[0].first.grad_norm)
    text = " ".join(m.value for m in at.markdown)
    assert "What it does not show" in text and "not training" in text
    summary = at.dataframe[0].value
    assert list(summary["model"]) == ["plain56_cifar", "resnet56_cifar"]


# --- bounded work and result files that lose nothing (issue 22) ------------------------------------------------


def estimate(name: str, batch: int) -> int:
    """What the budget compares: the training analysis's peak with plain SGD, times the measured CPU overhead."""
    from analyzers.reports.gradients import CPU_PASS_OVERHEAD
    from analyzers.training.analyze import analyze_training

    model = build_model(name)
    return int(CPU_PASS_OVERHEAD * analyze_training(model.module, model.input_size, batch).memory.peak_bytes)


@pytest.mark.parametrize("name", ["vgg16", "resnet1202_cifar"])
def test_a_pass_over_the_memory_budget_is_refused_with_the_largest_batch_that_fits(name, capsys) -> None:
    """Was: `gradients resnet1202_cifar --batch 64` peaked at 7.5 GB, `gradients vgg16 --batch 64` over 6 GB."""
    import re

    from analyzers.budget import CPU_WORK_BUDGET_BYTES

    assert main(["gradients", name, "--batch", "64"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    found = re.fullmatch(rf"error: {name}: one forward/backward at batch 64 needs about (\d+\.\d) GiB of memory, "
                         r"over the 2 GiB budget for CPU work; at most batch (\d+) fits\n", captured.err)
    assert found, captured.err
    fits = int(found.group(2))
    assert float(found.group(1)) == round(estimate(name, 64) / 2**30, 1)
    assert estimate(name, fits) <= CPU_WORK_BUDGET_BYTES < estimate(name, fits + 1)


def test_the_page_refuses_a_pass_over_the_budget_in_one_line() -> None:
    """Was: the Gradients page took 7.3 GB and 32 s for resnet1202_cifar at batch 64."""
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["gradients_models"] = ["resnet1202_cifar"]
    at.session_state["gradients_batch"] = 64
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "at most batch" in errors[0] and "over the 2 GiB budget" in errors[0]


GRADIENT_MODELS = ["plain20_cifar", "resnet20_cifar", "plain32_cifar", "resnet32_cifar", "plain44_cifar",
                   "resnet44_cifar", "plain56_cifar", "resnet56_cifar"]


def csv_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("stop", ["SIGKILL", "SIGINT"], ids=["kill-9", "ctrl-c"])
def test_gradients_csv_keeps_finished_models_when_stopped_and_a_rerun_adds_only_the_rest(tmp_path, stop) -> None:
    """Was: `gradients A B C --csv f` wrote only at the end: a kill or Ctrl-C after minutes left nothing."""
    import signal
    import subprocess
    import sys

    target = tmp_path / "g.csv"
    argv = [sys.executable, "-m", "explorer", "gradients", *GRADIENT_MODELS, "--csv", str(target)]
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not csv_rows(target) and process.poll() is None:
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before any row was on disk"
    process.send_signal(getattr(signal, stop))
    _, err = process.communicate(timeout=60)
    kept = csv_rows(target)
    kept_models = list(dict.fromkeys(row["model"] for row in kept))
    assert kept_models == GRADIENT_MODELS[: len(kept_models)] and len(kept_models) < len(GRADIENT_MODELS)
    assert len(kept) == sum(int(name.removeprefix("plain").removeprefix("resnet").split("_")[0]) for name in kept_models)
    if stop == "SIGINT":
        assert process.returncode == 130 and "written are kept" in err
    rerun = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert sum("(skipped)" in line for line in rerun.stdout.splitlines()) == len(kept_models)
    rows = csv_rows(target)
    assert rows[: len(kept)] == kept
    keys = [(row["model"], row["order"]) for row in rows]
    assert len(keys) == len(set(keys)) == 20 + 20 + 32 + 32 + 44 + 44 + 56 + 56
