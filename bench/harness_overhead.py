"""Does the harness add time? Time one model with `run_sweep` and with a plain hand-written loop, and compare.

Both sides use the same settings (eval, inference mode, cuDNN autotuning, dtype, layout, warm-up, iterations) and
report the median per-iteration latency. Rounds alternate between them, and the verdict is the median over rounds
of harness ÷ plain within a round, so drift in clocks or machine load hits both sides of each ratio alike.
The harness passes when that ratio is within 2% of 1.

    python bench/harness_overhead.py [--model NAME] [--batch N] [--device cpu|cuda] [--iters N] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere in the repository

import torch  # noqa: E402
from torch import nn  # noqa: E402

from analyzers.bench.schema import BenchStatus  # noqa: E402
from analyzers.bench.harness import BenchConfig, default_device, run_sweep  # noqa: E402
from analyzers.devices import Precision, tf32_math  # noqa: E402
from explorer.cli.common import non_negative_int, positive_int  # noqa: E402
from explorer.zoo import build_model  # noqa: E402

TOLERANCE = 0.02


def build(name: str, device: torch.device) -> nn.Module:
    return build_model(name, device=device).module


def harness_ms(config: BenchConfig) -> tuple[float, float]:
    """Median and fastest iteration of one harness run, in ms."""
    with tempfile.TemporaryDirectory() as folder:
        (row,) = run_sweep([config], build, Path(folder) / "rows.csv", counter=None, progress=False)
    if row.status is not BenchStatus.OK:
        raise SystemExit(f"harness run failed: {row.status} {row.error_message or ''}".rstrip())
    return row.latency_ms_p50, row.latency_ms_min


def plain_loop_ms(config: BenchConfig) -> tuple[float, float]:
    """The loop one would write by hand: synchronise, perf_counter, forward, synchronise, perf_counter."""
    device = torch.device(config.device)
    dtype = config.dtype.torch_dtype
    model = build(config.model, device).eval().to(dtype=dtype, memory_format=config.torch_memory_format)
    x = torch.randn(config.batch, *config.input_size, device=device, dtype=dtype)
    x = x.contiguous(memory_format=config.torch_memory_format)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.backends.cudnn.benchmark = True
    times = []
    with torch.inference_mode(), tf32_math(device, config.dtype is Precision.TF32):
        for _ in range(config.warmup):
            model(x)
        sync()
        for _ in range(config.iters):
            start = time.perf_counter()
            model(x)
            sync()
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="inception_5x5_bottleneck", help="a zoo model name")
    parser.add_argument("--batch", type=positive_int, default=8)
    parser.add_argument("--dtype", default="fp32", choices=[p.value for p in Precision])
    parser.add_argument("--device", default=default_device())
    parser.add_argument("--iters", type=positive_int, default=100)
    parser.add_argument("--warmup", type=non_negative_int, default=20)
    parser.add_argument("--rounds", type=positive_int, default=15)
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    input_size = build_model(args.model).input_size
    config = BenchConfig(
        model=args.model,
        batch=args.batch,
        input_size=input_size,
        dtype=args.dtype,
        device=args.device,
        iters=args.iters,
        warmup=args.warmup,
    )
    harness_runs, plain_runs = [], []
    for round_index in range(args.rounds):
        if round_index % 2:  # alternate which side goes first, so neither always runs on a warmer machine
            plain_runs.append(plain_loop_ms(config))
            harness_runs.append(harness_ms(config))
        else:
            harness_runs.append(harness_ms(config))
            plain_runs.append(plain_loop_ms(config))
    harness = [p50 for p50, _ in harness_runs]
    plain = [p50 for p50, _ in plain_runs]
    ratio = statistics.median(h / p for h, p in zip(harness, plain))
    fastest_ratio = min(m for _, m in harness_runs) / min(m for _, m in plain_runs)
    print(f"model {args.model}, batch {args.batch}, {args.dtype}, {args.device}: "
          f"{args.rounds} rounds × {args.iters} iterations")  # fmt: skip
    for label, values in (("harness p50   ", harness), ("plain loop p50", plain)):
        rounds = ", ".join(f"{v:.3f}" for v in values)
        print(f"{label}  median {statistics.median(values):.4f} ms  (rounds: {rounds})")
    verdict = "within" if abs(ratio - 1) <= TOLERANCE else "OUTSIDE"
    print(f"harness / plain, fastest iteration of all rounds = {fastest_ratio:.4f}")
    print(f"harness / plain, median of per-round ratios = {ratio:.4f} ({verdict} the {TOLERANCE:.0%} target)")
    return 0 if verdict == "within" else 1


if __name__ == "__main__":
    sys.exit(main())
