"""`python -m explorer gradients NAME [NAME…]`: gradient norm of every weight layer after one pass at initialisation.

One line per model on stdout (first and last layer's ‖∇W‖, their ratio, the spread in decades); `--csv` appends every
layer of every model through the one result-file writer. The measurement itself is
`analyzers.reports.gradients.gradient_profile`.
"""

from __future__ import annotations

import argparse

from analyzers.bench.result_schemas import GRADIENT_ROWS
from analyzers.bench.results_file import ResultsFile
from analyzers.reports.gradients import DEFAULT_BATCH, GradientProfile, Init, gradient_profile
from explorer.cli.common import non_negative_int, print_line

__all__ = ["add_parser", "csv_rows", "run", "summary_header", "summary_line"]


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
    parser.add_argument("--csv", metavar="FILE",
                        help="append every layer of every model to a CSV, each model as it finishes (a rerun skips "
                        "the models already in it)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """One pass per model, its summary line printed and (with --csv) its rows written the moment it finishes: a
    kill or Ctrl-C keeps every finished model, and a rerun skips the models whose rows are all in the file."""
    if args.csv is None:
        return _run(args, None)
    with ResultsFile(args.csv, GRADIENT_ROWS) as results:  # checked before any model is built
        return _run(args, results)


def _run(args: argparse.Namespace, results: ResultsFile | None) -> int:
    from explorer.zoo import build_model

    init = Init(args.init)
    width = max(len("model"), *(len(name) for name in args.models))
    for number, name in enumerate(dict.fromkeys(args.models)):
        if results is not None and _complete(results.keys(), name, args.batch, args.seed, init):
            line = f"{name:<{width}}  already in {args.csv} (skipped)"
        else:
            model = build_model(name)
            profile = gradient_profile(model.module, model.input_size, batch_size=args.batch, seed=args.seed,
                                       init=init, model_name=name)
            if results is not None:
                results.append_all(csv_rows(profile))  # one write: the model's rows land together
            line = summary_line(profile, width)
        if number == 0:
            print_line(summary_header(width))  # after the first model: a refused first model prints only its error
        print_line(line)
    print_line(f"one forward/backward at initialisation ({init.value} init, seed {args.seed}, batch {args.batch}, "
               "batch norm in training mode, random labels): not training. spread = log10(largest ÷ smallest "
               "layer's ‖∇W‖).")
    return 0


def summary_header(width: int) -> str:
    return (f"{'model':<{width}}  {'layers':>6}  {'first ‖∇W‖':>11}  {'last ‖∇W‖':>10}  {'first/last':>10}  "
            f"{'spread':>8}  {'loss':>5}")


def summary_line(p: GradientProfile, width: int) -> str:
    return (f"{p.model_name:<{width}}  {len(p.layers):>6}  {p.first.grad_norm:>11.3e}  {p.last.grad_norm:>10.3e}  "
            f"{p.first_to_last():>10.3e}  {p.spread_decades():>5.2f} dec  {p.loss:>5.2f}")


def csv_rows(p: GradientProfile) -> list[dict[str, object]]:
    """Every weight layer of one model as a `GRADIENT_ROWS` row."""
    return [{"model": p.model_name, "order": layer.order, "layer": layer.name, "type": layer.type,
             "params": layer.params, "grad_norm": layer.grad_norm, "weight_norm": layer.weight_norm,
             "batch": p.batch_size, "seed": p.seed, "init": p.init.value, "layers": len(p.layers)}
            for layer in p.layers]


def _complete(keys: set[tuple[object, ...]], name: str, batch: int, seed: int, init: Init) -> bool:
    """Whether the file holds every row of this model at these settings: rows 0 … layers − 1 (a kill in the middle
    of a model's write leaves fewer, and the model is measured again, its missing rows added)."""
    orders: dict[int, set[int]] = {}  # layers → the orders present
    for model, b, s, i, layers, order in keys:
        if (model, b, s, i) == (name, batch, seed, init.value):
            orders.setdefault(layers, set()).add(order)
    return any(present == set(range(layers)) for layers, present in orders.items())
