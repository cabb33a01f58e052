"""Validate the time model on measurements it never saw, beside the baselines, and print the table.

Evaluations (every number is on held-out rows; the model and the fitted baselines are refitted per split):
  leave-family-out     for each timm family (module), fit on the other families' rows of the same file and
                       predict this family: RTX 5090, RTX PRO 6000 Max-Q, and RTX 3090 inference
  unseen device        fit on the other two GPUs' inference rows and predict this GPU from its datasheet alone
  training             leave-family-out on the RTX 3090 training file (forward + backward + optimizer step)
  this CPU             leave-one-model-out on our one-thread fp32 measurements (both batches held out together)

Metrics: median |predicted ÷ measured − 1|, and the shares of rows within ±10 % and ±25 %. Baselines in
bench/time_model_baselines.py. Writes assets/time_model/validation.json (the error intervals predictions carry)
and assets/time_model/held_out.csv (every held-out prediction, for the app's Catalogue view).

Usage:  python bench/validate_time_model.py                   (all evaluations; a few minutes on a warm cache)
        python bench/validate_time_model.py --limit 60 --no-write   (a quick check on the first rows of each file)
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import time_model_baselines as baselines  # noqa: E402
import time_model_data as data  # noqa: E402
from fit_time_model import load_all  # noqa: E402

from analyzers.predict.fit import FitSample, PackedSamples, fit_parameters, predict_samples  # noqa: E402
from analyzers.predict.parameters import ASSETS, TRAINING_SET, UNSEEN_DEVICE  # noqa: E402

METHODS = ("per-layer model (ours)", "MACs-proportional", "plain roofline", "roofline × constant",
           "RuntimeEstimator rule", "model-level additive fit")


@dataclass
class Outcome:
    """Held-out predictions of every method for one evaluation."""

    name: str
    description: str
    samples: list[FitSample] = field(default_factory=list)
    predicted: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})

    def add(self, test: Sequence[FitSample], predictions: dict[str, np.ndarray]) -> None:
        self.samples.extend(test)
        for method, values in predictions.items():
            self.predicted[method].extend(float(v) for v in values)

    def errors(self, method: str) -> np.ndarray:
        measured = np.array([s.measured_ms for s in self.samples])
        return np.array(self.predicted[method]) / measured - 1.0


def metrics(errors: np.ndarray) -> tuple[float, float, float]:
    a = np.abs(errors)
    return float(np.median(a)), float((a <= 0.10).mean()), float((a <= 0.25).mean())


def predict_all(train: Sequence[FitSample], test: Sequence[FitSample], packed: PackedSamples | None = None,
                train_index: Sequence[int] = (), test_index: Sequence[int] = ()) -> dict[str, np.ndarray]:
    """Every method fitted on `train` and predicting `test` (ours through `packed` when given: the samples packed
    once, indexed)."""
    if packed is None:
        ours = predict_samples(test, fit_parameters(train).parameters)
    else:
        ours = packed.predict(test_index, packed.fit(train_index).parameters)
    return {
        METHODS[0]: ours,
        METHODS[1]: baselines.MacsProportional().fit(train).predict(test),
        METHODS[2]: baselines.roofline_ms(test),
        METHODS[3]: baselines.ScaledRoofline().fit(train).predict(test),
        METHODS[4]: baselines.roofline_ms(test, baselines.RUNTIME_ESTIMATOR_FACTOR),
        METHODS[5]: baselines.AdditiveFit().fit(train).predict(test),
    }


def held_out(outcome: Outcome, samples: Sequence[FitSample], key: Callable[[FitSample], str]) -> Outcome:
    """Each group of `key` predicted by a fit on the others."""
    packed = PackedSamples(samples)
    for group in sorted({key(s) for s in samples}):
        train_index = [i for i, s in enumerate(samples) if key(s) != group]
        test_index = [i for i, s in enumerate(samples) if key(s) == group]
        if train_index and test_index:
            train, test = [samples[i] for i in train_index], [samples[i] for i in test_index]
            outcome.add(test, predict_all(train, test, packed, train_index, test_index))
    return outcome


def evaluations(loaded: dict[str, data.Loaded]) -> list[Outcome]:
    outcomes = []
    for key in ("rtx5090", "pro6000-maxq", "rtx3090"):
        label = data.BY_KEY[key].label
        outcomes.append(held_out(Outcome(key, f"leave-family-out, {label}"), loaded[key].samples,
                                 lambda s: s.group))
    gpus = [s for key in ("rtx5090", "pro6000-maxq", "rtx3090") for s in loaded[key].samples]
    for key in ("rtx5090", "pro6000-maxq", "rtx3090"):
        device = data.BY_KEY[key].device
        outcome = Outcome(f"unseen-{key}", f"unseen device: {data.BY_KEY[key].label.split(',')[0]} predicted from "
                          "its datasheet, fitted on the other two GPUs")
        train = [s for s in gpus if s.device.name != _device_name(device)]
        test = [s for s in gpus if s.device.name == _device_name(device)]
        outcome.add(test, predict_all(train, test))
        outcomes.append(outcome)
    outcomes.append(held_out(Outcome(TRAINING_SET, f"leave-family-out, {data.BY_KEY[TRAINING_SET].label}"),
                             loaded[TRAINING_SET].samples, lambda s: s.group))
    outcomes.append(held_out(Outcome("cpu", f"leave-one-model-out, {data.CPU.label}"), loaded["cpu"].samples,
                             lambda s: s.group))
    return outcomes


def _device_name(key: str) -> str:
    from analyzers.devices import datasheet

    return datasheet(key).name


def pooled(outcomes: Sequence[Outcome], name: str, description: str) -> Outcome:
    """One outcome holding the held-out rows of several (the unseen-device splits together)."""
    together = Outcome(name, description)
    for outcome in outcomes:
        together.samples.extend(outcome.samples)
        for method in METHODS:
            together.predicted[method].extend(outcome.predicted[method])
    return together


def with_unseen_pooled(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """`outcomes` with, after the last unseen-device split, all three pooled: the figure the goal is set on and the
    interval a GPU never measured is predicted with."""
    unseen = [o for o in outcomes if o.name.startswith("unseen-")]
    if not unseen:
        return list(outcomes)
    last = outcomes.index(unseen[-1])
    together = pooled(unseen, UNSEEN_DEVICE, "unseen device: the three GPUs above, pooled")
    return [*outcomes[:last + 1], together, *outcomes[last + 1:]]


def table(outcomes: Sequence[Outcome]) -> str:
    lines = ["| evaluation | rows | " + " | ".join(METHODS) + " |", "|---|---:|" + "---|" * len(METHODS)]
    for outcome in with_unseen_pooled(outcomes):
        cells = []
        for method in METHODS:
            median, within_10, within_25 = metrics(outcome.errors(method))
            cells.append(f"{median:.1%} · {within_10:.0%} · {within_25:.0%}")
        lines.append(f"| {outcome.description} | {len(outcome.samples):,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def interval(outcomes: Sequence[Outcome], basis: str) -> dict[str, object]:
    errors = np.concatenate([o.errors(METHODS[0]) for o in outcomes])
    ratio = 1.0 / (1.0 + errors)  # measured ÷ predicted
    median, within_10, within_25 = metrics(errors)
    return {"low": round(float(np.quantile(ratio, 0.1)), 4), "high": round(float(np.quantile(ratio, 0.9)), 4),
            "median_abs_error": round(median, 4), "within_10": round(within_10, 4),
            "within_25": round(within_25, 4), "samples": int(len(errors)), "basis": basis}


def write(outcomes: Sequence[Outcome]) -> None:
    by_name = {o.name: o for o in outcomes}
    intervals = {name: interval([by_name[name]], by_name[name].description)
                 for name in ("rtx5090", "pro6000-maxq", "rtx3090", TRAINING_SET, "cpu")}
    intervals[UNSEEN_DEVICE] = interval([o for o in outcomes if o.name.startswith("unseen-")],
                                        "each measured GPU predicted from its datasheet, fitted on the others")
    document = {"version": 1, "intervals": intervals,
                "table": {o.name: {m: dict(zip(("median_abs_error", "within_10", "within_25"),
                                               (round(v, 4) for v in metrics(o.errors(m)))))
                                   for m in METHODS} | {"rows": len(o.samples), "description": o.description}
                          for o in outcomes}}
    (ASSETS / "validation.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    with (ASSETS / "held_out.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["evaluation", "sample", "group", "batch", "measured_ms", "predicted_ms"])
        for o in outcomes:
            if o.name.startswith("unseen-"):
                continue
            for s, p in zip(o.samples, o.predicted[METHODS[0]]):
                writer.writerow([o.name, s.name, s.group, s.batch, f"{s.measured_ms:.6g}", f"{p:.6g}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="analysis processes for a cold cache (default 2)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N rows of each file")
    parser.add_argument("--no-write", action="store_true", help="print only; leave assets/time_model/ as it is")
    args = parser.parse_args(argv)
    started = time.process_time()
    loaded = load_all(args.workers, args.limit)
    outcomes = evaluations(loaded)
    print("median |error| · within ±10 % · within ±25 %, held-out rows only\n")
    print(table(outcomes))
    print(f"\n({time.process_time() - started:.0f} s CPU)")
    if not args.no_write:
        write(outcomes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
