"""`python -m explorer atlas timm --jsonl atlas.jsonl`: a whole catalogue analysed in parallel, resumable."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    from explorer.atlas import DEFAULT_TIMEOUT_S

    parser = commands.add_parser("atlas", help="analyse every model of torchvision or timm into a JSON-lines file")
    parser.add_argument("catalogue", choices=("torchvision", "timm"), help="which library's list_models()")
    parser.add_argument("--jsonl", required=True, metavar="FILE",
                        help="rows are appended as models finish; names already in the file are skipped (resume)")
    parser.add_argument("--workers", type=int, default=None, metavar="N", help="worker processes (default: cores)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"per-model limit on build + analysis (default {DEFAULT_TIMEOUT_S:g}); over it: a "
                        "timeout row")
    parser.add_argument("--contains", metavar="TEXT", help="only names containing this text")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N names (after --contains)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from explorer import catalogue as catalogues
    from explorer.atlas import run_atlas
    from explorer.cli.common import CliError

    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    if not args.timeout > 0:
        raise CliError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    path = Path(args.jsonl)
    if path.is_dir():
        raise CliError(f"cannot write {args.jsonl}: it is a directory")
    source = catalogues.Catalogue(args.catalogue)
    names = catalogues.names(source)
    if args.contains:
        names = [n for n in names if args.contains in n]
    if args.limit is not None:
        names = names[: max(args.limit, 0)]
    try:
        result = run_atlas(source, path, workers=args.workers, timeout_s=args.timeout, names=names,
                           progress=not args.no_progress)
    except OSError as exc:
        raise CliError(f"cannot write {args.jsonl}: {exc.strerror or exc}") from None
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.statuses.items())) or "nothing new"
    print(f"{args.catalogue}: {result.done} models analysed in {result.seconds:.1f} s ({counts}); "
          f"{result.skipped} already in {args.jsonl}")
    return 0
