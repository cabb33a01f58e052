"""A time prediction as rows and totals (for CSV, JSON and the app): every number named `predicted_*`, each with
the held-out error interval beside it, so no table can pass a prediction off as a measurement."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from analyzers.predict.prediction import Prediction

__all__ = ["prediction_rows", "prediction_summary", "to_csv", "to_json", "ROW_FIELDS"]

ROW_FIELDS = ("layer", "type", "category", "macs", "kernels", "predicted_ms", "predicted_share", "predicted_bound",
              "predicted_compute_ms", "predicted_memory_ms", "predicted_overhead_ms")


def prediction_rows(prediction: Prediction, *, with_idle: bool = False) -> list[dict[str, Any]]:
    """One row per leaf layer (layers that launch no kernel, e.g. Identity or eval Dropout, only `with_idle`)."""
    total = prediction.total_ms or 1.0
    return [{
        "layer": layer.name, "type": layer.type, "category": layer.category.value if layer.category else "",
        "macs": layer.macs, "kernels": layer.kernels, "predicted_ms": layer.time_ms,
        "predicted_share": layer.time_ms / total, "predicted_bound": layer.bound.value if layer.bound else "",
        "predicted_compute_ms": layer.compute_ms, "predicted_memory_ms": layer.memory_ms,
        "predicted_overhead_ms": layer.overhead_ms,
    } for layer in prediction.layers if with_idle or layer.kernels]


def prediction_summary(prediction: Prediction) -> dict[str, Any]:
    """The totals: predicted time and throughput, where 80 % of held-out measurements fell, and on what basis."""
    low, high = prediction.interval.bounds_ms(prediction.total_ms)
    shares = prediction.bound_shares
    return {
        "model": prediction.model_name, "device": prediction.device.name, "device_key": prediction.device_key,
        "precision": prediction.device.precision.value, "batch": prediction.batch,
        "step": "training step" if prediction.training else "forward",
        "predicted_ms": prediction.total_ms, "predicted_samples_per_s": prediction.throughput,
        "predicted_ms_low": low, "predicted_ms_high": high,
        **{f"predicted_share_{bound.value}": share for bound, share in shares.items()},
        "kernels": prediction.kernels,
        "held_out_median_abs_error": prediction.interval.median_abs_error,
        "held_out_within_25": prediction.interval.within_25,
        "interval_basis": prediction.interval.basis,
        "parameters_fitted_on": prediction.parameters_from,
        "note": "predicted, not measured: 80 % of held-out measurements fell between predicted_ms_low and "
                "predicted_ms_high",
    }


def to_csv(prediction: Prediction, path: str | Path | None = None) -> str | None:
    """The per-layer rows as CSV, written to `path` when given, else returned as text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(prediction_rows(prediction))
    if path is None:
        return buffer.getvalue()
    Path(path).write_text(buffer.getvalue(), encoding="utf-8")
    return None


def to_json(prediction: Prediction, path: str | Path | None = None) -> str:
    """The totals and the rows as one JSON document; written to `path` when given."""
    text = json.dumps({"summary": prediction_summary(prediction), "layers": prediction_rows(prediction)},
                      ensure_ascii=False, indent=1)
    if path is not None:
        Path(path).write_text(text + "\n", encoding="utf-8")
    return text
