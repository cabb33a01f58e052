"""`python -m explorer bench NAME…`: time zoo models (or torchvision:/timm: models) and append the rows to a CSV.

Every value is checked here, before any model is built, so a typo costs one line on stderr and exit status 2
instead of a half-run sweep. The sweep itself is `analyzers.bench.harness.run_sweep`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from analyzers.bench.harness import BenchConfig, BenchResult, default_device, run_sweep
from analyzers.bench.schema import BenchStatus, MemoryFormat
from analyzers.devices import DevicePeak, Precision, measure_peak, peak_for
from analyzers.errors import UserError, first_line
from analyzers.numbers import whole_number
from explorer.cli.common import CliError, timeout_seconds
from explorer.cli.training import OPTIMIZERS
from explorer.ui.human import binary_bytes

__all__ = [
    "BENCH_TIMEOUT_S", "CPU_PROBE_SECONDS_PER_CALL", "DEFAULT_CSV", "FALLBACK_INPUT", "LIBRARY_PREFIXES", "MAX_COUNT",
    "add_bench_arguments", "add_parser", "build_configs", "build_for_bench", "default_input_size", "measured_peak",
    "parse_batches", "parse_input_size", "run", "run_bench", "train_results_path",
]

LIBRARY_PREFIXES = ("torchvision:", "timm:")  # built by explorer.catalogue, as `summary` builds them
BENCH_TIMEOUT_S = 600  # per configuration: 50 iterations of a large model on a CPU take minutes, never ten
CPU_PROBE_SECONDS_PER_CALL = 0.25
FALLBACK_INPUT = (3, 224, 224)  # ImageNet's eval crop, for a library model that does not say its own image size
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
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the sweep the arguments describe; 2 for bad input, 1 if any row is an error, else 0."""
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


def measured_peak(precision: Precision) -> Callable[[torch.device], DevicePeak]:
    """A peak lookup that probes the device once: a square matmul in the sweep's dtype and a device copy.

    Sizes are scaled to the device so the probe takes seconds: 8192² on a GPU; on a CPU up to 2048², smaller where
    a call would take over a quarter of a second (fp16 and bf16 on CPUs without half-precision units).
    """

    def probe(device: torch.device) -> DevicePeak:
        cpu = device.type == "cpu"
        return measure_peak(device, precisions=(precision,), matmul_size=2048 if cpu else 8192,
                            copy_bytes=(256 << 20) if cpu else (1 << 30), repeats=3 if cpu else 10,
                            seconds_per_call=CPU_PROBE_SECONDS_PER_CALL if cpu else None)

    return probe


def build_configs(args: argparse.Namespace) -> list[BenchConfig]:
    """Every (model, batch) configuration the arguments ask for, validated."""
    batches = parse_batches(args.batch)
    precision = _parse_precision(args.dtype, "--dtype")
    device = _parse_device(args.device)
    iters = _parse_count(args.iters, "--iters", minimum=1)
    warmup = _parse_count(args.warmup, "--warmup", minimum=0)
    explicit_input = parse_input_size(args.input) if args.input is not None else None
    if precision is Precision.TF32 and torch.device(device).type != "cuda":
        raise CliError("--dtype tf32 is a CUDA tensor-core mode; on cpu use fp32")
    memory_format = MemoryFormat.CHANNELS_LAST if args.channels_last else MemoryFormat.NCHW
    configs = []
    for name in args.models:
        input_size = explicit_input or default_input_size(name)
        for batch in batches:
            configs.append(
                BenchConfig(
                    model=name,
                    batch=batch,
                    input_size=input_size,
                    dtype=precision,
                    memory_format=memory_format,
                    compile=args.compile,
                    device=device,
                    iters=iters,
                    warmup=warmup,
                )
            )
    return configs


def parse_batches(text: str) -> list[int]:
    """'1,32,256' → [1, 32, 256]; each a positive integer a results file can hold, no repeats."""
    batches = [whole_number(p.strip()) for p in text.split(",")]
    if any(b is None or not 1 <= b <= MAX_COUNT for b in batches):
        raise CliError(f"--batch {text!r}: expected positive integers up to {MAX_COUNT:,} separated by commas, e.g. "
                       "1,32,256")
    return list(dict.fromkeys(batches))  # type: ignore[arg-type]


MAX_COUNT = 2**63 - 1  # batches and iterations are 64-bit integers in a results file


def parse_input_size(text: str) -> tuple[int, int, int]:
    """'3x224x224' → (3, 224, 224): the shared parser (analyzers.counting.inputs), held to the three sizes of an image."""
    from analyzers.counting.inputs import parse_input_size as parse

    c, h, w = parse(text, dimensions=(3, 3))
    return (c, h, w)


def default_input_size(name: str) -> tuple[int, int, int]:
    """The input a model is meant for; a `UserError` for a name that does not resolve."""
    if name.startswith(LIBRARY_PREFIXES):
        size = _library_model(name, torch.device("meta")).input_size
        return (size[0], size[1], size[2]) if size is not None and len(size) == 3 else FALLBACK_INPUT
    from explorer.zoo import get_model_info

    return get_model_info(name).default_input()


def build_for_bench(name: str, device: torch.device) -> nn.Module:
    """The model factory the harness calls: real random-init weights on `device` (or meta, for counting)."""
    if name.startswith(LIBRARY_PREFIXES):
        return _library_model(name, device).module
    from explorer.zoo import build_model

    return build_model(name, device=device).module


def _library_model(ref: str, device: torch.device):
    """The catalogue's model (the architecture its default weights describe), on `device`."""
    from explorer.catalogue import build

    try:
        return build(ref, device=device)
    except Exception as exc:  # a missing package, an unknown name: all are the user's input to fix
        raise CliError(f"{ref}: {first_line(exc)}") from None


def _parse_precision(text: str, flag: str) -> Precision:
    try:
        return Precision(text.lower())
    except ValueError:
        allowed = " | ".join(member.value for member in Precision)
        raise CliError(f"{flag} {text!r}: expected one of {allowed}") from None


def _parse_device(text: str | None) -> str:
    if text is None:
        return default_device()
    if not re.fullmatch(r"cpu|cuda(:[0-9]{1,3})?", text):
        raise CliError(f"--device {text!r}: expected cuda or cpu")
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise CliError("--device cuda: CUDA is not available on this machine; use --device cpu")
    if text.startswith("cuda:") and int(text.split(":")[1]) >= torch.cuda.device_count():
        raise CliError(f"--device {text}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return text


def _parse_count(text: str, flag: str, minimum: int) -> int:
    value = whole_number(str(text).strip())
    if value is None or not minimum <= value <= MAX_COUNT:
        raise CliError(f"{flag} {text!r}: expected an integer from {minimum} to {MAX_COUNT:,}")
    return value


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


def train_results_path(csv_path: str) -> Path:
    """`bench_results.csv` → `bench_results_train.csv`: training rows have their own schema and file."""
    path = Path(csv_path)
    return path.with_name(f"{path.stem}_train{path.suffix or '.csv'}")


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
