"""`python -m explorer list`: the registered zoo models with their family, default input and builder options."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("list", help="registered model names with family and default input")
    parser.add_argument("--family", help="only this family (e.g. resnet, inception)")
    parser.add_argument("--contains", help="only names containing this text")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from explorer.zoo import list_models

    models = list_models(family=args.family, name_contains=args.contains)
    if args.json:
        for m in models:
            options = [{"name": o.name, "kind": o.kind.value if o.kind else None, "default": o.default,
                        "minimum": o.minimum, "maximum": o.maximum, "choices": list(o.choices), "help": o.help}
                       for o in m.options]
            print(json.dumps({"name": m.name, "family": m.family.value, "input": "x".join(map(str, m.input_size)),
                              "paper": m.paper, "options": options}, ensure_ascii=False))
        return 0
    rows = [("name", "family", "default input", "options (--set KEY=VALUE)")]
    rows += [(m.name, m.family.value, "x".join(map(str, m.input_size)), " ".join(o.summary() for o in m.options))
             for m in models]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    return 0
