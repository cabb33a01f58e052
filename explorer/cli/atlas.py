"""`python -m explorer atlas timm --jsonl atlas.jsonl`: a whole catalogue analysed in parallel, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explorer.cli.common import non_negative_int, positive_int, seconds

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction) -> None:
    from explorer.atlas import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S

    parser = commands.add_parser("atlas", help="analyse every model of torchvision or timm into a JSON-lines file")
    parser.add_argument("catalogue", choices=("torchvision", "timm"), help="which library's list_models()")
    parser.add_argument("--jsonl", required=True, metavar="FILE",
                        help="rows are appended as models finish; names already in the file are skipped (resume)")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="worker processes (default and most: the cores, and one per 2 GiB of available memory)")
    parser.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"per-model limit on build + analysis, above 0 and at most {MAX_TIMEOUT_S:,.0f} (default "
                        f"{DEFAULT_TIMEOUT_S:g}); over it: a timeout row")
    parser.add_argument("--contains", metavar="TEXT", help="only names containing this text")
    parser.add_argument("--limit", type=non_negative_int, metavar="N", help="only the first N names (after --contains)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from analyzers.budget import parallel_jobs
    from explorer import catalogue as catalogues
    from explorer.atlas import check_timeout, run_atlas

    check_timeout(args.timeout)  # before the catalogue is listed: a typo costs nothing
    source = catalogues.Catalogue(args.catalogue)
    names = catalogues.names(source)
    if args.contains:
        names = [n for n in names if args.contains in n]
    if args.limit is not None:
        names = names[: args.limit]
    jobs = parallel_jobs(args.workers)
    if args.workers is not None and jobs.jobs < args.workers:
        print(f"note: --workers {args.workers} capped at {jobs.jobs}: this machine has {jobs.reason}", file=sys.stderr)
    result = run_atlas(source, Path(args.jsonl), workers=jobs.jobs, timeout_s=args.timeout, names=names,
                       progress=not args.no_progress)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.statuses.items())) or "nothing new"
    print(f"{args.catalogue}: {result.done} models analysed in {result.seconds:.1f} s ({counts}); "
          f"{result.skipped} already in {args.jsonl}")
    return 0
