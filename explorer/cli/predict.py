"""`python -m explorer predict NAME --device rtx5090`: the predicted time of a forward (or `--train` step), layer by
layer, with what bounds each layer, the total with throughput, and the held-out error interval for that device.

`predict --calibrate RESULTS.csv --device KEY` refits the device's parameters to a user's own `explorer bench` rows
and writes them to a file that `--parameters FILE` then uses. Every number printed is labelled as predicted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analyzers.safe_text import printable
from explorer.cli.common import CliError, limited, parse_options, positive_int, timeout_seconds, write_file

__all__ = ["add_parser", "run", "device_choice"]

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
MAX_CALIBRATION_ROWS = 200  # each row is one analysis: bounded work


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser("predict", help="predicted time per layer on a datasheet device (with its error)")
    parser.add_argument("name", nargs="?", help="zoo name, torchvision:NAME, timm:NAME or package.module:factory")
    parser.add_argument("--spec", metavar="FILE", help="an architecture spec file instead of a name")
    parser.add_argument("--device", default=None, metavar="DEVICE",
                        help="a table device: " + ", ".join(_keys()) + " (default rtx5090)")
    parser.add_argument("--batch", type=positive_int, default=1, help="batch size (default 1)")
    parser.add_argument("--input", metavar="CxHxW", help="input size without batch, e.g. 3x224x224")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="zoo builder option")
    parser.add_argument("--dtype", choices=PRECISIONS, default=None,
                        help="precision (default: bf16 on a GPU, fp16 on one without bf16, fp32 on the CPU)")
    parser.add_argument("--train", action="store_true", help="predict one training step: forward, backward, optimizer")
    parser.add_argument("--optimizer", choices=("sgd", "momentum", "adam", "adamw"), default=None,
                        help="with --train (default sgd)")
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE", help="JSON: totals and layers (- or no FILE: "
                        "print it)")
    parser.add_argument("--csv", nargs="?", const="-", metavar="FILE", help="CSV of the layers (- or no FILE: print)")
    parser.add_argument("--top", type=positive_int, default=None, metavar="N", help="show only the N slowest layers")
    parser.add_argument("--parameters", metavar="FILE", help="parameters from `predict --calibrate` instead of the "
                        "shipped ones")
    parser.add_argument("--calibrate", metavar="RESULTS_CSV", help="refit the device's parameters to your own "
                        "`explorer bench` rows and write them to --out")
    parser.add_argument("--out", default="calibrated_time_model.json", metavar="FILE",
                        help="with --calibrate: where to write (default calibrated_time_model.json)")
    parser.add_argument("--timeout", type=timeout_seconds, default=60, metavar="SECONDS",
                        help="stop a model whose build or analysis runs longer (default 60; 0: no limit)")
    parser.add_argument("--build-device", choices=("meta", "cpu"), default="meta", help=argparse.SUPPRESS)
    parser.set_defaults(run=run)
    return parser


def _keys() -> list[str]:
    from analyzers.devices import datasheets

    return [sheet.key for sheet in datasheets()]


def device_choice(text: str | None, option: str = "--device"):
    """The datasheet a --device / --predict value names (a key like rtx5090, or a table name)."""
    from analyzers.devices import datasheet

    refusal = f"{option} {printable(repr(text))}: not in the device table; choose one of {', '.join(_keys())}"
    if text is not None and not text.isprintable():  # "rtx5090\n" would match once stripped
        raise CliError(refusal)
    try:
        return datasheet(text or "rtx5090")
    except KeyError:
        raise CliError(refusal) from None


def run(args: argparse.Namespace) -> int:
    sheet = device_choice(args.device)
    if args.calibrate:
        return _calibrate(args, sheet)
    if not args.name and not args.spec:
        raise CliError("predict needs a model name or --spec FILE (see `python -m explorer list`)")
    if args.optimizer and not args.train:
        raise CliError("--optimizer needs --train")
    prediction = limited(args, args.name or args.spec, lambda: _predict(args, sheet))
    from analyzers.reports.prediction import to_csv, to_json

    printed = False
    if args.json:
        if args.json == "-":
            print(to_json(prediction))
            printed = True
        else:
            write_file(args.json, to_json(prediction) + "\n")
    if args.csv:
        if args.csv == "-":
            sys.stdout.write(to_csv(prediction))
            printed = True
        else:
            write_file(args.csv, to_csv(prediction))
    if not printed:
        print(prediction_text(prediction, args.top, measured_beside(prediction)))
    return 0


def _predict(args: argparse.Namespace, sheet):
    from analyzers.counting.inputs import parse_input_size, with_batch
    from analyzers.devices import DeviceKind, Precision
    from analyzers.predict.prediction import predict, predict_training
    from explorer.cli.models import resolve_model

    size = parse_input_size(args.input) if args.input else None
    model = resolve_model(args.name, args.spec, parse_options(args.set), size, args.build_device)
    if model.input_size is None and model.inputs is None:
        raise CliError(f"{model.name}: give the input size with --input CxHxW")
    shape = dict(input_size=model.input_size, batch_size=args.batch) if model.inputs is None else \
        dict(inputs=with_batch(model.inputs, args.batch))  # a transformers model: token ids, the batch in them
    chosen = _device_model(args, sheet)
    precision = Precision(args.dtype) if args.dtype else chosen.default_precision
    if precision is Precision.TF32 and sheet.kind is DeviceKind.CPU:
        raise CliError("--dtype tf32 is a CUDA tensor-core mode; on the CPU use fp32")
    if sheet.peak.tflops(precision) is None:
        have = ", ".join(p.value for p in Precision if sheet.peak.tflops(p) is not None)
        raise CliError(f"--dtype {precision.value}: the {sheet.key}'s datasheet has no peak for it; it has {have}")
    if args.train:
        from analyzers.training.analyze import analyze_training

        storage = precision if precision is not Precision.TF32 else Precision.FP32
        training = analyze_training(model.module, **shape, optimizer=args.optimizer or "sgd", precision=storage,
                                    model_name=model.name)
        return predict_training(training, sheet, precision, model=chosen)
    from analyzers import analyze

    analysis = analyze(model.module, **shape, model_name=model.name)
    return predict(analysis, sheet, precision, model=chosen)


def _device_model(args: argparse.Namespace, sheet):
    from analyzers.predict.parameters import device_model

    if not args.parameters:
        try:
            return device_model(sheet, training=args.train)
        except KeyError as exc:
            raise CliError(str(exc).strip("'\"")) from None
    from analyzers.predict.calibration import CalibrationError, load_calibrated

    try:
        return load_calibrated(args.parameters, sheet)
    except CalibrationError as exc:
        raise CliError(str(exc)) from None


def prediction_text(prediction, top: int | None = None, measured: list[str] | None = None) -> str:
    """The per-layer table and the totals, every time labelled predicted."""
    from analyzers.reports.prediction import prediction_rows, prediction_summary

    rows = prediction_rows(prediction)
    if top is not None:
        rows = sorted(rows, key=lambda r: -r["predicted_ms"])[:top]
    header = ("layer", "type", "MACs", "predicted ms", "share", "bound", "kernels")
    table = [header] + [(printable(r["layer"]), printable(r["type"]), f"{r['macs']:,}", f"{r['predicted_ms']:.4f}",
                         f"{r['predicted_share']:.1%}", r["predicted_bound"], str(r["kernels"])) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    right = {2, 3, 4, 6}
    lines = ["  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                       for i, cell in enumerate(row)).rstrip() for row in table]
    s = prediction_summary(prediction)
    step = "training step" if prediction.training else "forward"
    unit = "samples/s"
    lines.insert(0, f"PREDICTED (not measured): {printable(s['model'])}, one {step} of batch {s['batch']} on the "
                    f"{s['device']} ({s['device_key']}), {s['precision']}")
    lines += [
        f"total (predicted)  {s['predicted_ms']:.3f} ms per batch of {s['batch']} → {s['predicted_samples_per_s']:,.0f} "
        f"{unit}; 80 % of held-out measurements fell within {s['predicted_ms_low']:.3f}–{s['predicted_ms_high']:.3f} ms",
        f"  bound by compute {s['predicted_share_compute']:.0%}, memory {s['predicted_share_memory']:.0%}, "
        f"overhead {s['predicted_share_overhead']:.0%} of the time; {s['kernels']:,} kernels",
        f"  held-out error: median |error| {s['held_out_median_abs_error']:.1%}, "
        f"{s['held_out_within_25']:.0%} within ±25 % ({s['interval_basis']})",
        f"  parameters fitted on {s['parameters_fitted_on']}",
    ]
    if top is not None:
        lines.insert(len(table) + 1, f"  (the {len(rows)} slowest of {len(prediction_rows(prediction))} layers)")
    for line in measured or []:
        lines.append(f"  measured: {line}")
    return "\n".join(lines)


def measured_beside(prediction) -> list[str]:
    """Measurements of the same model on the same device that ship with the project (our bench CSVs, timm's
    published files), to stand beside the prediction, never mixed into it."""
    from analyzers.predict.measured import measured_rows

    return [row.text for row in measured_rows(prediction.model_name, prediction.device_key, prediction.training)]


def _calibrate(args: argparse.Namespace, sheet) -> int:
    from analyzers.predict.calibration import CalibrationError, calibrate

    if args.name or args.spec:
        raise CliError("--calibrate fits the device's parameters from a results file; leave out the model name")
    path = Path(args.calibrate)  # load_results refuses a missing file, a FIFO, /dev/zero or a folder in one line

    def resolve(name: str):
        """A row's model, by name; never a user factory: a results file may come from anyone, and naming
        `package.module:factory` in it must not make this command import and run code."""
        from explorer.catalogue import Catalogue
        from explorer.cli.models import resolve_model

        if ":" in name and name.partition(":")[0] not in {catalogue.value for catalogue in Catalogue}:
            raise CliError(f"a user factory ({printable(name)}) is not built from a results file, which could make "
                           f"us run code someone else named; calibrate on zoo, torchvision:, timm: or hf: rows")
        return limited(args, name, lambda: resolve_model(name, None, {}, None))

    from analyzers.bench.row_schema import ResultsFileError
    from analyzers.bench.schema import load_results

    try:
        result = calibrate(load_results(path), path, sheet, resolve, max_rows=MAX_CALIBRATION_ROWS)
    except ResultsFileError as exc:
        named = str(path) in str(exc)  # "X holds binary data" names it already; "missing column(s)" does not
        raise CliError(f"--calibrate: {exc}" if named else f"--calibrate {printable(str(path))}: {exc}") from None
    except CalibrationError as exc:
        raise CliError(str(exc)) from None
    write_file(args.out, json.dumps(result.document, indent=1) + "\n")
    print(result.text)
    print(f"wrote {printable(args.out)}; use it with `python -m explorer predict NAME --device {sheet.key} "
          f"--parameters {printable(args.out)}`")
    return 0
