"""`python -m explorer summary NAME`: whole-model totals, as text or one JSON line (`--all`: every zoo model)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from analyzers.counting.inputs import parse_input_size
from analyzers.errors import UserError, first_line
from analyzers.safe_text import printable
from explorer.cli.common import EXIT_SOME_FAILED, CliError, limited, parse_options, print_line
from explorer.cli.models import (
    ResolvedModel,
    add_model_arguments,
    analyze_model,
    refuse_crosscheck_over_budget,
    resolve_model,
    roofline_bound,
)

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser("summary", help="whole-model totals")
    add_model_arguments(parser)
    parser.add_argument("--all", action="store_true", help="every registered model, one JSON line each")
    parser.add_argument("--family", help="with --all: only this family")
    parser.add_argument("--crosscheck", choices=["fvcore"], help="add fvcore's count and explain the difference")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--predict", metavar="DEVICE", help="add the predicted time on a table device (rtx5090, "
                        "h100-sxm, cpu…; `explorer predict` for the per-layer view)")
    parser.set_defaults(run=run)
    return parser


def _summary_line(model: ResolvedModel, args: argparse.Namespace) -> dict[str, Any]:
    from analyzers.reports.summary import summary_dict

    analysis = analyze_model(model, args)
    summary = summary_dict(analysis)
    bound = roofline_bound(analysis, args)
    if bound is not None:
        summary.update(roofline_device=args.roofline, roofline_ms=bound.bound_ms,
                       arithmetic_intensity=bound.arithmetic_intensity,
                       memory_bound_layers=sum(1 for layer in bound.layers if layer.memory_bound))
    if args.predict:
        summary.update(predicted_summary(analysis, args))
    if args.crosscheck == "fvcore":
        from analyzers.reports.crosscheck import fvcore_crosscheck

        if model.input_size is None or getattr(args, "inputs", None) and args.input is None:
            raise CliError(f"--crosscheck fvcore runs models that take one image (--input CxHxW, the batch from "
                           f"--batch); {model.name} takes {', '.join(i.name for i in analysis.inputs)}")
        refuse_crosscheck_over_budget(model, args)
        check = fvcore_crosscheck(model.module, model.input_size, args.batch, analysis)
        summary.update(fvcore_macs=check.fvcore_macs, fvcore_total=check.fvcore_total,
                       fvcore_other=check.fvcore_other, crosscheck=check.explanation())
    return summary


def predicted_summary(analysis, args: argparse.Namespace) -> dict[str, Any]:
    """The totals of `explorer predict` for --predict DEVICE: on a GPU in bf16 unless --dtype says fp16/bf16/tf32
    (summary's default fp32 is a storage choice for the counts, not the precision a GPU model runs in)."""
    from analyzers.devices import DeviceKind
    from analyzers.predict.prediction import predict
    from analyzers.reports.prediction import prediction_summary
    from explorer.cli.predict import device_choice

    sheet = device_choice(args.predict, "--predict")
    precision = None if sheet.kind is DeviceKind.GPU and args.dtype == "fp32" else args.dtype
    if sheet.kind is DeviceKind.CPU and args.dtype != "fp32":
        raise CliError("--predict cpu: the CPU is measured in fp32; leave out --dtype")
    try:
        s = prediction_summary(predict(analysis, sheet, precision))
    except (KeyError, ValueError) as exc:
        raise CliError(f"--predict {args.predict}: {str(exc).strip(chr(39))}") from None
    return {"predicted_device": s["device_key"], "predicted_precision": s["precision"],
            **{k: v for k, v in s.items() if k.startswith("predicted_") or k.startswith("held_out")},
            "predicted_note": s["note"]}


def run(args: argparse.Namespace) -> int:
    options = parse_options(args.set)
    size = parse_input_size(args.input) if args.input else None
    if args.family and not args.all:
        raise CliError("--family chooses the models of --all; give --all, or leave --family out")
    if args.all:
        if args.name or args.spec:
            raise CliError("summary --all takes no model name")

        return _summary_all(args, size)
    if not args.name and not args.spec:
        raise CliError("summary needs a model name, --spec FILE or --all (see `python -m explorer list`)")
    summary = limited(args, args.name or args.spec, lambda: _summary_line(
        resolve_model(args.name, args.spec, options, size, args.build_device), args))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(_format_summary(summary))
    return 0


def _summary_all(args: argparse.Namespace, size: tuple[int, ...] | None) -> int:
    """One JSON line per zoo model on stdout; a model that fails (e.g. cannot take --input) gets one line on stderr,
    naming it and why, and the sweep goes on. Exit status 1 when any failed (2 stays for a bad command line)."""
    from explorer.zoo import list_models

    models = list_models(family=args.family)
    failed = 0
    for info in models:
        try:
            summary = limited(args, info.name, lambda: _summary_line(resolve_model(info.name, None, {}, size), args))
        except UserError as exc:  # CliError is one too
            failed += 1
            reason = first_line(exc)
            if not reason.startswith(f"{info.name}: "):  # e.g. a timeout names the model already
                reason = f"{info.name}: {reason}"
            print(f"error: {printable(reason)}", file=sys.stderr, flush=True)
            continue
        print_line(json.dumps(summary, ensure_ascii=False))
    if failed:
        print(f"error: {failed} of {len(models)} models could not be analysed (each named above)"
              + ("; the others were" if failed < len(models) else ""), file=sys.stderr)
        return EXIT_SOME_FAILED
    return 0


def _active_params_line(s: dict[str, Any]) -> list[str]:
    if s.get("active_params", s["params"]) == s["params"]:
        return []
    return [f"  active params     {s['active_params']:>18,}  per token (a mixture of experts: the experts the routing "
            f"does not pick left out)"]


def _causal_attention_line(s: dict[str, Any]) -> list[str]:
    if not s.get("causal_attention_macs"):
        return []
    share = s["causal_kernel_macs"] / s["causal_attention_macs"]
    return [f"  causal attention  {s['causal_attention_macs']:>18,}  MACs of them, counted dense; a causal kernel "
            f"computes {s['causal_kernel_macs']:,} ({share:.1%})"]


def _format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"{printable(s['name'])}  input {s['input']}  batch {s['batch']}  {s['dtype']}",
        f"  params            {s['params']:>18,}  (trainable {s['trainable_params']:,}; {s['param_bytes']:,} bytes)",
        *_active_params_line(s),
        f"  MACs              {s['macs']:>18,}  (FLOPs = 2 × MACs = {s['flops']:,})",
        *_causal_attention_line(s),
        f"  element-wise ops  {s['elementwise_ops']:>18,}  (norms, activations, pooling, adds)",
        f"  activations       {s['activation_bytes']:>18,}  bytes ({s['activation_elements']:,} elements)",
        f"  weight depth      {s['weight_depth']:>18,}  (conv/linear layers on the longest path, as papers count)",
        f"  leaf modules      {s['layers']:>18,}  (module nesting depth {s['depth']})",
        f"  uncounted ops     {s['uncounted_ops']:>18,}",
    ]
    if s.get("caveat"):
        lines.insert(1, f"  {s['caveat']} (on the {s['measured_on']}; another input may cost differently)")
    for layer, ops in s["uncounted_by_layer"].items():
        lines.append(f"    {printable(layer) if layer else '(model)'}: {', '.join(ops)}")
    if "roofline_ms" in s:
        lines.append(f"  roofline bound    {s['roofline_ms']:>18.4f}  ms on {s['roofline_device']} "
                     f"({s['arithmetic_intensity']:.1f} FLOP/byte; {s['memory_bound_layers']} of {s['layers']} "
                     f"layers memory-bound)")
    if "predicted_ms" in s:
        lines.append(f"  predicted time    {s['predicted_ms']:>18.4f}  ms per batch on the {s['predicted_device']} "
                     f"({s['predicted_precision']}; {s['predicted_samples_per_s']:,.0f} samples/s): PREDICTED, 80 % of "
                     f"held-out measurements within {s['predicted_ms_low']:.4f}–{s['predicted_ms_high']:.4f} ms")
    if "crosscheck" in s:
        lines.append(f"  fvcore            {s['fvcore_macs']:>18,}  {s['crosscheck']}")
    return "\n".join(lines)
