"""Rows per second of the atlas on the local executor and on Ray (started on this machine, its start-up included),
for the torchvision catalogue and for folders of generated Hugging Face configs, and, from the per-row cost, what a
100,000-config atlas would take on N nodes.

Each run is the real command (`python -m explorer atlas … --no-progress`) in a fresh process, into a fresh file.
Timed two ways: wall clock, and process CPU time of the whole process tree (the command, its worker processes, and
for Ray its daemons: GCS, raylet, agents), sampled every 0.1 s per process, so a run on a loaded machine still gives
its true work (a process's last < 0.1 s is missed). Two folder sizes give the cost of one more row (the slope) apart
from what a run pays once (the intercept: imports, worker and Ray start-up).

    python bench/distributed_speed.py [--configs 100,400] [--workers 2] [--no-torchvision] [--csv FILE]

The driver writes every row itself (`analyzers.bench.results_file`; rows that come back together in one write and
one fsync): its CPU per row is printed apart, since at enough nodes the driver, not the workers, sets the pace.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from hf_configs import write_configs  # noqa: E402

PROJECTED_CONFIGS = 100_000
CORES_PER_NODE = 16  # a common cloud node; the projection scales with N × cores


@dataclass(frozen=True)
class Run:
    catalogue: str
    executor: str
    rows: int
    wall_s: float
    cpu_s: float  # the whole process tree
    driver_cpu_s: float  # the command's own process: listing, scheduling, writing rows
    load: float  # 1-minute load average at the end

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s


class TreeCpu:
    """CPU seconds of a process and all its descendants, sampled every `period` seconds from another thread."""

    def __init__(self, pid: int, period: float = 0.1) -> None:
        self.root = pid
        self.period = period
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.root)
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                processes = []
            for process in processes:
                try:
                    times = process.cpu_times()
                    self.last[process.pid] = times.user + times.system
                except psutil.Error:
                    continue
            self._stop.wait(self.period)

    @property
    def total(self) -> float:
        return sum(self.last.values())

    @property
    def own(self) -> float:
        return self.last.get(self.root, 0.0)


def run_atlas(catalogue: str, executor: str, workers: int, jsonl: Path, extra: list[str]) -> Run:
    command = [sys.executable, "-m", "explorer", "atlas", catalogue, "--jsonl", str(jsonl), "--no-progress",
               "--workers", str(workers), "--executor", executor, *extra]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeCpu(process.pid) as cpu:
        out, err = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}): {err[-2000:]}")
    rows = sum(1 for _ in jsonl.open(encoding="utf-8"))
    print(f"  {catalogue:<11} {executor:<5} {rows:>5} rows {wall:7.1f} s wall {cpu.total:7.1f} CPU-s "
          f"(command {cpu.own:5.1f}) load {os.getloadavg()[0]:.1f}: {out.strip()}", file=sys.stderr, flush=True)
    return Run(catalogue, executor, rows, wall, cpu.total, cpu.own, os.getloadavg()[0])


def fsync_ms(folder: Path, rows: int = 200) -> float:
    """Milliseconds the one writer takes to append one atlas row (a write and an fsync) on this disk, median."""
    from analyzers.bench.result_schemas import ATLAS_ROWS
    from analyzers.bench.results_file import ResultsFile
    from explorer.atlas import AtlasRow

    times = []
    with ResultsFile(folder / "fsync.jsonl", ATLAS_ROWS) as results:
        for index in range(rows):
            row = AtlasRow("hf", f"m{index}", params=1, macs=1).to_values()
            start = time.perf_counter()
            results.append(row)
            times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="100,400", help="two folder sizes of generated configs (default 100,400)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, and the CPUs of the Ray started")
    parser.add_argument("--no-torchvision", action="store_true", help="only the Hugging Face configs")
    parser.add_argument("--csv", type=Path, help="also write the runs here")
    args = parser.parse_args()
    small, large = (int(n) for n in args.configs.split(","))
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="dspeed") as folder:
        work = Path(folder)
        for size in (small, large):
            write_configs(work / f"configs{size}", size, seed=size)
        print(f"atlas runs, {args.workers} worker(s), on {os.cpu_count()} core(s):", file=sys.stderr)
        for executor in ("local", "ray"):
            if not args.no_torchvision:
                runs.append(run_atlas("torchvision", executor, args.workers, work / f"tv-{executor}.jsonl", []))
            for size in (small, large):
                runs.append(run_atlas("hf", executor, args.workers, work / f"hf{size}-{executor}.jsonl",
                                      ["--configs", str(work / f"configs{size}")]))
        write_ms = fsync_ms(work)
    if args.csv:
        with args.csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*asdict(runs[0]), "rows_per_s"])
            writer.writeheader()
            for run in runs:
                writer.writerow({**asdict(run), "rows_per_s": round(run.rows_per_s, 3)})
    report(runs, small, large, args.workers, write_ms)


def report(runs: list[Run], small: int, large: int, workers: int, write_ms: float) -> None:
    print("\n| catalogue | executor | rows | wall s | rows/s (wall) | CPU-s (all processes) | CPU-s per row | "
          "driver CPU-s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        name = r.catalogue if r.catalogue != "hf" else f"hf ({r.rows} configs)"
        print(f"| {name} | {r.executor} | {r.rows} | {r.wall_s:.1f} | {r.rows_per_s:.2f} | {r.cpu_s:.1f} | "
              f"{r.cpu_s / r.rows:.3f} | {r.driver_cpu_s:.1f} |")
    print(f"\nOne row appended and fsynced by the driver: {write_ms:.2f} ms (median of 200).")
    print(f"\nPer hf row, from the slope between {small} and {large} configs, and {PROJECTED_CONFIGS:,} configs on N "
          f"nodes of {CORES_PER_NODE} cores:")
    for executor in ("local", "ray"):
        by_size = {r.rows: r for r in runs if r.catalogue == "hf" and r.executor == executor}
        a, b = by_size.get(small), by_size.get(large)
        if a is None or b is None:
            continue
        per_row = (b.cpu_s - a.cpu_s) / (b.rows - a.rows)
        fixed = a.cpu_s - a.rows * per_row
        driver_per_row = (b.driver_cpu_s - a.driver_cpu_s) / (b.rows - a.rows)
        print(f"  {executor}: {per_row * 1e3:.1f} CPU-ms per row in all, of it {driver_per_row * 1e3:.1f} in the "
              f"driver; {fixed:.1f} CPU-s once per run")
        if executor != "ray":
            continue
        worker_per_row = per_row - driver_per_row
        ceiling = 1 / driver_per_row  # rows a second one driver takes in and writes (writes batch when rows pile up)
        for nodes in (1, 4, 16, 64):
            workers_rate = nodes * CORES_PER_NODE / worker_per_row
            rate = min(workers_rate, ceiling)
            print(f"    N = {nodes:>2}: the workers {workers_rate:6.0f} rows/s, the driver at most {ceiling:4.0f} → "
                  f"{PROJECTED_CONFIGS / rate / 60:5.1f} min for the rows, plus the start-up")

if __name__ == "__main__":
    main()
