"""The shipped time-model parameters and held-out errors (assets/time_model/), and which apply to a device.

`parameters.json` is written by bench/fit_time_model.py: per fitted set (a measured device, a training set, the
pooled GPUs) the fitted `TimeParameters`, the software it was measured with (fused attention, foreach optimizer)
and the rows it was fitted on. `validation.json` is written by bench/validate_time_model.py: per evaluation the
held-out errors, summarised as an `ErrorInterval`.

Which set a prediction uses: a device with its own measurements uses its own (interval: leave-family-out on it);
any other GPU uses the set fitted on all measured GPUs together, read through its own datasheet (interval: the
unseen-device evaluation, where each measured GPU was predicted from the others); a training step uses the
training set (fitted on the RTX 3090's training steps) with the chosen device's datasheet.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from analyzers.devices import Datasheet, DeviceKind, Precision, datasheet
from analyzers.predict.time_model import DeviceDescription, TimeParameters

__all__ = ["Software", "ErrorInterval", "DeviceModel", "device_model", "load_sets", "load_intervals",
           "ASSETS", "GENERIC_GPU", "TRAINING_SET"]

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "time_model"
PARAMETERS_FILE = ASSETS / "parameters.json"
VALIDATION_FILE = ASSETS / "validation.json"
GENERIC_GPU = "gpu"  # the set fitted on every measured GPU's inference rows
TRAINING_SET = "rtx3090-train"
UNSEEN_DEVICE = "unseen-gpu"  # the validation entry pooling each measured GPU predicted from the others


@dataclass(frozen=True)
class Software:
    """What the measured runs' PyTorch did that changes the kernels: fused attention (≥ 2.0 with timm's
    `F.scaled_dot_product_attention`), a multi-tensor (foreach) optimizer step, autocast mixed precision."""

    fused_attention: bool = True
    foreach_optimizer: bool = True
    autocast: bool = False  # mixed precision by torch.autocast (timm's AMP), not a model converted to half


@dataclass(frozen=True)
class ErrorInterval:
    """How measured times compared with predictions for models the fit never saw: the 10th and 90th percentiles of
    measured ÷ predicted, the median |error| and the shares within ±10 % and ±25 %."""

    low: float
    high: float
    median_abs_error: float
    within_10: float
    within_25: float
    samples: int
    basis: str  # what was held out, in words

    def bounds_ms(self, predicted_ms: float) -> tuple[float, float]:
        """Where 80 % of held-out measurements fell, for a prediction of `predicted_ms`."""
        return predicted_ms * self.low, predicted_ms * self.high

    @property
    def text(self) -> str:
        return (f"held-out median |error| {self.median_abs_error:.0%}, 80 % of measurements within "
                f"×{self.low:.2f}–×{self.high:.2f} of the prediction ({self.basis}, {self.samples:,} models)")

    @classmethod
    def from_dict(cls, values: dict) -> "ErrorInterval":
        """ValueError unless 0 < low ≤ high (finite), the error and shares finite in [0, ∞) and [0, 1]."""
        interval = cls(float(values["low"]), float(values["high"]), float(values["median_abs_error"]),
                       float(values["within_10"]), float(values["within_25"]), int(values["samples"]),
                       str(values["basis"]))
        if not (0 < interval.low <= interval.high < math.inf and 0 <= interval.median_abs_error < math.inf
                and 0 <= interval.within_10 <= 1 and 0 <= interval.within_25 <= 1 and interval.samples >= 0):
            raise ValueError("the interval needs 0 < low ≤ high, a finite median error and shares from 0 to 1")
        return interval


@dataclass(frozen=True)
class DeviceModel:
    """Everything a prediction needs for one device: its datasheet, the parameters that apply, the software the
    parameters were measured with, and the held-out error interval."""

    key: str
    sheet: Datasheet
    parameters: TimeParameters
    software: Software
    interval: ErrorInterval
    fitted_on: str  # which measurements the parameters come from, in words

    @property
    def default_precision(self) -> Precision:
        """fp32 on a CPU; bf16 on a GPU, or fp16 on one without bf16 (a T4): what mixed precision runs there."""
        if self.sheet.kind is DeviceKind.CPU:
            return Precision.FP32
        return Precision.BF16 if self.sheet.peak.tflops(Precision.BF16) is not None else Precision.FP16

    def description(self, precision: Precision | str) -> DeviceDescription:
        return DeviceDescription.from_datasheet(self.sheet, precision)


@lru_cache(maxsize=4)
def load_sets(path: Path = PARAMETERS_FILE) -> dict[str, dict]:
    """Fitted sets by name ("rtx5090", "gpu", "rtx3090-train", "cpu"…): parameters, software, what they were fitted on."""
    return json.loads(path.read_text(encoding="utf-8"))["sets"]


@lru_cache(maxsize=4)
def load_intervals(path: Path = VALIDATION_FILE) -> dict[str, ErrorInterval]:
    """Held-out error intervals by evaluation name (a fitted set's name, or UNSEEN_DEVICE)."""
    values = json.loads(path.read_text(encoding="utf-8"))["intervals"]
    return {name: ErrorInterval.from_dict(v) for name, v in values.items()}


@lru_cache(maxsize=64)
def device_model(device: str | Datasheet, *, training: bool = False) -> DeviceModel:
    """The parameters, software and interval for predicting on `device` (a table key, name or row). KeyError for a
    device not in the table. Remembered: the table and the shipped files are read once per process, and the
    (frozen) answer is the same every time."""
    sheet = device if isinstance(device, Datasheet) else datasheet(device)
    sets, intervals = load_sets(), load_intervals()
    if training:
        name, interval_name = TRAINING_SET, TRAINING_SET
    elif sheet.key in sets:
        name, interval_name = sheet.key, sheet.key
    elif sheet.kind is DeviceKind.GPU:
        name, interval_name = GENERIC_GPU, UNSEEN_DEVICE
    else:
        raise KeyError(f"no fitted parameters for {sheet.key}: measure it and run `explorer predict --calibrate`")
    values = sets[name]
    interval = intervals[interval_name]
    if training and sheet.key != values["device"]:
        interval = ErrorInterval(interval.low, interval.high, interval.median_abs_error, interval.within_10,
                                 interval.within_25, interval.samples,
                                 f"{interval.basis}; training on the {sheet.key} itself is not validated")
    return DeviceModel(sheet.key, sheet, TimeParameters.from_dict(values["parameters"]),
                       Software(**values["software"]), interval, values["fitted_on"])
