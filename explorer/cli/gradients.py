"""`python -m explorer gradients NAME [NAME…]`: gradient norm of every weight layer after one pass at initialisation.

One line per model on stdout (first and last layer's ‖∇W‖, their ratio, the spread in decades); `--csv` writes every
layer of every model. The measurement itself is `analyzers.reports.gradients.gradient_profile`.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Sequence

from analyzers.reports.gradients import DEFAULT_BATCH, GradientProfile, Init, gradient_profile
from explorer.cli.common import CliError, non_negative_int

CSV_COLUMNS = ("model", "order", "layer", "type", "params", "grad_norm", "weight_norm", "batch", "seed", "init")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the `gradients` sub-command."""
    parser = subparsers.add_parser(
        "gradients",
        help="gradient norm per weight layer after one forward/backward at initialisation (CPU)",
        description="One forward/backward pass per model at initialisation (He init, fixed seed, random batch and "
        "labels, batch norm in training mode): the gradient norm of every conv/linear layer in execution order. "
        "It shows how the gradient reaches each layer before training, not how a network trains.",
    )
    parser.add_argument("models", nargs="+", metavar="NAME", help="zoo model names, e.g. plain56_cifar resnet56_cifar")
    parser.add_argument("--batch", type=non_negative_int, default=DEFAULT_BATCH, help=f"batch size (default {DEFAULT_BATCH})")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed for weights, inputs and labels (default 0)")
    parser.add_argument("--init", choices=[i.value for i in Init], default=Init.HE.value,
                        help="he: Kaiming normal (the ResNet paper's, default); pytorch: each layer's own default")
    parser.add_argument("--csv", metavar="FILE", help="write every layer of every model as CSV")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from explorer.zoo import build_model

    profiles = []
    for name in args.models:
        model = build_model(name)
        profiles.append(
            gradient_profile(model.module, model.input_size, batch_size=args.batch, seed=args.seed,
                             init=Init(args.init), model_name=name)
        )
    if args.csv:
        write_csv(profiles, args.csv)
    print(summary_table(profiles))
    return 0


def summary_table(profiles: Sequence[GradientProfile]) -> str:
    width = max(len("model"), *(len(p.model_name) for p in profiles))
    lines = [f"{'model':<{width}}  {'layers':>6}  {'first ‖∇W‖':>11}  {'last ‖∇W‖':>10}  {'first/last':>10}  "
             f"{'spread':>8}  {'loss':>5}"]
    for p in profiles:
        lines.append(f"{p.model_name:<{width}}  {len(p.layers):>6}  {p.first.grad_norm:>11.3e}  "
                     f"{p.last.grad_norm:>10.3e}  {p.first_to_last():>10.3e}  {p.spread_decades():>5.2f} dec  "
                     f"{p.loss:>5.2f}")
    first = profiles[0]
    lines.append(f"one forward/backward at initialisation ({first.init.value} init, seed {first.seed}, batch "
                 f"{first.batch_size}, batch norm in training mode, random labels): not training. spread = "
                 "log10(largest ÷ smallest layer's ‖∇W‖).")
    return "\n".join(lines)


def write_csv(profiles: Sequence[GradientProfile], path: str) -> None:
    target = Path(path)
    if target.is_dir():
        raise CliError(f"cannot write {path}: it is a directory")
    try:
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for p in profiles:
                for layer in p.layers:
                    writer.writerow([p.model_name, layer.order, layer.name, layer.type, layer.params,
                                     repr(layer.grad_norm), repr(layer.weight_norm), p.batch_size, p.seed,
                                     p.init.value])
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
