"""Training-analysis speed: `analyze_training` (one step, forward + backward on meta) against the peers that run a
backward too: torch's FlopCounterMode (FLOPs) and torch.distributed._tools' MemTracker (memory), each doing the
same forward + backward of the same model on the meta device. Target (issue 16): ≥ 3× the fastest peer.

Usage: python bench/training_speed.py                       (the twelve models of the speed issue)
       python bench/training_speed.py --models resnet50,torchvision:swin_t,timm:vit_small_patch16_224 --repeats 7
       NAME@B runs batch B: the default list has inception_v3@2, since batch norm in train mode refuses one value
       per channel, as PyTorch does, and Inception v3's aux head reaches 1×1 at batch 1.
       --no-memtracker leaves MemTracker out (about twice FlopCounterMode's time).

Everything runs in this one process, warm (each first run untimed: lazy imports, meta kernels' first use), the tools
alternating within each repeat so machine load hits all alike. Reported: the median of the repeats of this process's
CPU time (`time.process_time`, which a loaded shared machine disturbs far less than wall time), the ratio of the
fastest peer to ours, and the backward MACs ours and FlopCounterMode count (FLOPs ÷ 2; they differ where FCM
charges a depthwise weight gradient × channels, or counts an attention's math path).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils._pytree import tree_leaves  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from analyzers.errors import UserError, first_line  # noqa: E402
from analyzers.numbers import whole_number  # noqa: E402
from analyzers.training.analyze import analyze_training  # noqa: E402
from explorer.catalogue import build  # noqa: E402
from explorer.zoo import build_model  # noqa: E402

TWELVE = ("resnet50,vgg16,mobilenet_v2,efficientnet_b0,googlenet,inception_v3@2,torchvision:convnext_tiny,"
          "torchvision:vit_b_16,torchvision:swin_t,torchvision:regnet_y_400mf,torchvision:maxvit_t,"
          "timm:vit_small_patch16_224")


def model_and_input(spec: str, default_batch: int) -> tuple[nn.Module, tuple[int, ...], int]:
    """`resnet50` (zoo), `torchvision:swin_t` / `timm:NAME` (catalogue, built on meta), with an optional `@BATCH`."""
    name, at, batch = spec.partition("@")
    if at and (whole_number(batch) or 0) < 1:
        raise UserError(f"{spec}: the batch after @ must be a whole number of at least 1")
    batch_size = whole_number(batch) or default_batch
    if ":" in name:
        built = build(name)
        if built.input_size is None:
            raise UserError(f"{name} does not take one image; this benchmark needs C×H×W inputs")
        return built.module, tuple(built.input_size), batch_size
    zoo = build_model(name)
    return zoo.module, tuple(zoo.input_size), batch_size


def _backward_from_every_output(y: object) -> None:
    roots = [t for t in tree_leaves(y) if isinstance(t, torch.Tensor) and t.requires_grad]
    torch.autograd.backward(roots, [torch.empty_like(t) for t in roots])  # every output, aux heads too, as ours


def _clear_gradients(model: nn.Module) -> None:
    for p in model.parameters():
        p.grad = None


def tools(model: nn.Module, size: tuple[int, ...], batch_size: int, memtracker: bool
          ) -> dict[str, Callable[[], int | None]]:
    """Each tool's one training-step analysis; each returns the backward MACs it counted (None: counts none)."""

    def ours() -> int:
        return analyze_training(model, size, batch_size).totals.backward_macs

    def flop_counter() -> int:
        with FlopCounterMode(display=False) as counter:
            y = model.train()(torch.empty(batch_size, *size, device="meta"))
            forward = counter.get_total_flops()
            _backward_from_every_output(y)
        _clear_gradients(model)
        return (counter.get_total_flops() - forward) // 2

    def mem_tracker() -> None:
        from torch.distributed._tools.mem_tracker import MemTracker

        tracker = MemTracker()  # one per step: it refuses to track a second iteration
        tracker.track_external(model)
        with tracker:
            _backward_from_every_output(model.train()(torch.empty(batch_size, *size, device="meta")))
        _clear_gradients(model)
        return None

    chosen: dict[str, Callable[[], int | None]] = {"ours": ours, "FlopCounterMode": flop_counter}
    if memtracker:
        chosen["MemTracker"] = mem_tracker
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=TWELVE)
    parser.add_argument("--repeats", default="5")
    parser.add_argument("--batch-size", default="1", help="for models without @BATCH")
    parser.add_argument("--no-memtracker", action="store_true")
    args = parser.parse_args(argv)
    try:  # every model is built before anything is timed: a bad name costs no measuring
        repeats, batch_size = whole_number(args.repeats), whole_number(args.batch_size)  # ASCII digits only
        if repeats is None or batch_size is None or repeats < 1 or batch_size < 1:
            raise UserError(f"--repeats and --batch-size must be at least 1, got {args.repeats} and {args.batch_size}")
        specs = args.models.split(",")
        built = [model_and_input(spec, batch_size) for spec in specs]
    except UserError as exc:
        print(f"error: {first_line(exc)}", file=sys.stderr)
        return 2
    memtracker = not args.no_memtracker
    print(f"{'model':<30} {'ours ms':>8} {'FCM ms':>8} {'MemTr ms':>9} {'fastest ÷ ours':>15} "
          f"{'our bwd MACs':>16} {'FCM bwd MACs':>16}", flush=True)
    ratios = []
    for spec, (model, size, batch_size) in zip(specs, built):
        chosen = tools(model, size, batch_size, memtracker)
        counts = {name: fn() for name, fn in chosen.items()}  # warm-up
        cpu: dict[str, list[float]] = {name: [] for name in chosen}
        for _ in range(repeats):
            for name, fn in chosen.items():
                start = time.process_time()
                fn()
                cpu[name].append(time.process_time() - start)
        ms = {name: statistics.median(times) * 1e3 for name, times in cpu.items()}
        fastest = min(value for name, value in ms.items() if name != "ours")
        ratios.append(fastest / ms["ours"])
        memtracker_ms = f"{ms['MemTracker']:9.1f}" if memtracker else f"{'-':>9}"
        print(f"{spec:<30} {ms['ours']:8.1f} {ms['FlopCounterMode']:8.1f} {memtracker_ms} {ratios[-1]:15.2f} "
              f"{counts['ours']:16,} {counts['FlopCounterMode']:16,}", flush=True)
    if len(ratios) > 1:
        print(f"fastest peer ÷ ours: min {min(ratios):.2f}, median {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
