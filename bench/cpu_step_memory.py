"""The step-memory estimate against the CPU allocator: one real training step per (model, optimizer), its peak from
torch.profiler's allocation events (`analyzers.bench.train_harness.cpu_step_peak`), beside `analyze_training`'s
peak for the CPU. What the allocator gives beyond the estimate is memory allocated inside aten ops, below the level
any dispatch mode sees: oneDNN's convolution scratch (copies to the layout its kernels want) in a CNN's backward.

Usage: python bench/cpu_step_memory.py                          (every zoo model at its default input, batch 2, SGD)
       python bench/cpu_step_memory.py --models lenet5,resnet18 --input 3x64x64 --batch 8 --optimizers sgd,adam

Prints one line per case and a summary; `--jsonl FILE` keeps the rows. Real compute on the CPU: the whole zoo at
its default inputs takes minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from analyzers.bench.train_harness import cpu_step_peak, make_optimizer  # noqa: E402
from analyzers.errors import first_line  # noqa: E402
from analyzers.training.analyze import analyze_training  # noqa: E402
from analyzers.training.memory import Optimizer  # noqa: E402
from analyzers.counting.inputs import parse_input_size  # noqa: E402
from explorer.zoo import build_model, list_models  # noqa: E402


def measure(name: str, size: tuple[int, ...] | None, batch: int, optimizer: Optimizer) -> dict:
    torch.manual_seed(0)
    model = build_model(name, device="cpu")
    input_size = size or model.input_size
    module = model.module.train()
    x = torch.randn(batch, *input_size)
    opt = make_optimizer(optimizer, [p for p in module.parameters() if p.requires_grad])
    start = time.process_time()
    allocator = cpu_step_peak(module, (x,), {}, opt)
    seconds = time.process_time() - start
    ours = analyze_training(build_model(name).module, input_size, batch, optimizer=optimizer, device="cpu")
    hidden = allocator - ours.memory.peak_bytes
    return {"model": name, "input": "x".join(map(str, input_size)), "batch": batch, "optimizer": optimizer.value,
            "optimizer_impl": ours.memory.optimizer_impl.value, "allocator_peak_bytes": allocator,
            "estimated_peak_bytes": ours.memory.peak_bytes, "below_aten_bytes": hidden,
            "below_aten_share": hidden / allocator, "peak_phase": ours.memory.peak_phase.value,
            "cpu_seconds": round(seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated zoo names (default: every zoo model)")
    parser.add_argument("--input", help="CxHxW for every model (default: each model's own)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--optimizers", default="sgd", help="comma-separated: sgd, momentum, adam, adamw")
    parser.add_argument("--jsonl", help="write one JSON row per case here")
    args = parser.parse_args()
    names = args.models.split(",") if args.models else [info.name for info in list_models()]
    size = parse_input_size(args.input) if args.input else None
    optimizers = [Optimizer.parse(o) for o in args.optimizers.split(",")]
    rows = []
    out = open(args.jsonl, "w", encoding="utf-8") if args.jsonl else None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; bytes")
    print(f"{'model':32} {'input':>10} {'opt':>8} {'allocator':>14} {'ours':>14} {'below aten':>12} {'share':>8}")
    for name in names:
        for optimizer in optimizers:
            try:
                row = measure(name, size, args.batch, optimizer)
            except Exception as exc:  # a model that cannot train at this size: named, and the sweep goes on
                print(f"{name:32} error: {first_line(exc)}")
                continue
            rows.append(row)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()
            print(f"{name:32} {row['input']:>10} {optimizer.value:>8} {row['allocator_peak_bytes']:>14,} "
                  f"{row['estimated_peak_bytes']:>14,} {row['below_aten_bytes']:>12,} {row['below_aten_share']:>8.3%}",
                  flush=True)
    if rows:
        exact = sum(1 for r in rows if r["below_aten_bytes"] == 0)
        worst = max(rows, key=lambda r: r["below_aten_share"])
        print(f"{len(rows)} cases: {exact} exact to the byte; the most below aten: {worst['model']} "
              f"{worst['below_aten_bytes']:,} B ({worst['below_aten_share']:.3%} of its peak)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
