"""Fit the time model's parameters and write assets/time_model/parameters.json (what the predictions ship with).

Sets fitted, each on every usable row of its measurements (bench/time_model_data.py says which rows and why not):
  rtx5090, pro6000-maxq, rtx3090   inference on each measured GPU (timm's files)
  gpu                              the three GPUs together: the set any other datasheet GPU is predicted with
  rtx3090-train                    training steps on the RTX 3090 (timm's file, torch 1.12)
  cpu                              this machine's CPU, one thread, fp32 (assets/benchmarks/cpu-1thread-time-model.csv)

Usage:  python bench/fit_time_model.py                    (the shipped file; ~10 min of analysis on a cold cache)
        python bench/fit_time_model.py --limit 40 --out /tmp/p.json   (the first 40 rows of each file: a quick check)
The fit is deterministic: the same cache and CSVs give the same file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import time_model_data as data  # noqa: E402

from analyzers.predict.fit import fit_parameters  # noqa: E402
from analyzers.predict.parameters import GENERIC_GPU, PARAMETERS_FILE  # noqa: E402

SETS = ("rtx5090", "pro6000-maxq", "rtx3090", GENERIC_GPU, "rtx3090-train", "cpu")


def load_all(workers: int, limit: int | None) -> dict[str, data.Loaded]:
    loaded = {d.key: data.load_dataset(d, workers, limit) for d in data.DATASETS}
    loaded["cpu"] = data.load_cpu(workers, limit)
    return loaded


def describe(dataset: data.Dataset, rows: int) -> str:
    source = dataset.file if dataset.key != "cpu" else f"assets/benchmarks/{dataset.file}"
    return f"{rows:,} rows of {source} ({dataset.label})"


def fit_sets(loaded: dict[str, data.Loaded], names=SETS) -> dict[str, dict]:
    sets = {}
    for name in names:
        if name == GENERIC_GPU:
            parts = [d for d in data.DATASETS if d.mode is data.Mode.INFER]
            samples = [s for d in parts for s in loaded[d.key].samples]
            fitted_on = "; ".join(describe(d, len(loaded[d.key].samples)) for d in parts)
            device, software = None, parts[0]
        else:
            dataset = data.BY_KEY[name]
            samples = loaded[name].samples
            fitted_on = describe(dataset, len(samples))
            device, software = dataset.device, dataset
        started = time.process_time()
        result = fit_parameters(samples)
        print(f"{name:14s} {len(samples):5d} samples, {result.iterations:2d} iterations, "
              f"{time.process_time() - started:5.1f} s CPU: {result.parameters.as_dict()}", file=sys.stderr)
        sets[name] = {"device": device, "parameters": result.parameters.as_dict(),
                      "software": {"fused_attention": software.fused_attention,
                                   "foreach_optimizer": software.foreach_optimizer,
                                   "autocast": software.autocast},
                      "fitted_on": fitted_on, "samples": len(samples)}
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(PARAMETERS_FILE), help="where to write (default: the shipped file)")
    parser.add_argument("--workers", type=int, default=2, help="analysis processes for a cold cache (default 2)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N rows of each file")
    args = parser.parse_args(argv)
    loaded = load_all(args.workers, args.limit)
    for name, part in loaded.items():
        if part.skipped:
            print(f"{name}: left out {dict(part.skipped)}", file=sys.stderr)
    document = {"version": 1, "model": "analyzers.predict.time_model", "sets": fit_sets(loaded)}
    Path(args.out).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
