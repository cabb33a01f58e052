"""Training-analysis speed: `analyze_training` (forward + backward on meta, batch 1) vs torch's FlopCounterMode doing
the same forward + backward on the meta device. Target: ≥ 5× faster on ResNet-50.

Usage: python bench/training_speed.py [--models resnet50,mobilenet_v2,efficientnet_b0] [--repeats 7]

Both run in this one process, warm (each first run untimed: lazy imports, meta kernels' first use), alternating
repeats so machine load hits both alike; the median of the repeats is reported, with the backward MACs each counted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from analyzers.training import analyze_training  # noqa: E402
from explorer.zoo import build_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="resnet50,mobilenet_v2,efficientnet_b0")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"{'model':<16} {'ours s':>8} {'FlopCounterMode s':>18} {'ratio':>6} {'our bwd MACs':>16} "
          f"{'FCM bwd MACs':>16}")
    for name in args.models.split(","):
        zoo = build_model(name)
        model, size = zoo.module, zoo.input_size

        def ours() -> int:
            return analyze_training(model, size).totals.backward_macs

        def flop_counter() -> int:
            with FlopCounterMode(display=False) as counter:
                y = model.train()(torch.empty(1, *size, device="meta"))
                forward = counter.get_total_flops()
                y.backward(torch.empty_like(y))
            for p in model.parameters():
                p.grad = None
            return (counter.get_total_flops() - forward) // 2

        counts = {fn: fn() for fn in (ours, flop_counter)}  # warm-up
        times: dict = {ours: [], flop_counter: []}
        for _ in range(args.repeats):
            for fn in (ours, flop_counter):
                start = time.perf_counter()
                fn()
                times[fn].append(time.perf_counter() - start)
        a, b = statistics.median(times[ours]), statistics.median(times[flop_counter])
        print(f"{name:<16} {a:8.3f} {b:18.3f} {b / a:6.1f} {counts[ours]:16,} {counts[flop_counter]:16,}")


if __name__ == "__main__":
    main()
