"""`bench … --executor ray [--gpu-kinds H100,H200,L4]` (and `bench --train …`): the sweep as one Ray task per
configuration (and GPU kind), each holding one whole GPU on a CUDA sweep; the rows come back here and are written
through the one result-file writer, labelled with the device each ran on.

The device is the cluster's, not this machine's: `--device` defaults to `cuda` with `--gpu-kinds` (the driver needs
no GPU) and to `cpu` without; `cpu` with kinds times the host CPUs of those nodes.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from analyzers.bench.results_file import ResultsFile
from analyzers.distributed.sweep import SweepSummary, row_status, run_units
from explorer.cli.common import CliError, print_line
from explorer.cli.executor_options import executor_from, gpu_kinds_from, print_failures

__all__ = ["run_on_cluster"]


def run_on_cluster(args: argparse.Namespace) -> int:
    """Run the sweep on the executor asked for; 1 when a row is an error or a configuration was not run."""
    from analyzers.bench.schema import BENCH_RESULTS
    from analyzers.bench.units import bench_task, bench_units, done_bench, done_training, train_task, train_units
    from analyzers.devices import peak_for
    from explorer.cli.bench_configs import build_configs, build_for_bench, measured_peak, train_results_path

    kinds = gpu_kinds_from(args)
    executor = executor_from(args)
    configs = build_configs(args, device=_cluster_device(args.device, kinds))
    if args.train:
        from analyzers.bench.result_schemas import TRAIN_BENCH_ROWS

        if any(c.dtype.value != "fp32" for c in configs) or args.compile or args.channels_last:
            raise CliError("bench --train runs fp32 in NCHW without --compile")
        path, schema, done, task = train_results_path(args.csv), TRAIN_BENCH_ROWS, done_training, train_task
        units = train_units(configs, build_for_bench, args.optimizer, gpu_kinds=kinds, time_limit_s=args.timeout)
    else:
        lookup = peak_for if args.peak == "spec" else measured_peak(configs[0].dtype)
        path, schema, done, task = Path(args.csv), BENCH_RESULTS, done_bench, bench_task
        units = bench_units(configs, build_for_bench, gpu_kinds=kinds, device_peak=lookup, time_limit_s=args.timeout)
    with ResultsFile(path, schema) as results:
        summary = run_units(units, task, executor, results, done=done, unit_name="config", keep_rows=True)
    _print_rows(summary, train=args.train)
    tail = print_failures(summary, "configuration(s)")
    note = f", {summary.skipped} already present (skipped)" if summary.skipped else ""
    print_line(f"{summary.written} row(s) appended to {path}{note}" + (f"; {tail}" if tail else ""))
    errors = sum(n for status, n in summary.statuses.items() if status != "ok")
    return 1 if errors or summary.failed else 0


def _cluster_device(text: str | None, kinds: tuple[str, ...]) -> str:
    if text is None:
        return "cuda" if kinds else "cpu"
    if not re.fullmatch(r"cpu|cuda", text):
        raise CliError(f"--device {text!r}: on a cluster expected cuda or cpu (each task is given one GPU, its cuda)")
    return text


def _print_rows(summary: SweepSummary, train: bool) -> None:
    """One line per new row, with the device it ran on (a cluster sweep mixes devices)."""
    if not summary.rows:
        return
    width = max(len("model"), *(len(str(row["model"])) for row in summary.rows))
    speed = "step_ms_p50" if train else "latency_ms_p50"
    print_line(f"{'model':<{width}} {'batch':>5} {'ms p50':>9} {'images/s':>10}  device")
    for row in summary.rows:
        ms, rate, status = row.get(speed), row.get("images_per_s"), row_status(row)
        failure = "" if status == "ok" else f"  {status}: {row.get('error_message') or ''}"
        print_line(f"{row['model']:<{width}} {row['batch']:>5} {f'{ms:9.3f}' if ms else ' ' * 9} "
                   f"{f'{rate:10.1f}' if rate else ' ' * 10}  {row['device_name']}{failure}")
