"""`summary/report NAME --train`: the cost of one training step on the command line.

`install(summary, report)` adds the flags (--train, --optimizer, --freeze, --freeze-stages) to both sub-commands and
routes `--train` runs here; without `--train` the commands run as before. `--batch`, `--input`, `--set` and
`--dtype` keep their meaning (fp16/bf16: mixed precision with fp32 master weights).
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from explorer.cli.common import CliError, non_negative_int
from explorer.ui.human import binary_bytes, compact

__all__ = ["OPTIMIZERS", "format_summary", "format_table", "install", "run_report", "run_summary"]

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
_TRAIN_FLAGS = ("optimizer", "optimizer_impl", "step_device", "freeze", "freeze_stages")


def install(parser: argparse.ArgumentParser, training: Callable[[argparse.Namespace], int]) -> None:
    """Add the training flags to `parser` and wrap its command so that `--train` runs `training` instead."""
    group = parser.add_argument_group("training step (--train)")
    group.add_argument("--train", action="store_true",
                       help="cost one training step: forward + backward + optimizer, and its memory")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                       help="with --train: sgd (default), momentum (SGD with momentum), adam, adamw")
    group.add_argument("--optimizer-impl", choices=("for-loop", "foreach", "fused"), default=None,
                       help="with --train: how torch.optim runs the update (default: PyTorch's for --step-device: "
                       "foreach on CUDA, the for-loop on the CPU); it sets the step's temporaries")
    group.add_argument("--step-device", choices=("cuda", "cpu"), default=None,
                       help="with --train: the device the step's memory is told for (default cuda)")
    group.add_argument("--freeze", metavar="MODULE", default=None,
                       help="with --train: freeze MODULE and every module before it (e.g. layer3)")
    group.add_argument("--freeze-stages", metavar="K", type=non_negative_int, default=None,
                       help="with --train: freeze the model's first K stages (ResNet: layer1 … layer4, the stem "
                       "with layer1; MobileNet/EfficientNet/VGG: features.0 …); all of them leaves the head")
    plain = parser.get_default("run")
    parser.set_defaults(run=_routed(plain, training))


def _routed(plain: Callable[[argparse.Namespace], int],
            training: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        if args.train:
            return training(args)
        given = [f"--{flag.replace('_', '-')}" for flag in _TRAIN_FLAGS if getattr(args, flag) is not None]
        if given:
            raise CliError(f"{given[0]} needs --train")
        return plain(args)

    run.__name__ = plain.__name__
    return run


def _training_analysis(args: argparse.Namespace):
    from analyzers.counting.inputs import parse_input_size, with_batch
    from analyzers.training.analyze import analyze_training
    from explorer.cli.common import limited, parse_options
    from explorer.cli.inputs import parse_input_options
    from explorer.cli.models import resolve_model

    if getattr(args, "device", "meta") != "meta":
        raise CliError("--train counts on the meta device; leave out --device")
    if getattr(args, "roofline", None) or getattr(args, "crosscheck", None):
        raise CliError("--roofline and --crosscheck describe an inference pass; leave them out with --train")
    if getattr(args, "predict", None):  # summary's --predict adds a forward's time; it would be dropped silently
        raise CliError("--predict adds a forward's predicted time; for a training step's use `python -m explorer "
                       "predict NAME --train --device DEVICE`")
    options = parse_options(args.set)
    choice = parse_input_options(getattr(args, "inputs", None), parse_input_size)  # the forward's --input forms
    if choice.inputs is not None and args.batch != 1:
        raise CliError("with NAME=DTYPE:SHAPE inputs the batch is in each shape; leave out --batch")

    def work():
        model = resolve_model(args.name, args.spec, options, choice.size, args.build_device)
        if choice.inputs is not None:
            size, inputs = None, choice.inputs
        elif model.inputs is not None:  # a token model's input_ids, a detection model's list of images
            size, inputs = None, with_batch(model.inputs, args.batch)
        elif model.input_size is None:
            raise CliError(f"{model.name}: give the input size with --input CxHxW or NAME=DTYPE:SHAPE")
        else:
            size, inputs = model.input_size, None
        return analyze_training(model.module, size, args.batch, inputs=inputs, optimizer=args.optimizer or "sgd",
                                optimizer_impl=args.optimizer_impl, device=args.step_device or "cuda",
                                freeze=args.freeze, freeze_stages=args.freeze_stages, precision=args.dtype,
                                model_name=model.name)

    if not args.name and not args.spec:
        raise CliError("--train needs a model name or --spec FILE")
    return limited(args, args.name or args.spec, work)


def run_summary(args: argparse.Namespace) -> int:
    from analyzers.reports.training import training_summary

    if getattr(args, "all", False):
        raise CliError("--train analyses one model; leave out --all")
    analysis = _training_analysis(args)
    summary = training_summary(analysis)
    if analysis.frozen_through is not None:
        summary.update(_freezing_effect(args, analysis))
    print(json.dumps(summary, ensure_ascii=False) if args.json else format_summary(summary))
    return 0


def _freezing_effect(args: argparse.Namespace, frozen) -> dict[str, Any]:
    """The same step without freezing, and the features a frozen trunk would cache at its cut."""
    from analyzers.training.freezing import IMAGENET_TRAIN_IMAGES, cost_after_cut, precomputed_feature_bytes

    unfrozen = _training_analysis(argparse.Namespace(**{**vars(args), "freeze": None, "freeze_stages": None}))
    cut = frozen.frozen_through
    per_image, total = precomputed_feature_bytes(frozen.forward, cut)
    remaining = cost_after_cut(frozen, cut)
    return {
        "unfrozen_trainable_params": unfrozen.totals.trainable_params,
        "unfrozen_backward_macs": unfrozen.totals.backward_macs,
        "unfrozen_peak_bytes": unfrozen.memory.peak_bytes,
        "cached_feature_bytes_per_image": per_image,
        "cached_feature_images": IMAGENET_TRAIN_IMAGES,
        "cached_feature_bytes": total,
        "step_macs_after_cut": remaining.step_macs,
    }


def format_summary(s: dict[str, Any]) -> str:
    frozen = f", frozen through {s['frozen_through']}" if s["frozen_through"] else ""
    ratio = f"{s['backward_to_forward']:.2f}× forward" if s["backward_to_forward"] is not None else "—"
    lines = [
        f"{s['model']}  input {s['input']}  batch {s['batch']}  {s['optimizer']} ({s['optimizer_impl']})  "
        f"{s['precision']}  step on {s['step_device']}{frozen}",
        f"  params            {s['params']:,} ({s['trainable_params']:,} trainable)",
        f"  forward           {s['forward_macs']:,} MACs ({compact(s['forward_macs'])})",
        f"  backward          {s['backward_macs']:,} MACs ({compact(s['backward_macs'])}, {ratio}): "
        f"input grads {s['backward_input_macs']:,}, weight grads {s['backward_weight_macs']:,}",
        f"  element-wise      forward {s['forward_elementwise_ops']:,} ops, backward "
        f"{s['backward_elementwise_ops']:,} ops",
        f"  step memory peak  {binary_bytes(s['peak_bytes'])} ({s['peak_bytes']:,} B) during {s['peak_phase']}"
        + (f" of {s['peak_layer']}" if s["peak_layer"] else ""),
        f"    parameters {binary_bytes(s['parameter_bytes'])}, buffers {binary_bytes(s['buffer_bytes'])}, "
        f"gradients {binary_bytes(s['gradient_bytes'])}, "
        f"optimizer state {binary_bytes(s['optimizer_state_bytes'])}"
        + (f", fp32 master weights {binary_bytes(s['master_weight_bytes'])}" if s["master_weight_bytes"] else "")
        + f", input {binary_bytes(s['input_bytes'])}",
        f"    saved for backward {binary_bytes(s['saved_activation_bytes'])} in {s['saved_tensors']:,} tensors",
        f"    optimizer step temporaries {binary_bytes(s['optimizer_step_bytes'])}; not included: {s['not_included']}",
    ]
    if "unfrozen_peak_bytes" in s:
        lines += [
            f"  without freezing  {s['unfrozen_trainable_params']:,} trainable, backward "
            f"{s['unfrozen_backward_macs']:,} MACs, peak {binary_bytes(s['unfrozen_peak_bytes'])}",
            f"  precomputed at {s['frozen_through']}: {binary_bytes(s['cached_feature_bytes_per_image'])} per image, "
            f"{binary_bytes(s['cached_feature_bytes'])} for {s['cached_feature_images']:,} images; then "
            f"{s['step_macs_after_cut']:,} MACs per step (the layers after the cut)",
        ]
    if s["backward_uncounted_ops"]:
        lines.append(f"  uncounted backward ops: {s['backward_uncounted_ops']}")
    return "\n".join(lines)


def run_report(args: argparse.Namespace) -> int:
    from analyzers.reports.training import layer_rows, to_csv, to_json
    from explorer.cli.common import write_file

    if args.markdown:
        raise CliError("--markdown is not available with --train; use --csv or --json")
    analysis = _training_analysis(args)
    wrote = False
    if args.csv:
        write_file(args.csv, to_csv(analysis, None, args.depth))
        wrote = True
    if args.json:
        write_file(args.json, to_json(analysis, None, args.depth))
        wrote = True
    if not wrote:
        print(format_table(layer_rows(analysis, args.depth)))
    return 0


_COLUMNS = (("layer", "name"), ("type", "type"), ("fwd MACs", "forward_macs"), ("bwd input", "backward_input_macs"),
            ("bwd weight", "backward_weight_macs"), ("bwd/fwd", "backward_to_forward"),
            ("bwd elem ops", "backward_elementwise_ops"), ("saved", "saved_activation_bytes"),
            ("trainable", "trainable_params"))


def format_table(rows: list[dict[str, Any]]) -> str:
    def cell(key: str, value: Any) -> str:
        if value is None:
            return "—"
        if key == "saved_activation_bytes":
            return binary_bytes(value)
        if key == "backward_to_forward":
            return f"{value:.2f}"
        return f"{value:,}" if isinstance(value, int) else str(value)

    table = [[title for title, _ in _COLUMNS]] + [[cell(k, row[k]) for _, k in _COLUMNS] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in table)

