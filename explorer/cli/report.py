"""`python -m explorer report NAME`: the per-layer table with formulas, as text, Markdown, CSV or JSON."""

from __future__ import annotations

import argparse
from typing import Any

from explorer.cli.common import CliError, limited, non_negative_int, parse_options, write_file
from explorer.cli.models import ResolvedModel, add_model_arguments, analyze_model, resolve_model, roofline_bound
from analyzers.counting.inputs import parse_input_size

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser("report", help="the per-layer table")
    add_model_arguments(parser)
    parser.add_argument("--depth", type=non_negative_int, help="show records down to this depth")
    parser.add_argument("--csv", metavar="FILE", help="write the table as CSV")
    parser.add_argument("--json", metavar="FILE", help="write totals and table as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if not args.name and not args.spec:
        raise CliError("report needs a model name or --spec FILE (see `python -m explorer list`)")
    size = parse_input_size(args.input) if args.input else None
    options = parse_options(args.set)

    def resolve_and_analyze() -> tuple[ResolvedModel, Any]:
        model = resolve_model(args.name, args.spec, options, size, args.build_device)
        return model, analyze_model(model, args)

    model, analysis = limited(args, args.name or args.spec, resolve_and_analyze)
    bound = roofline_bound(analysis, args)
    wrote = False
    if args.csv:
        from analyzers.reports.table import to_csv

        write_file(args.csv, to_csv(analysis, None, args.depth, bound))
        wrote = True
    if args.json:
        from analyzers.reports.table import to_json

        write_file(args.json, to_json(analysis, None, args.depth) + "\n")
        wrote = True
    if args.markdown:
        from analyzers.reports.table import to_markdown

        print(to_markdown(analysis, args.depth))
    elif not wrote:
        from explorer.cli.text_table import layer_table

        print(layer_table(analysis, args.depth, bound))
    return 0
