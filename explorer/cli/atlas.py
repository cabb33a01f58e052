"""`python -m explorer atlas timm --jsonl atlas.jsonl`: a whole catalogue analysed in parallel, resumable; on this
machine or a Ray cluster (`--executor ray`); `atlas hf --configs DIR` for a folder of Hugging Face configs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explorer.cli.common import CliError, non_negative_int, positive_int, seconds
from explorer.cli.executor_options import add_executor_arguments, executor_from, print_failures

MAX_SEQ_LEN = 1 << 20  # a million tokens: S²-sized attention counts of a large config stay inside 64 bits

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction) -> None:
    from explorer.atlas import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S
    from explorer.catalogue import DEFAULT_SEQUENCE_LENGTH

    parser = commands.add_parser("atlas", help="analyse every model of torchvision or timm, or every Hugging Face "
                                 "config of a folder, into a JSON-lines file")
    parser.add_argument("catalogue", choices=("torchvision", "timm", "hf"),
                        help="which library's list_models(), or hf: every config.json under --configs")
    parser.add_argument("--jsonl", required=True, metavar="FILE",
                        help="rows are appended as models finish; names already in the file are skipped (resume)")
    parser.add_argument("--configs", metavar="DIR", help="with hf: the folder whose config.json files are analysed "
                        "(one row each, named by its path in the folder; built without weights)")
    parser.add_argument("--seq-len", type=positive_int, default=None, metavar="N",
                        help=f"with hf: tokens per sequence of text models (default {DEFAULT_SEQUENCE_LENGTH}, at "
                        f"most {MAX_SEQ_LEN:,}); vision configs keep their image size")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="worker processes (default and most: the cores, and one per 2 GiB of available memory); "
                        "with --executor ray started here: its CPUs")
    parser.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"per-model limit on build + analysis, above 0 and at most {MAX_TIMEOUT_S:,.0f} (default "
                        f"{DEFAULT_TIMEOUT_S:g}); over it: a timeout row")
    parser.add_argument("--contains", metavar="TEXT", help="only names containing this text")
    parser.add_argument("--limit", type=non_negative_int, metavar="N", help="only the first N names (after --contains)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_executor_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from analyzers.budget import parallel_jobs
    from explorer import catalogue as catalogues
    from explorer.atlas import check_timeout, prepare_worker, run_atlas

    check_timeout(args.timeout)  # before the catalogue is listed: a typo costs nothing
    executor = executor_from(args, workers=args.workers, initializer=prepare_worker)
    source = catalogues.Catalogue(args.catalogue)
    refs, seq_len = _hf_arguments(args, source)
    names = list(refs) if refs is not None else catalogues.names(source)
    if args.contains:
        names = [n for n in names if args.contains in n]
    if args.limit is not None:
        names = names[: args.limit]
    if args.executor == "local":
        jobs = parallel_jobs(args.workers)
        if args.workers is not None and jobs.jobs < args.workers:
            print(f"note: --workers {args.workers} capped at {jobs.jobs}: this machine has {jobs.reason}",
                  file=sys.stderr)
    result = run_atlas(source, Path(args.jsonl), timeout_s=args.timeout, names=names, progress=not args.no_progress,
                       executor=executor, refs=refs, seq_len=seq_len)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.statuses.items())) or "nothing new"
    tail = print_failures(result.summary, "model(s)") if result.summary else ""
    print(f"{args.catalogue}: {result.done} models analysed in {result.seconds:.1f} s ({counts}); "
          f"{result.skipped} already in {args.jsonl}" + (f"; {tail}" if tail else ""))
    return 1 if result.failed else 0


def _hf_arguments(args: argparse.Namespace, source: object) -> tuple[dict[str, str] | None, int | None]:
    """The configs (name → what to build) and sequence length of `atlas hf`; None, None for the libraries."""
    from explorer.catalogue import DEFAULT_SEQUENCE_LENGTH, Catalogue
    from explorer.hf_configs import config_refs

    if source is not Catalogue.HF:
        for flag in ("configs", "seq_len"):
            if getattr(args, flag) is not None:
                raise CliError(f"--{flag.replace('_', '-')} is for `atlas hf`")
        return None, None
    if not args.configs:
        raise CliError("atlas hf needs --configs DIR: a folder with config.json files under it")
    seq_len = args.seq_len or DEFAULT_SEQUENCE_LENGTH
    if seq_len > MAX_SEQ_LEN:
        raise CliError(f"--seq-len {seq_len:,} is over the {MAX_SEQ_LEN:,} tokens allowed")
    return config_refs(Path(args.configs)), seq_len
