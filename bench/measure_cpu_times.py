"""Measure forward times of ~35 zoo and catalogue models on this machine's CPU, for the time model's CPU validation.

The machine is shared (2 cores, up to 7 engineers), so wall-clock latency is what other people's work makes of it.
This script measures what the model itself costs: one intra-op thread (`torch.set_num_threads(1)`), the process's
CPU time (`time.process_time`, which does not advance while the scheduler runs someone else), the fastest of
several repeats (the repeat least disturbed by cache and memory-bandwidth contention), and /proc/loadavg beside
each row so a reader can see how busy the machine was. On a quiet machine process time and wall time agree to a few
per cent; both are written.

Rows follow the results schema of `python -m explorer bench` (`analyzers.bench.schema`), so the Benchmarks page and
`predict --calibrate` read them, with four extra columns: `clock` (process_cpu), `threads`, `loadavg_1m` and
`wall_ms_min`. `latency_ms_min` is the fastest repeat's CPU time, `latency_ms_p50` the median repeat's. They are
written by the one result-file writer (`analyzers.bench.results_file`): checked, locked, each as it finishes.

Usage:  python bench/measure_cpu_times.py --csv assets/benchmarks/cpu-1thread-time-model.csv
        python bench/measure_cpu_times.py --models resnet18,timm:convnext_atto --batches 1,32 --csv out.csv
Rows already in the file are skipped (a rerun resumes). The peak (a 2048² fp32 matmul and a 256 MiB copy, one
thread) is measured once per run and written into every row.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from analyzers.bench.harness import BenchConfig, count_with_analyzer, describe_environment  # noqa: E402
from analyzers.bench.results_file import ResultsFile  # noqa: E402
from analyzers.bench.row_schema import Column, Kind  # noqa: E402
from analyzers.bench.schema import BENCH_RESULTS, BenchStatus, MemoryFormat  # noqa: E402
from analyzers.devices import DevicePeak, Precision, measure_peak  # noqa: E402
from analyzers.errors import first_line  # noqa: E402
from analyzers.predict.roofline import model_bound  # noqa: E402

# A spread of layer kinds: plain and residual convnets, grouped and depthwise convs, Inception branches, dense
# blocks, squeeze-excite, transformers (attention, layer norm, GELU), MLP-Mixer, pooling-only token mixers.
MODELS = (
    "lenet5", "alexnet", "vgg11", "resnet18", "resnet50", "resnext50_32x4d", "mobilenet_v1", "mobilenet_v2",
    "efficientnet_b0", "googlenet", "inception_v3", "resnet56_cifar", "wide_resnet16_8_cifar", "nin",
    "torchvision:squeezenet1_1", "torchvision:shufflenet_v2_x1_0", "torchvision:mnasnet1_0",
    "torchvision:mobilenet_v3_small", "torchvision:mobilenet_v3_large", "timm:regnety_004",
    "torchvision:densenet121", "torchvision:convnext_tiny",
    "timm:deit_tiny_patch16_224", "timm:vit_small_patch16_224", "timm:convnext_atto", "timm:levit_128s",
    "timm:mobilevit_xs", "timm:ghostnet_100", "timm:poolformer_s12", "timm:mixer_s16_224", "timm:resnet18d",
    "timm:regnetx_002", "timm:lcnet_050", "timm:edgenext_x_small", "timm:tinynet_e", "timm:swin_tiny_patch4_window7_224",
)
CPU_TIME_ROWS = BENCH_RESULTS.extended(
    "a CPU time-model CSV",
    Column("clock", Kind.TEXT, allowed=("process_cpu",)),
    Column("threads", Kind.INT, minimum=1),
    Column("loadavg_1m", Kind.FLOAT, required=False, minimum=0),
    Column("wall_ms_min", Kind.FLOAT, required=False, positive=True),
)
MIN_REPEATS, MAX_REPEATS, TARGET_SECONDS = 3, 15, 1.5


def loadavg_1m() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def time_forward(model: torch.nn.Module, inputs: torch.Tensor) -> tuple[list[float], list[float]]:
    """CPU and wall milliseconds of each timed forward: one untimed call, then repeats until TARGET_SECONDS of CPU
    time or MAX_REPEATS (at least MIN_REPEATS)."""
    with torch.inference_mode():
        model(inputs)
        cpu_ms: list[float] = []
        wall_ms: list[float] = []
        while len(cpu_ms) < MIN_REPEATS or (sum(cpu_ms) < TARGET_SECONDS * 1e3 and len(cpu_ms) < MAX_REPEATS):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            model(inputs)
            cpu_ms.append((time.process_time() - cpu0) * 1e3)
            wall_ms.append((time.perf_counter() - wall0) * 1e3)
    return cpu_ms, wall_ms


def measure_row(name: str, batch: int, peak: DevicePeak) -> dict[str, object]:
    from explorer.cli.bench_configs import build_for_bench, default_input_size

    size = default_input_size(name)
    config = BenchConfig(model=name, batch=batch, input_size=size, dtype=Precision.FP32, device="cpu")
    environment = describe_environment("cpu")
    load = loadavg_1m()
    analysis = count_with_analyzer(build_for_bench(name, torch.device("meta")), config)
    model = build_for_bench(name, torch.device("cpu")).eval()
    inputs = torch.randn(batch, *size, generator=torch.Generator().manual_seed(0))
    status, message, cpu_ms, wall_ms = BenchStatus.OK, None, [], []
    try:
        cpu_ms, wall_ms = time_forward(model, inputs)
    except Exception as exc:  # one failed model must not end the run
        status, message = BenchStatus.ERROR, first_line(exc)
    flops = analysis.totals.flops
    p50 = statistics.median(cpu_ms) if cpu_ms else None
    fastest = min(cpu_ms) if cpu_ms else None
    roofline = model_bound(analysis, peak, Precision.FP32).bound_ms
    row: dict[str, object] = {
        "model": name, "batch": batch, "input_size": config.input_label, "dtype": Precision.FP32,
        "memory_format": MemoryFormat.NCHW, "compile": False, "device": "cpu",
        "device_name": f"{environment.device_name} (1 thread)", "status": status, "error_message": message,
        "latency_ms_p50": p50, "latency_ms_p95": max(cpu_ms) if cpu_ms else None, "latency_ms_min": fastest,
        "images_per_s": batch / (p50 / 1e3) if p50 else None, "peak_memory_bytes": None,
        "estimated_memory_bytes": analysis.totals.param_bytes + analysis.totals.activation_bytes,
        "memory_over_estimate": None, "flops": flops,
        "achieved_tflops": flops / (p50 / 1e3) / 1e12 if p50 else None,
        "peak_tflops": peak.fp32_tflops, "memory_gb_per_s": peak.memory_gb_per_s, "peak_source": peak.source,
        "pct_of_peak": 100 * flops / (p50 / 1e3) / 1e12 / peak.fp32_tflops if p50 else None,
        "roofline_ms": roofline, "measured_over_roofline": p50 / roofline if p50 and roofline else None,
        "iters": len(cpu_ms), "warmup": 1, "driver": None, "torch_version": environment.torch_version,
        "cuda_version": None, "cudnn_version": None,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "clock": "process_cpu", "threads": 1, "loadavg_1m": round(load, 2) if load is not None else None,
        "wall_ms_min": min(wall_ms) if wall_ms else None,
    }
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", required=True, help="results file (created or resumed)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated names (default: the list above)")
    parser.add_argument("--batches", default="1,32", help="comma-separated batch sizes (default 1,32)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    batches = [int(b) for b in args.batches.split(",")]
    with ResultsFile(args.csv, CPU_TIME_ROWS) as results:
        done = {(model, batch) for model, batch, *_ in results.keys()}
        todo = [(m, b) for m in models for b in batches if (m, b) not in done]
        if not todo:
            print(f"every row is already in {args.csv}")
            return 0
        peak = measure_peak("cpu", precisions=(Precision.FP32,), matmul_size=2048, copy_bytes=256 << 20, repeats=3)
        print(f"measured peak, 1 thread: {peak.fp32_tflops * 1e3:.1f} GFLOP/s fp32, {peak.memory_gb_per_s:.1f} "
              f"GB/s (load {loadavg_1m()})", flush=True)
        for name, batch in todo:
            try:
                row = measure_row(name, batch, peak)
            except Exception as exc:  # a model that cannot be built or counted: say so and go on
                print(f"{name:40s} {batch:3d} skipped: {first_line(exc)}", flush=True)
                continue
            results.append(row)  # on disk before the next model starts
            print(f"{name:40s} {batch:3d} {row['latency_ms_min']} ms cpu (wall {row['wall_ms_min']} ms, "
                  f"load {row['loadavg_1m']}) {row['status']} {row['error_message']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
