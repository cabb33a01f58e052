"""Cold command-line cost (issue 16: within 1.5 s and 100 MB of a bare `import torch`), each command in fresh processes.

Usage: python bench/cold_cli.py [--runs 5]

Every command runs `--runs` times, each in a new process; the table shows the median wall time and the median peak
RSS of those runs, and the difference from `python -c "import torch"` measured the same way. Wall time and peak RSS
come from bench/analyzer_speed.py's `process_cost` (GNU `/usr/bin/time -f %M`); where that program is missing, from
`os.wait4` on each child (its own `ru_maxrss`, not a sum over children).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from analyzer_speed import ROOT, child_env, process_cost  # noqa: E402

TARGET_S = 1.5
TARGET_MB = 100.0
GNU_TIME = Path("/usr/bin/time")
BASELINE = ("import torch", ["-c", "import torch"])
COMMANDS = (
    ("python -m explorer summary resnet50", ["-m", "explorer", "summary", "resnet50"]),
    ("python -m explorer summary vgg16 --input 3x224x224", ["-m", "explorer", "summary", "vgg16", "--input", "3x224x224"]),
    ("python -m explorer --help", ["-m", "explorer", "--help"]),
)


@dataclass(frozen=True)
class Cost:
    command: str
    wall_s: float  # median over the runs
    peak_mb: float  # median over the runs, MiB


def wait4_cost(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall time (s) and peak RSS (MiB) of `argv`, read from each child's own rusage."""
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        times.append(time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {child.stderr.read().decode().strip().splitlines()[-1:]}")
        peaks.append(usage.ru_maxrss / 1024)  # Linux reports KiB
    return statistics.median(times), statistics.median(peaks)


def measure(label: str, python_args: list[str], runs: int) -> Cost:
    argv = [sys.executable, *python_args]
    wall_s, peak_mb = process_cost(argv, runs) if GNU_TIME.exists() else wait4_cost(argv, runs)
    return Cost(label, wall_s, peak_mb)


def within_target(cost: Cost, baseline: Cost) -> bool:
    return cost.wall_s - baseline.wall_s <= TARGET_S and cost.peak_mb - baseline.peak_mb <= TARGET_MB


def markdown(costs: Sequence[Cost], baseline: Cost, runs: int) -> str:
    out = [f"Median of {runs} fresh processes each; target: within {TARGET_S:g} s and {TARGET_MB:g} MB of "
           "`import torch`.", "",
           "| command | wall s | peak MB | Δ s | Δ MB | within target |", "|---|---:|---:|---:|---:|---|",
           f"| `{baseline.command}` | {baseline.wall_s:.2f} | {baseline.peak_mb:.0f} | — | — | — |"]
    for c in costs:
        out.append(f"| `{c.command}` | {c.wall_s:.2f} | {c.peak_mb:.0f} | {c.wall_s - baseline.wall_s:+.2f} | "
                   f"{c.peak_mb - baseline.peak_mb:+.0f} | {'yes' if within_target(c, baseline) else 'no'} |")
    return "\n".join(out)


class ArgumentError(ValueError):
    """A bad command-line value: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own complaints, as one line too
        raise ArgumentError(message)


def parse_runs(argv: Sequence[str] | None) -> int:
    parser = _Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="5", help="fresh processes per command (default 5)")
    text = parser.parse_args(argv).runs
    # ASCII digits only (`isdigit` also takes '²' and '٣'); not analyzers.numbers, which would load torch here
    runs = int(text) if re.fullmatch(r"[0-9]{1,6}", text) else 0
    if runs < 1:
        raise ArgumentError(f"--runs must be a whole number of at least 1, got {text!r}")
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    try:
        runs = parse_runs(argv)
    except ArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    baseline = measure(*BASELINE, runs)
    costs = [measure(label, args, runs) for label, args in COMMANDS]
    print(markdown(costs, baseline, runs))
    how = "/usr/bin/time" if GNU_TIME.exists() else "os.wait4"
    print(f"\nPeak RSS from {how}; load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
