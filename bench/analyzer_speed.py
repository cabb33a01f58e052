"""Analysis speed and memory: ours vs fvcore's FlopCountAnalysis vs torch's FlopCounterMode, measured in one run.

Usage: python bench/analyzer_speed.py [--models resnet50,vgg16,lenet5] [--repeats 5]
       python bench/analyzer_speed.py --interleaved [--models resnet50,vgg16] [--repeats 15]

Each counter runs in a fresh process per model (cold = its first analysis there, including lazy imports; warm =
median of later ones) and reports the process's peak RSS. Then whole-process start-up costs of the CLI and of
analysing the whole zoo are compared with a bare `import torch`. Targets (2-core CPU): warm ResNet-50 ≤ 0.1 s,
VGG-16 ≤ 0.05 s, ≥ 5× faster than fvcore; CLI ≤ 1.5 s and ≤ 100 MB over `import torch`; zoo ≤ 5 s over it.

`--interleaved` is for a loaded machine: torchvision models (built on meta), ours and `FlopCounterMode` on meta
alternating in one process, each timed by process CPU time and reported as the minimum over `--repeats` runs, so
other processes' load and a one-off stall do not land on one side only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs inside a child process: build the model, time the counter cold then warm, print one JSON line.
CHILD = r"""
import json, resource, statistics, sys, time
import torch
counter, name, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
from explorer.zoo import build_model

zoo = build_model(name)
x_size = (1, *zoo.input_size)

if counter == "ours":
    from analyzers import analyze
    def count():
        return analyze(zoo.module, zoo.input_size).totals.macs
elif counter == "fvcore":
    from fvcore.nn import FlopCountAnalysis
    from analyzers.reports.crosscheck import _real_copy
    real = _real_copy(zoo.module)
    x = torch.zeros(x_size)
    def count():
        with torch.no_grad():
            c = FlopCountAnalysis(real, x)
            c.unsupported_ops_warnings(False); c.uncalled_modules_warnings(False)
            return int(c.total())
else:
    from torch.utils.flop_counter import FlopCounterMode
    x = torch.empty(x_size, device="meta")
    def count():
        with FlopCounterMode(display=False) as mode:
            zoo.module(x)
        return mode.get_total_flops() // 2

start = time.perf_counter(); value = count(); cold = time.perf_counter() - start
warm = []
for _ in range(repeats):
    start = time.perf_counter(); count(); warm.append(time.perf_counter() - start)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cold_s": cold, "warm_s": statistics.median(warm), "peak_mb": peak_mb, "macs": value}))
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def measure_counter(counter: str, model: str, repeats: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, counter, model, str(repeats)], capture_output=True,
                         text=True, check=True, cwd=ROOT, env=child_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def process_cost(argv: list[str], runs: int = 3) -> tuple[float, float]:
    """Median wall time (s) and peak RSS (MB) of a whole process."""
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, cwd=ROOT,
                                env=child_env())
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.strip().splitlines()[-1]}")
        peaks.append(int(result.stderr.strip().splitlines()[-1]) / 1024)
    return statistics.median(times), statistics.median(peaks)


INTERLEAVED_MODELS = "resnet50,vgg16,efficientnet_b0,efficientnet_b7,inception_v3,mobilenet_v2,convnext_tiny,vit_b_16"


def interleaved(models: list[str], repeats: int) -> None:
    """Ours vs FlopCounterMode (meta), alternating in this process; min process time of each (see the docstring)."""
    import warnings

    import torch
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    sys.path.insert(0, str(ROOT))
    from analyzers import analyze

    warnings.filterwarnings("ignore", category=FutureWarning)  # inception/googlenet's init-weights notice
    print(f"{'model':<16} {'ours ms':>8} {'FlopCounterMode ms':>19} {'ratio':>6}")
    for name in models:
        try:
            with torch.device("meta"):
                model = torchvision.models.get_model(name, weights=None).eval()
        except NotImplementedError:  # a builder that reads tensor values (regnet's widths): build on the CPU
            model = torchvision.models.get_model(name, weights=None).eval().to("meta")
        size = (3, 299, 299) if name == "inception_v3" else (3, 224, 224)
        x = torch.empty((1, *size), device="meta")

        def theirs() -> None:
            with FlopCounterMode(display=False), torch.no_grad():
                model(x)

        analyze(model, size)
        theirs()
        ours_s, theirs_s = [], []
        for _ in range(repeats):
            start = time.process_time()
            analyze(model, size)
            ours_s.append(time.process_time() - start)
            start = time.process_time()
            theirs()
            theirs_s.append(time.process_time() - start)
        print(f"{name:<16} {min(ours_s) * 1e3:>8.2f} {min(theirs_s) * 1e3:>19.2f} {min(theirs_s) / min(ours_s):>5.2f}×",
              flush=True)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from explorer.cli.common import positive_int

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=None, help="default resnet50,vgg16,lenet5 (interleaved: eight models)")
    parser.add_argument("--repeats", type=positive_int, default=None)
    parser.add_argument("--interleaved", action="store_true",
                        help="ours vs FlopCounterMode (meta) in one process, min process time (torchvision models)")
    args = parser.parse_args()
    if args.interleaved:
        interleaved((args.models or INTERLEAVED_MODELS).split(","), args.repeats or 15)
        return
    args.repeats = args.repeats or 5
    args.models = args.models or "resnet50,vgg16,lenet5"

    print(f"{'model':<10} {'counter':<16} {'cold s':>8} {'warm s':>8} {'peak MB':>8} {'MACs':>16}  ours faster (warm)")
    for model in args.models.split(","):
        results = {c: measure_counter(c, model, args.repeats) for c in ("ours", "fvcore", "flop_counter")}
        ours = results["ours"]["warm_s"]
        for counter, r in results.items():
            ratio = "" if counter == "ours" else f"{r['warm_s'] / ours:.1f}×"
            print(f"{model:<10} {counter:<16} {r['cold_s']:>8.3f} {r['warm_s']:>8.4f} {r['peak_mb']:>8.0f} "
                  f"{r['macs']:>16,}  {ratio}")

    torch_s, torch_mb = process_cost([sys.executable, "-c", "import torch"])
    cli_s, cli_mb = process_cost([sys.executable, "-m", "explorer", "summary", "vgg16", "--json"])
    zoo_s, zoo_mb = process_cost([sys.executable, "-m", "explorer", "summary", "--all", "--json"], runs=1)
    print(f"\nimport torch                          {torch_s:6.2f} s  {torch_mb:6.0f} MB")
    print(f"python -m explorer summary vgg16      {cli_s:6.2f} s  {cli_mb:6.0f} MB   "
          f"(+{cli_s - torch_s:.2f} s, +{cli_mb - torch_mb:.0f} MB over import torch; target ≤ 1.5 s, ≤ 100 MB)")
    print(f"python -m explorer summary --all      {zoo_s:6.2f} s  {zoo_mb:6.0f} MB   "
          f"(+{zoo_s - torch_s:.2f} s over import torch; target ≤ 5 s)")


if __name__ == "__main__":
    main()
