"""`python -m explorer bench NAME…`: time zoo models (or torchvision:/timm: models) and append the rows to a CSV.

Every value is checked here, before any model is built, so a typo costs one line on stderr and exit status 2
instead of a half-run sweep. The sweep itself is `analyzers.bench.harness.run_sweep`.
"""

from __future__ import annotations

import argparse
import sys

import torch

from analyzers.bench.harness import BenchConfig, BenchResult, run_sweep
from analyzers.bench.schema import BenchStatus
from analyzers.devices import peak_for
from analyzers.errors import UserError, first_line
from explorer.cli.bench_configs import build_configs, build_for_bench, measured_peak, train_results_path
from explorer.cli.common import CliError, timeout_seconds
from explorer.cli.executor_options import add_executor_arguments
from explorer.cli.training import OPTIMIZERS
from explorer.ui.human import binary_bytes

__all__ = ["BENCH_TIMEOUT_S", "DEFAULT_CSV", "add_bench_arguments", "add_parser", "run", "run_bench"]

BENCH_TIMEOUT_S = 600  # per configuration: 50 iterations of a large model on a CPU take minutes, never ten
DEFAULT_CSV = "bench_results.csv"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the `bench` sub-command. Values are parsed in `run` so that every error is one line."""
    parser = subparsers.add_parser(
        "bench",
        help="time models on this machine: latency, throughput, memory, achieved TFLOP/s, roofline",
        description="Benchmark models and append one row per configuration to a results CSV "
        "(re-running skips rows already there).",
    )
    parser.add_argument("models", nargs="+", metavar="NAME", help="zoo model names, or torchvision:NAME / timm:NAME")
    parser.add_argument("--batch", default="1", help="batch sizes, comma-separated (default 1), e.g. 1,32,256")
    parser.add_argument("--input", default=None, help="input C×H×W as CxHxW, e.g. 3x224x224 (default: the model's)")
    parser.add_argument("--dtype", default="fp32", help="fp32 | tf32 | bf16 | fp16 (default fp32; tf32 on cuda only)")
    parser.add_argument("--channels-last", action="store_true", help="feed and run the model in channels_last layout")
    parser.add_argument("--compile", action="store_true", help="run torch.compile(model); compilation is not timed")
    parser.add_argument("--device", default=None, help="cuda | cpu (default: cuda when available, else cpu)")
    parser.add_argument("--iters", default="50", help="timed iterations per configuration (default 50)")
    parser.add_argument("--warmup", default="10", help="untimed warm-up iterations (default 10)")
    parser.add_argument("--peak", choices=("spec", "measured"), default="spec",
                        help="%% of peak and roofline against the spec sheet (default) or a measured matmul/copy probe "
                        "(the only option for CPUs, which have no spec entry)")
    parser.add_argument("--csv", default=DEFAULT_CSV, help=f"results file to append to (default {DEFAULT_CSV})")
    parser.add_argument("--timeout", type=timeout_seconds, default=BENCH_TIMEOUT_S, metavar="SECONDS",
                        help=f"limit per configuration (counting, build, warm-up, timing) and on the peak probe; a "
                        f"configuration over it is an error row (default {BENCH_TIMEOUT_S}, 0: none)")
    add_bench_arguments(parser)  # --train [--optimizer]: a timed training step, measured peak beside the estimate
    add_executor_arguments(parser, gpu_kinds=True)  # --executor local|ray, --ray-address, --gpu-kinds
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the sweep the arguments describe; 2 for bad input, 1 if any row is an error, else 0."""
    if args.executor != "local" or args.ray_address or args.gpu_kinds:
        from explorer.cli.bench_cluster import run_on_cluster

        return run_on_cluster(args)
    if getattr(args, "train", False):
        return run_bench(args)
    try:
        configs = build_configs(args)
        lookup = peak_for if args.peak == "spec" else measured_peak(configs[0].dtype)
        results = run_sweep(configs, build_for_bench, args.csv, device_peak=lookup, time_limit_s=args.timeout)
    except UserError as exc:  # bad values, a results file that cannot be used or written (ResultsFileError)
        print(f"error: {first_line(exc)}", file=sys.stderr)  # the same one-line form as every other command
        return 2
    _print_summary(results, skipped=len(configs) - len(results), csv_path=args.csv)
    return 1 if any(r.status is BenchStatus.ERROR for r in results) else 0


def _print_summary(results: list[BenchResult], skipped: int, csv_path: str) -> None:
    """One line per new row on stdout, then where they went."""
    width = max([len("model"), *(len(r.model) for r in results)])
    if results:
        print(f"{'model':<{width}} {'batch':>5} {'dtype':<5} {'p50 ms':>9} {'images/s':>10} {'% peak':>7}  status")
    for r in results:
        p50 = f"{r.latency_ms_p50:9.3f}" if r.latency_ms_p50 is not None else f"{'':>9}"
        rate = f"{r.images_per_s:10.1f}" if r.images_per_s is not None else f"{'':>10}"
        pct = f"{r.pct_of_peak:7.1f}" if r.pct_of_peak is not None else f"{'':>7}"
        status = f"{r.status}: {r.error_message}" if r.error_message else r.status
        print(f"{r.model:<{width}} {r.batch:>5} {r.dtype:<5} {p50} {rate} {pct}  {status}")
    note = f", {skipped} already present (skipped)" if skipped else ""
    print(f"{len(results)} row(s) appended to {csv_path}{note}")


# ---------------------------------------------------------------- bench --train


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", action="store_true",
                        help="time a training step (forward + backward + optimizer) and put its measured peak memory "
                        "(CUDA) beside the estimate; rows go to <csv>_train.csv")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="with --train (default sgd)")


def run_bench(args: argparse.Namespace) -> int:
    """One timed training step per (model, batch); fp32 only (the estimate's mixed precision keeps fp16 weights
    with fp32 masters, which is not what autocast does).

    Each row is written through the one result-file writer the moment its configuration finishes (a kill keeps
    every finished row; a rerun skips them); a configuration that fails or runs past `--timeout` is one line on
    stderr and no row, so a rerun tries it again.
    """
    from analyzers.bench.result_schemas import TRAIN_BENCH_ROWS
    from analyzers.bench.results_file import ResultsFile

    try:
        configs = build_configs(args)
        if any(c.dtype.value != "fp32" for c in configs) or args.compile or args.channels_last:
            raise CliError("bench --train runs fp32 in NCHW without --compile")
        path = train_results_path(args.csv)
        with ResultsFile(path, TRAIN_BENCH_ROWS) as results:
            written, skipped, failed = _train_sweep(configs, args, results)
    except UserError as exc:
        print(f"error: {first_line(exc)}", file=sys.stderr)
        return 2
    note = f", {skipped} already present (skipped)" if skipped else ""
    print(f"{written} row(s) appended to {path}{note}")
    return 1 if failed else 0


def _train_sweep(configs: list[BenchConfig], args: argparse.Namespace, results) -> tuple[int, int, int]:
    """Time each configuration not in `results`, writing its row at once; (written, skipped, failed)."""
    from analyzers.bench.train_harness import bench_training_step
    from analyzers.devices import device_name
    from analyzers.time_limit import TimeLimitExceeded, time_limit
    from explorer.cli.common import print_line

    written = skipped = failed = 0
    names = {c.device: device_name(torch.device(c.device)) for c in configs}
    print_line(f"{'model':<16} {'batch':>5} {'step ms':>9} {'images/s':>9} {'measured peak':>14} {'estimate':>10} "
               f"{'error':>7}")
    for c in configs:
        key = {"model": c.model, "batch": c.batch, "input": c.input_label, "device": c.device,
               "device_name": names[c.device], "optimizer": args.optimizer}
        if key in results:
            skipped += 1
            continue
        try:
            with time_limit(args.timeout):
                r = bench_training_step(c.model, build_for_bench, c.input_size, c.batch, c.device, args.optimizer,
                                        iters=c.iters, warmup=c.warmup)
        except TimeLimitExceeded as exc:
            failed += 1
            print(f"error: {c.model} batch {c.batch}: stopped after {exc.seconds:g} s (--timeout); no row written",
                  file=sys.stderr)
            continue
        except Exception as exc:  # out of memory, a model that cannot train: this configuration, not the sweep
            failed += 1
            print(f"error: {c.model} batch {c.batch}: {type(exc).__name__}: {first_line(exc)}; no row written",
                  file=sys.stderr)
            continue
        error = r.estimate_error
        written += results.append({**key, "step_ms_p50": r.step_ms_p50, "images_per_s": r.images_per_s,
                                   "measured_peak_bytes": r.measured_peak_bytes,
                                   "estimated_peak_bytes": r.estimated_peak_bytes, "estimate_error": error,
                                   "estimated_saved_bytes": r.estimated_saved_bytes})
        measured = binary_bytes(r.measured_peak_bytes) if r.measured_peak_bytes else "— (no CUDA)"
        shown = f"{100 * error:+.1f}%" if error is not None else ""
        print_line(f"{r.model:<16} {r.batch:>5} {r.step_ms_p50:9.2f} {r.images_per_s:9.1f} {measured:>14} "
                   f"{binary_bytes(r.estimated_peak_bytes):>10} {shown:>7}")
    return written, skipped, failed
