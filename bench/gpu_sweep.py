"""The zoo-on-a-GPU sweep: our models vs torchvision's, eager vs compiled, bf16 vs fp32/tf32, ResNet-50's best.

Each part fits one short run on a lent GPU machine; all parts append to one results CSV (re-running resumes):
    python bench/gpu_sweep.py --part eager --csv assets/benchmarks/h200_2026-11-22.csv
    python bench/gpu_sweep.py --part compile --models resnet50,mobilenet_v2
    python bench/gpu_sweep.py --part torchvision | precision | best
`--smoke` runs a tiny CPU version of a part (lenet5, few iterations) to check the wiring without a GPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzers.bench.schema import BenchStatus, MemoryFormat  # noqa: E402
from analyzers.bench.harness import BenchConfig, run_sweep  # noqa: E402
from analyzers.devices import Precision  # noqa: E402
from explorer.cli.common import non_negative_int, positive_int  # noqa: E402
from explorer.cli.bench_configs import build_for_bench, default_input_size  # noqa: E402

MODELS = ("lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "resnet152", "googlenet", "inception_v3",
          "mobilenet_v1", "mobilenet_v2", "efficientnet_b0", "efficientnet_b4", "efficientnet_b7")
TORCHVISION_TWINS = ("alexnet", "vgg16", "resnet18", "resnet50", "resnet152", "googlenet", "inception_v3",
                     "mobilenet_v2", "efficientnet_b0", "efficientnet_b4", "efficientnet_b7")  # same names there
BATCHES = (1, 32, 256)
PARTS = ("eager", "compile", "torchvision", "precision", "best")


def configs_for(part: str, models: tuple[str, ...], device: str, iters: int, warmup: int) -> list[BenchConfig]:
    def config(name: str, batch: int, dtype: Precision, compiled: bool, memory_format: MemoryFormat) -> BenchConfig:
        return BenchConfig(model=name, batch=batch, input_size=default_input_size(name), dtype=dtype,
                           memory_format=memory_format, compile=compiled, device=device, iters=iters, warmup=warmup)

    bf16, channels_last = Precision.BF16, MemoryFormat.CHANNELS_LAST  # the fast settings
    if part in ("eager", "compile"):
        return [config(m, b, bf16, part == "compile", channels_last) for m in models for b in BATCHES]
    if part == "torchvision":
        twins = [f"torchvision:{m}" for m in models if m in TORCHVISION_TWINS]
        return [config(m, b, bf16, False, channels_last) for m in twins for b in BATCHES]
    if part == "precision":
        precisions = (Precision.FP32, Precision.TF32) if device != "cpu" else (Precision.FP32,)  # tf32: CUDA only
        return [config(m, b, p, False, MemoryFormat.NCHW) for m in ("resnet50", "vgg16") for p in precisions
                for b in BATCHES]
    return [config("resnet50", b, bf16, True, channels_last) for b in (256, 512, 1024)]  # "best"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS, required=True)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of the sweep's models")
    parser.add_argument("--csv", default="assets/benchmarks/gpu_sweep.csv")
    parser.add_argument("--iters", type=positive_int, default=50)
    parser.add_argument("--warmup", type=non_negative_int, default=10)
    parser.add_argument("--smoke", action="store_true", help="tiny CPU run of the part's wiring (lenet5, 2 iterations)")
    args = parser.parse_args()

    models = tuple(m for m in args.models.split(",") if m)
    device, iters, warmup = "cuda", args.iters, args.warmup
    if args.smoke:
        models, device, iters, warmup = ("lenet5",), "cpu", 2, 0
    configs = configs_for(args.part, models, device, iters, warmup)
    if args.smoke:
        configs = configs[:2]
    results = run_sweep(configs, build_for_bench, args.csv)
    failed = [r for r in results if r.status is not BenchStatus.OK]
    print(f"{len(results)} row(s) appended to {args.csv}; {len(failed)} not ok")
    for r in failed:
        print(f"  {r.model} batch {r.batch}: {r.status}" + (f": {r.error_message}" if r.error_message else ""))


if __name__ == "__main__":
    main()
