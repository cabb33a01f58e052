"""Refit a device's time-model parameters to a user's own benchmark rows (`explorer bench` results CSV).

The shipped parameters are the start; the fit (`analyzers.predict.fit`) moves them to the user's measurements of
that device. With rows of at least four distinct models, each model is also held out in turn (fitted on the others)
and the held-out errors become the calibrated file's error interval; with fewer, the interval says it is in-sample.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from analyzers.devices import Datasheet, DeviceKind, Precision, lookup_peak
from analyzers.errors import UserError
from analyzers.predict.fit import FitSample, fit_parameters, predict_samples
from analyzers.predict.kernels import model_work
from analyzers.predict.parameters import DeviceModel, ErrorInterval, Software, device_model
from analyzers.predict.time_model import KernelArrays, TimeParameters
from analyzers.safe_text import printable
from analyzers.user_files import UnusableFileError, read_text

__all__ = ["CalibrationError", "CalibrationResult", "calibrate", "load_calibrated", "MIN_MODELS_FOR_INTERVAL"]

MIN_MODELS_FOR_INTERVAL = 4
MAX_PARAMETERS_BYTES = 1 << 20  # a calibrated file is about 1 kB; a bigger one is not ours


class CalibrationError(UserError):
    """A results file or a calibrated parameters file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class CalibrationResult:
    document: dict[str, Any]  # what load_calibrated reads back
    text: str  # what happened, for the terminal


def _row_device_matches(row: Any, sheet: Datasheet) -> bool:
    if sheet.kind is DeviceKind.CPU:
        return str(row["device"]) == "cpu"
    return str(row["device"]).startswith("cuda") and lookup_peak(str(row["device_name"])).name == sheet.name


def calibrate(results: Any, path: str | Path, sheet: Datasheet, resolve: Callable[[str], Any], *,
              max_rows: int = 200) -> CalibrationResult:
    """Fit `sheet`'s parameters to the ok rows of `results` (a results table read from `path` by
    `analyzers.bench.schema.load_results`; bench/ stands above predict/, so the caller reads it) measured on that
    device. `resolve(name)` builds a model as the CLI does (an object with `.module`)."""
    from analyzers.counting.analyze import analyze

    ok = results[results["status"] == "ok"]
    rows = [(index + 2, row) for index, row in ok.iterrows() if _row_device_matches(row, sheet)]  # line 1: header
    if not rows:
        found = ", ".join(sorted(printable(name) for name in set(ok["device_name"].astype(str)))) or "no ok rows"
        raise CalibrationError(f"{path}: no ok rows measured on the {sheet.key} ({sheet.name}); the file has: {found}")
    if len(rows) > max_rows:
        raise CalibrationError(f"{path}: {len(rows)} rows for the {sheet.key}; calibrate on at most {max_rows}")
    shipped = device_model(sheet)
    samples: list[FitSample] = []
    work_cache: dict[tuple[str, str], KernelArrays] = {}
    for line, row in rows:
        key = (str(row["model"]), str(row["input_size"]))
        where = f"{path}, line {line} ({printable(key[0])} at {key[1]})"
        if key not in work_cache:
            size = tuple(int(d) for d in key[1].split("x"))
            try:
                analysis = analyze(resolve(key[0]).module, size, 1, model_name=key[0])
            except UserError as exc:
                raise CalibrationError(f"{where}: {exc}") from None
            work = model_work(analysis, fused_attention=shipped.software.fused_attention)  # `explorer bench`
            # converts the model to the dtype (no autocast)
            work_cache[key] = KernelArrays.from_layers(work)
        try:
            description = shipped.description(Precision(str(row["dtype"])))
        except ValueError as exc:
            raise CalibrationError(f"{where}: {exc}") from None
        sample = FitSample(f"{key[0]}@{int(row['batch'])}", key[0], work_cache[key], 4, int(row["batch"]),
                           description, float(row["latency_ms_p50"]))
        _refuse_faster_than_peak(sample, sheet, where)
        samples.append(sample)
    fitted = fit_parameters(samples, shipped.parameters).parameters
    measured = np.array([s.measured_ms for s in samples])
    before = predict_samples(samples, shipped.parameters) / measured - 1
    after = predict_samples(samples, fitted) / measured - 1
    models = sorted({s.group for s in samples})
    if len(models) >= MIN_MODELS_FOR_INTERVAL:
        held = np.concatenate([
            predict_samples([s for s in samples if s.group == m],
                            fit_parameters([s for s in samples if s.group != m], shipped.parameters).parameters)
            / np.array([s.measured_ms for s in samples if s.group == m]) - 1 for m in models])
        basis = f"leave-one-model-out on your {len(samples)} rows of {len(models)} models"
    else:
        held = after
        basis = f"in-sample: only {len(models)} model(s) in your rows, none held out"
    interval = _interval(held, basis)
    document = {"version": 1, "device": sheet.key, "parameters": fitted.as_dict(),
                "software": {"fused_attention": shipped.software.fused_attention,
                             "foreach_optimizer": shipped.software.foreach_optimizer, "autocast": False},
                "fitted_on": f"{len(samples)} rows of {Path(path).name} (your measurements, {len(models)} models)",
                "interval": interval}
    text = (f"calibrated the {sheet.key} on {len(samples)} rows of {len(models)} models: median |error| "
            f"{np.median(np.abs(before)):.1%} with the shipped parameters, {np.median(np.abs(after)):.1%} fitted "
            f"(both on the rows fitted); {basis}: median |error| {interval['median_abs_error']:.1%}")
    return CalibrationResult(document, text)


def _refuse_faster_than_peak(sample: FitSample, sheet: Datasheet, where: str) -> None:
    """A row faster than the device's peak arithmetic allows is not a measurement of that device (a row of another
    machine or configuration, or an edited file); a fit to it would pull every parameter out of range. Half the
    peak time leaves room for a peak figure a little below what a chip reaches."""
    flops = float(sample.kernels.flops.sum()) * sample.batch
    fastest_ms = flops / (sample.device.tensor_tflops * 1e12) * 1e3
    if sample.measured_ms < fastest_ms / 2:
        raise CalibrationError(f"{where}: {sample.measured_ms:g} ms for batch {sample.batch} is faster than the "
                               f"{sheet.key}'s peak allows ({flops:,.0f} FLOPs need at least {fastest_ms:.3g} ms); "
                               f"this row was not measured on the {sheet.key}")


def _interval(errors: np.ndarray, basis: str) -> dict[str, Any]:
    a = np.abs(errors)
    ratio = 1.0 / (1.0 + errors)
    return {"low": float(np.quantile(ratio, 0.1)), "high": float(np.quantile(ratio, 0.9)),
            "median_abs_error": float(np.median(a)), "within_10": float((a <= 0.1).mean()),
            "within_25": float((a <= 0.25).mean()), "samples": int(len(errors)), "basis": basis}


def load_calibrated(path: str | Path, sheet: Datasheet) -> DeviceModel:
    """The device model a calibrated file describes; CalibrationError if it is unreadable or for another device."""
    try:
        document = json.loads(read_text(path, "a calibrated parameters file", MAX_PARAMETERS_BYTES))
        device = document["device"]
        parameters = TimeParameters.from_dict(document["parameters"])
        software = Software(**document["software"])
        interval = ErrorInterval.from_dict(document["interval"])
        fitted_on = str(document["fitted_on"])
    except UnusableFileError as exc:
        raise CalibrationError(f"--parameters: {exc}") from None
    except RecursionError:
        raise CalibrationError(f"--parameters {path}: nested too deeply to be a calibrated parameters file") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CalibrationError(f"--parameters {path}: not a calibrated parameters file ({type(exc).__name__}: "
                               f"{exc}); write one with `explorer predict --calibrate`") from None
    if device != sheet.key:
        raise CalibrationError(f"--parameters {path} was calibrated for the {device}, not the {sheet.key}")
    return DeviceModel(sheet.key, sheet, parameters, software, interval, fitted_on)
