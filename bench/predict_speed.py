"""What a time prediction costs beside the analysis it reads (target, issue 24: at most 10 % more).

For each model: the warm CPU time (`time.process_time`, median of repeats, which a loaded shared machine disturbs far
less than wall time) of `analyze` on the meta device, and of `predict` on that analysis (kernels from the records,
times per kernel, sums per layer). Prints both and their ratio.

Usage: python bench/predict_speed.py [--repeats 5] [--device rtx5090]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzers import analyze  # noqa: E402
from analyzers.predict.prediction import predict  # noqa: E402
from explorer.catalogue import build  # noqa: E402
from explorer.zoo import build_model  # noqa: E402

MODELS = ("resnet50", "vgg16", "mobilenet_v2", "efficientnet_b0", "googlenet", "inception_v3",
          "torchvision:convnext_tiny", "torchvision:swin_t", "torchvision:vit_b_16", "timm:vit_small_patch16_224",
          "timm:efficientnet_b3", "timm:regnety_016")


def cpu_ms(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        work()
        times.append((time.process_time() - started) * 1e3)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="rtx5090")
    args = parser.parse_args(argv)
    print(f"{'model':30s} {'analysis ms':>12s} {'prediction ms':>14s} {'ratio':>7s}")
    ratios = []
    for name in MODELS:
        built = build(name) if ":" in name else build_model(name)
        size = tuple(built.input_size)
        analysis = analyze(built.module, size, 1)  # warm: first-use costs are not the steady state
        predict(analysis, args.device)
        analysis_ms = cpu_ms(lambda: analyze(built.module, size, 1), args.repeats)
        predict_ms = cpu_ms(lambda: predict(analysis, args.device), args.repeats)
        ratios.append(predict_ms / analysis_ms)
        print(f"{name:30s} {analysis_ms:12.1f} {predict_ms:14.2f} {predict_ms / analysis_ms:7.1%}", flush=True)
    print(f"median prediction ÷ analysis: {statistics.median(ratios):.1%}, largest {max(ratios):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
