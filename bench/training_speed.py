"""Training-analysis speed: `analyze_training` (forward + backward on meta, batch 1) vs torch's FlopCounterMode doing
the same forward + backward on the meta device. Target: ≥ 5× faster on ResNet-50.

Usage: python bench/training_speed.py [--models resnet50,mobilenet_v2,efficientnet_b0] [--repeats 7]
       python bench/training_speed.py --models torchvision:swin_t,timm:vit_small_patch16_224 (catalogue models)
       python bench/training_speed.py --models inception_v3 --batch-size 2 (batch norm in train mode refuses one
       value per channel, as PyTorch does: Inception v3's aux head reaches 1×1 at batch 1)

Both run in this one process, warm (each first run untimed: lazy imports, meta kernels' first use), alternating
repeats so machine load hits both alike; the median of the repeats is reported, as wall time and as this process's
CPU time (`time.process_time`, which a loaded shared machine disturbs far less), with the backward MACs each
counted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.utils._pytree import tree_leaves  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from analyzers.training import analyze_training  # noqa: E402
from explorer.catalogue import build  # noqa: E402
from explorer.zoo import build_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="resnet50,mobilenet_v2,efficientnet_b0")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args()
    print(f"{'model':<28} {'ours ms':>8} {'FCM ms':>8} {'ratio':>6} {'ours CPU ms':>11} {'FCM CPU ms':>10} "
          f"{'CPU ratio':>9} {'our bwd MACs':>16} {'FCM bwd MACs':>16}")
    for name in args.models.split(","):
        if ":" in name:  # a catalogue model, built on meta as the catalogue builds it: torchvision:swin_t
            built = build(name)
            if built.input_size is None:
                raise SystemExit(f"error: {name} does not take one image; this benchmark needs C×H×W inputs")
            model, size = built.module, built.input_size
        else:
            zoo = build_model(name)
            model, size = zoo.module, zoo.input_size

        def ours() -> int:
            return analyze_training(model, size, args.batch_size).totals.backward_macs

        def flop_counter() -> int:
            with FlopCounterMode(display=False) as counter:
                y = model.train()(torch.empty(args.batch_size, *size, device="meta"))
                forward = counter.get_total_flops()
                roots = [t for t in tree_leaves(y) if isinstance(t, torch.Tensor) and t.requires_grad]
                torch.autograd.backward(roots, [torch.empty_like(t) for t in roots])  # every output, aux heads too
            for p in model.parameters():
                p.grad = None
            return (counter.get_total_flops() - forward) // 2

        counts = {fn: fn() for fn in (ours, flop_counter)}  # warm-up
        wall: dict = {ours: [], flop_counter: []}
        cpu: dict = {ours: [], flop_counter: []}
        for _ in range(args.repeats):
            for fn in (ours, flop_counter):
                start, start_cpu = time.perf_counter(), time.process_time()
                fn()
                wall[fn].append(time.perf_counter() - start)
                cpu[fn].append(time.process_time() - start_cpu)
        a, b = statistics.median(wall[ours]), statistics.median(wall[flop_counter])
        c, d = statistics.median(cpu[ours]), statistics.median(cpu[flop_counter])
        print(f"{name:<28} {a * 1e3:8.1f} {b * 1e3:8.1f} {b / a:6.2f} {c * 1e3:11.1f} {d * 1e3:10.1f} {d / c:9.2f} "
              f"{counts[ours]:16,} {counts[flop_counter]:16,}")


if __name__ == "__main__":
    main()
