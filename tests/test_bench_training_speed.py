"""The plumbing of bench/training_speed.py: `NAME@BATCH` specs, and that each tool's one training step on a small
model measures what it says — the peers' backward MACs are their counts, ours equal FlopCounterMode's on a network
without grouped convolutions, and every tool leaves no gradient behind on the model it shares."""

from __future__ import annotations

import pytest

from tests.bench_scripts import load

bench = load("training_speed")


def test_a_spec_names_the_model_and_optionally_its_batch():
    _, size, batch = bench.model_and_input("lenet5", 4)
    assert (size, batch) == ((1, 32, 32), 4)  # the zoo's input, the default batch
    _, _, batch = bench.model_and_input("lenet5@3", 4)
    assert batch == 3
    assert "inception_v3@2" in bench.TWELVE.split(",")  # batch norm refuses Inception v3's aux head at batch 1


def test_each_tool_runs_one_step_and_counts_the_backward_it_says():
    """LeNet-5 at batch 2: ours and FlopCounterMode agree on the backward (no grouped convs); MemTracker counts no
    MACs. The rule behind the number: each conv and linear layer's backward is its input gradient plus its weight
    gradient, each equal to its forward MACs, except that the first conv computes no input gradient (nothing before
    it needs one): backward = 2 × forward − the first conv's forward."""
    model, size, batch = bench.model_and_input("lenet5@2", 1)
    tools = bench.tools(model, size, batch, memtracker=True)
    counts = {name: fn() for name, fn in tools.items()}
    assert counts["MemTracker"] is None
    assert counts["ours"] == counts["FlopCounterMode"] > 0
    from analyzers.training.analyze import analyze_training

    step = analyze_training(model, size, batch)
    first_conv = next(layer for layer in step.leaves() if layer.forward_macs)
    assert step.totals.backward_macs == 2 * step.totals.forward_macs - first_conv.forward_macs
    assert all(p.grad is None for p in model.parameters())  # the peers clear what their backward left


@pytest.mark.parametrize("argv, message", [
    (["--models", "nosuchmodel"], "unknown model 'nosuchmodel'"),
    (["--models", "lenet5@x"], "lenet5@x: the batch after @ must be a whole number of at least 1"),
    (["--models", "lenet5@0"], "lenet5@0: the batch after @ must be a whole number of at least 1"),
    (["--models", "lenet5", "--repeats", "0"], "--repeats and --batch-size must be at least 1, got 0 and 1"),
])
def test_bad_arguments_are_one_line_and_exit_2_before_any_timing(argv, message, capsys):
    assert bench.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {message}") and captured.err.count("\n") == 1
    assert captured.out == ""  # no table started: nothing was measured
