"""Training charts carry the engine's numbers: bars per layer with MACs, the timeline's points and its peak."""

from __future__ import annotations

import torchvision

from analyzers.training.analyze import analyze_training
from analyzers.training.memory import Phase
from explorer.figures.training import GIB, forward_backward_bars, freezing_comparison, memory_timeline


def test_charts_of_a_resnet18_step():
    model = torchvision.models.resnet18()
    full = analyze_training(model, (3, 64, 64), batch_size=2)
    frozen = analyze_training(model, (3, 64, 64), batch_size=2, freeze="layer3")

    bars = forward_backward_bars(full.leaves())
    forward, input_grad, weight_grad = bars.data
    with_macs = [layer for layer in full.leaves() if layer.forward_macs or layer.backward_macs]
    assert list(forward.x) == [layer.name for layer in with_macs]  # 20 convs + fc
    assert sum(forward.y) == full.totals.forward_macs
    assert sum(input_grad.y) + sum(weight_grad.y) == full.totals.backward_macs
    assert list(weight_grad.base) == list(input_grad.y)  # the weight gradient stacks on the input gradient

    timeline = memory_timeline(full.memory)
    points = [y for trace in timeline.data for y in trace.y]
    assert len(points) == len(full.memory.timeline)
    assert max(points) == full.memory.peak_bytes / GIB
    assert {trace.name for trace in timeline.data} == {p.value for p in Phase}

    comparison = freezing_comparison(full, frozen)
    shares = comparison.data[1].y
    assert shares[0] == 100 * frozen.totals.trainable_params / full.totals.trainable_params
    assert shares[3] == 100 * frozen.memory.peak_bytes / full.memory.peak_bytes
