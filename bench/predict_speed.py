"""What a time prediction costs beside the analysis it reads (target, issue 24: at most 10 % more).

For each model, in each repeat: a freshly built module (not timed) is analysed on the meta device, and that
analysis is predicted once (kernels from the records, times per kernel, sums per layer), as a user's first look at
a model runs. Both are process CPU time (`time.process_time`, which a loaded shared machine disturbs far less than
wall time), the median of the repeats after one warm-up (first-use costs are not the steady state). Prints both
and their ratio. A prediction adds up its per-layer detail only when asked: `--rows` also builds the per-layer rows
a table shows (`prediction_rows`) and the bound shares, inside the timed prediction.

Usage: python bench/predict_speed.py [--repeats 5] [--device rtx5090] [--rows]
"""

from __future__ import annotations

import argparse
import statistics
import time

from analyzers import analyze  # noqa: E402
from analyzers.predict.prediction import predict  # noqa: E402
from analyzers.reports.prediction import prediction_rows  # noqa: E402
from explorer.catalogue import build  # noqa: E402
from explorer.zoo import build_model  # noqa: E402

MODELS = ("resnet50", "vgg16", "mobilenet_v2", "efficientnet_b0", "googlenet", "inception_v3",
          "torchvision:convnext_tiny", "torchvision:swin_t", "torchvision:vit_b_16", "timm:vit_small_patch16_224",
          "timm:efficientnet_b3", "timm:regnety_016")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="rtx5090")
    parser.add_argument("--rows", action="store_true", help="also build the per-layer rows and the bound shares")
    args = parser.parse_args(argv)
    print(f"{'model':30s} {'analysis ms':>12s} {'prediction ms':>14s} {'ratio':>7s}")
    ratios = []
    for name in MODELS:
        analysis_times, predict_times = [], []
        for repeat in range(args.repeats + 1):
            built = build(name) if ":" in name else build_model(name)
            size = tuple(built.input_size)
            started = time.process_time()
            analysis = analyze(built.module, size, 1)
            analysed = time.process_time()
            prediction = predict(analysis, args.device)
            if args.rows:
                prediction_rows(prediction), prediction.bound_shares
            predicted = time.process_time()
            if repeat:  # the first is the warm-up
                analysis_times.append((analysed - started) * 1e3)
                predict_times.append((predicted - analysed) * 1e3)
        analysis_ms, predict_ms = statistics.median(analysis_times), statistics.median(predict_times)
        ratios.append(predict_ms / analysis_ms)
        print(f"{name:30s} {analysis_ms:12.1f} {predict_ms:14.2f} {predict_ms / analysis_ms:7.1%}", flush=True)
    print(f"median prediction ÷ analysis: {statistics.median(ratios):.1%}, largest {max(ratios):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
