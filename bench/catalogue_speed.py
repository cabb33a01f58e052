"""FlopCounterMode ÷ ours over the timm catalogue (issue 16: median ≥ 5×, no model slower than FlopCounterMode).

Usage: python bench/catalogue_speed.py [--sample per-family|all | --models a,b,c] [--repeats 5] [--timeout 120]
                                       [--max-params 400e6] [--workers 1] [--out rows.jsonl]

Each model is built as the catalogue builds `timm:NAME` (explorer.catalogue.build: on meta, no weights, timm's
`pretrained_cfg` input size, batch 1) and put in eval mode, so both counters see the same inference forward. Ours
is called as the atlas calls it (`analyze(module, inputs=model.inputs, device="meta")`); torch's `FlopCounterMode`
runs the same module on a meta tensor of the same input. Both run under `torch.no_grad()`, interleaved in one
process (one warm-up each, then ours, FCM, ours, FCM…), each call timed by `time.process_time()`; the reported
time is the minimum over `--repeats` calls, so other processes' load and a one-off stall land on neither side.
Counts are compared exactly: FCM's total FLOPs must equal 2 × our MACs; every mismatch is listed.

Every model runs in a worker process (spawn, torch.set_num_threads(1), a fresh worker every few models) under a
per-model time limit covering build and measurement; models above `--max-params` are not measured (FlopCounterMode
on meta takes minutes on billion-parameter models) and are counted as skipped. One JSON line per model is appended
to `--out` the moment it finishes; a rerun skips names already there (except models skipped for size that the new
`--max-params` admits). The summary is printed as Markdown.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import enum
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere; spawned workers import this module too

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_PARAMS = 400_000_000
HARD_KILL_GRACE_S = 30.0  # past the time limit, a worker stuck in one C call exits (the row: "worker died")
TASKS_PER_WORKER = 10  # a fresh interpreter every few models: memory the models leave behind is returned
SLOWEST_SHOWN = 5


class Sample(str, enum.Enum):
    PER_FAMILY = "per-family"  # the first model by name of every timm family
    ALL = "all"


class Status(str, enum.Enum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"  # above --max-params: not measured


class StageFailed(Exception):
    """Building the model, our analysis or FlopCounterMode failed: the message says which, then why."""


class ArgumentError(ValueError):
    """A bad command-line value: one line, exit status 2."""


@dataclass(frozen=True)
class SpeedRow:
    """One timm model: both counters' warm times (ms of process CPU time, minimum over the repeats) and counts."""

    name: str
    family: str = ""
    status: Status = Status.OK
    error: str = ""
    params: int | None = None
    input: str = ""  # "1x3x224x224"
    ours_ms: float | None = None
    fcm_ms: float | None = None
    ratio: float | None = None  # FlopCounterMode time ÷ ours: above 1, ours is faster
    ours_flops: int | None = None  # 2 × our MACs
    fcm_flops: int | None = None  # FlopCounterMode's total
    counts_equal: bool | None = None
    seconds: float = 0.0  # the whole task in the worker: build + warm-ups + repeats (wall)

    def to_json(self) -> str:
        row = dataclasses.asdict(self)
        row["status"] = self.status.value
        return json.dumps(row)

    @staticmethod
    def from_json(line: str) -> "SpeedRow":
        data = json.loads(line)
        data["status"] = Status(data["status"])
        return SpeedRow(**data)


def read_rows(path: Path) -> dict[str, SpeedRow]:
    """The file's rows by name (a later row replaces an earlier one); a torn last line is dropped."""
    rows: dict[str, SpeedRow] = {}
    if not path.exists():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = SpeedRow.from_json(line)
        except (ValueError, TypeError, KeyError):
            continue
        rows[row.name] = row
    return rows


def still_to_do(wanted: Sequence[str], present: dict[str, SpeedRow], max_params: int) -> list[str]:
    """Names without a row yet, and those skipped for size that `max_params` now admits."""
    def done(name: str) -> bool:
        row = present.get(name)
        if row is None:
            return False
        return not (row.status is Status.SKIPPED and row.params is not None and row.params <= max_params)
    return [n for n in wanted if not done(n)]


# --- the summary ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    measured: int
    median_ratio: float | None
    min_ratio: float | None
    min_ratio_model: str | None
    slowest: list[SpeedRow]  # the lowest ratios, lowest first
    fcm_faster: list[SpeedRow]  # ratio below 1: FlopCounterMode beat us
    mismatches: list[SpeedRow]
    failures: list[SpeedRow]  # errors and timeouts
    skipped: list[SpeedRow]


def summarise(rows: Iterable[SpeedRow]) -> Summary:
    rows = list(rows)
    measured = sorted((r for r in rows if r.status is Status.OK and r.ratio is not None), key=lambda r: r.ratio)
    ratios = [r.ratio for r in measured]
    return Summary(
        measured=len(measured),
        median_ratio=statistics.median(ratios) if ratios else None,
        min_ratio=ratios[0] if ratios else None,
        min_ratio_model=measured[0].name if measured else None,
        slowest=measured[:SLOWEST_SHOWN],
        fcm_faster=[r for r in measured if r.ratio < 1],
        mismatches=[r for r in rows if r.status is Status.OK and r.counts_equal is False],
        failures=[r for r in rows if r.status in (Status.ERROR, Status.TIMEOUT)],
        skipped=[r for r in rows if r.status is Status.SKIPPED],
    )


def _times(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def markdown(summary: Summary, max_params: int) -> str:
    s = summary
    out = ["| measured | median FCM ÷ ours | min FCM ÷ ours | FCM faster than ours | count mismatches | failures "
           "| skipped (size) |",
           "|---:|---:|---|---:|---:|---:|---:|",
           f"| {s.measured} | {_times(s.median_ratio)} | {_times(s.min_ratio)} ({s.min_ratio_model or '—'}) | "
           f"{len(s.fcm_faster)} | {len(s.mismatches)} | {len(s.failures)} | {len(s.skipped)} |", ""]
    if s.slowest:
        out += [f"The {len(s.slowest)} lowest ratios (ms of process CPU time, minimum over the repeats):", "",
                "| model | family | ours ms | FCM ms | FCM ÷ ours | counts equal |", "|---|---|---:|---:|---:|---|"]
        out += [f"| {r.name} | {r.family} | {r.ours_ms:.2f} | {r.fcm_ms:.2f} | {_times(r.ratio)} | "
                f"{'yes' if r.counts_equal else 'NO'} |" for r in s.slowest]
        out.append("")
    if s.fcm_faster:
        out += ["FlopCounterMode faster than ours: " + ", ".join(f"{r.name} ({_times(r.ratio)})" for r in s.fcm_faster),
                ""]
    if s.mismatches:
        out += ["Count mismatches (FCM FLOPs vs 2 × our MACs):", ""]
        out += [f"- {r.name}: FCM {r.fcm_flops:,}, ours {r.ours_flops:,} (FCM − ours {r.fcm_flops - r.ours_flops:+,})"
                for r in s.mismatches]
        out.append("")
    if s.failures:
        out += ["Failures:", ""] + [f"- {r.name} ({r.status.value}): {r.error}" for r in s.failures] + [""]
    if s.skipped:
        out += [f"Skipped {len(s.skipped)} model(s) above --max-params {max_params:,} (FlopCounterMode on meta takes "
                "minutes there): " + ", ".join(f"{r.name} ({r.params / 1e6:,.0f} M)" for r in s.skipped), ""]
    return "\n".join(out).rstrip()


# --- the worker: one model ------------------------------------------------------------------------------------------

def _worker_init() -> None:
    import warnings

    import torch

    torch.set_num_threads(1)  # one worker per core: torch's own threads would only contend
    warnings.filterwarnings("ignore")


def measure_model(name: str, repeats: int, timeout_s: float, max_params: int) -> str:
    """Runs in the worker: one model's row as a JSON line; any failure becomes the row's error."""
    from analyzers.errors import first_line
    from explorer.run_limits import TimeLimitExceeded, time_limit

    started = time.perf_counter()
    watchdog = threading.Timer(timeout_s + HARD_KILL_GRACE_S, os._exit, args=(3,))  # a C call SIGALRM cannot stop
    watchdog.daemon = True
    watchdog.start()
    try:
        with time_limit(timeout_s):
            row = _measured(name, repeats, max_params)
    except TimeLimitExceeded:
        row = SpeedRow(name, status=Status.TIMEOUT, error=f"stopped after {timeout_s:g} s")
    except StageFailed as exc:  # a row, not a lost run
        row = SpeedRow(name, status=Status.ERROR, error=str(exc)[:300])
    except Exception as exc:
        row = SpeedRow(name, status=Status.ERROR, error=f"{type(exc).__name__}: {first_line(exc)}"[:300])
    finally:
        watchdog.cancel()
    return dataclasses.replace(row, seconds=round(time.perf_counter() - started, 3)).to_json()


def _measured(name: str, repeats: int, max_params: int) -> SpeedRow:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from analyzers import analyze
    from analyzers.counting.inputs import as_call, materialize
    from explorer.catalogue import build

    model = _in_stage("build", lambda: build(f"timm:{name}"))
    module = model.module.eval()
    params = sum(p.numel() for p in module.parameters())
    shape = "x".join(map(str, model.inputs.shape))
    base = SpeedRow(name, model.family, params=params, input=shape)
    if params > max_params:
        return dataclasses.replace(base, status=Status.SKIPPED, error=f"{params:,} params > --max-params")
    args, kwargs = as_call(materialize(model.inputs, torch.float32, "meta", None))

    def ours() -> int:
        return analyze(module, inputs=model.inputs, model_name=model.ref, device="meta").totals.macs

    def theirs() -> int:
        with FlopCounterMode(display=False) as mode:
            module(*args, **kwargs)
        return mode.get_total_flops()

    ours_s, theirs_s = [], []
    with torch.no_grad():
        macs = _in_stage("ours", ours)  # the warm-ups: lazy imports, caches
        flops = _in_stage("FlopCounterMode", theirs)
        for _ in range(repeats):
            start = time.process_time()
            ours()
            ours_s.append(time.process_time() - start)
            start = time.process_time()
            theirs()
            theirs_s.append(time.process_time() - start)
    ours_ms, fcm_ms = min(ours_s) * 1e3, min(theirs_s) * 1e3
    return dataclasses.replace(base, ours_ms=round(ours_ms, 3), fcm_ms=round(fcm_ms, 3),
                               ratio=round(fcm_ms / ours_ms, 3) if ours_ms > 0 else None, ours_flops=2 * macs,
                               fcm_flops=int(flops), counts_equal=int(flops) == 2 * macs)


def _in_stage(stage: str, call):
    from analyzers.errors import first_line

    try:
        return call()
    except Exception as exc:
        raise StageFailed(f"{stage}: {type(exc).__name__}: {first_line(exc)}") from exc


# --- the parent -----------------------------------------------------------------------------------------------------

def timm_names(sample: Sample) -> list[tuple[str, str]]:
    """(name, family) of every timm model, or of the first by name of each family."""
    from explorer.catalogue import Catalogue, family, names

    everything = [(n, family(Catalogue.TIMM, n)) for n in sorted(names(Catalogue.TIMM))]
    if sample is Sample.ALL:
        return everything
    first: dict[str, str] = {}
    for name, fam in everything:
        first.setdefault(fam, name)
    return sorted((name, fam) for fam, name in first.items())


def run(names: list[str], out: Path, repeats: int, timeout_s: float, max_params: int, workers: int,
        progress: bool = True) -> None:
    """Measure `names` in `workers` spawned processes, appending each row to `out` as it finishes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    pending = list(names)
    with open(out, "a", encoding="utf-8") as file:
        while pending:  # a worker that dies breaks the pool: record its models and carry on with a new pool
            pending = _one_pool(pending, file, repeats, timeout_s, max_params, workers, progress)


def _one_pool(names: list[str], file, repeats: int, timeout_s: float, max_params: int, workers: int,
              progress: bool) -> list[str]:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch state forked mid-flight
    queue = list(names)
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
                                                max_tasks_per_child=TASKS_PER_WORKER) as pool:
        running: dict[concurrent.futures.Future, str] = {}
        while queue or running:
            while queue and len(running) < workers:  # at most one model per worker in flight: its clock is its own
                name = queue.pop(0)
                running[pool.submit(measure_model, name, repeats, timeout_s, max_params)] = name
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            broken = False
            for future in done:
                name = running.pop(future)
                try:
                    line = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    broken = True
                    line = SpeedRow(name, status=Status.ERROR, error=f"worker process died (killed past the "
                                    f"{timeout_s:g} s limit, out of memory, or crashed)").to_json()
                _write(file, line, progress)
            if broken:
                for future, name in running.items():
                    _write(file, SpeedRow(name, status=Status.ERROR,
                                          error="worker pool broke while this model ran").to_json(), progress)
                return queue
    return []


def _write(file, line: str, progress: bool) -> None:
    file.write(line + "\n")
    file.flush()  # on disk the moment it finishes: a killed run resumes from here
    if progress:
        row = SpeedRow.from_json(line)
        said = f"{row.ratio:.2f}×" if row.ratio is not None else f"{row.status.value}: {row.error}"
        print(f"{time.strftime('%H:%M:%S')} {row.name}: {said} ({row.seconds:.1f} s)", file=sys.stderr, flush=True)


def _positive(text: str, what: str, kind: type = int) -> float:
    """`text` as a positive number of `kind` (an int may be written 400e6)."""
    from analyzers.numbers import decimal_number

    value = decimal_number(text)  # ASCII only: float() also reads '٣' and '1_0'
    if value is None or not value > 0 or value == float("inf") or (kind is int and not value.is_integer()):
        raise ArgumentError(f"{what} must be a positive {'whole ' if kind is int else ''}number, got {text!r}")
    return int(value) if kind is int else value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own complaints, as one line too
        raise ArgumentError(message)


@dataclass(frozen=True)
class Options:
    sample: Sample | None
    models: list[str] | None
    repeats: int
    timeout_s: float
    max_params: int
    workers: int
    out: Path | None


def parse_args(argv: Sequence[str] | None) -> Options:
    """The options, or `ArgumentError` with one line saying what was wrong and what is allowed."""
    parser = _Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default=None, help="per-family (default: the first model of each timm family) "
                        "or all")
    parser.add_argument("--models", help="comma-separated timm names instead of a sample")
    parser.add_argument("--repeats", default="5", help="timed calls of each counter after its warm-up (default 5)")
    parser.add_argument("--timeout", default=str(DEFAULT_TIMEOUT_S), help="seconds per model (default 120)")
    parser.add_argument("--max-params", default=str(DEFAULT_MAX_PARAMS), help="skip larger models (default 400e6)")
    parser.add_argument("--workers", default="1", help="worker processes (default 1)")
    parser.add_argument("--out", type=Path, help="JSON-lines file of rows (appended; names already there skipped)")
    args = parser.parse_args(argv)
    if args.sample is not None and args.models is not None:
        raise ArgumentError("give --sample or --models, not both")
    sample = None
    if args.models is None:
        try:
            sample = Sample(args.sample or Sample.PER_FAMILY.value)
        except ValueError:
            raise ArgumentError(f"--sample must be one of {', '.join(s.value for s in Sample)}, got "
                                f"{args.sample!r}") from None
    models = None
    if args.models is not None:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
        if not models:
            raise ArgumentError("--models needs at least one timm name, e.g. --models resnet50,vit_small_patch16_224")
    if args.out is not None and args.out.is_dir():
        raise ArgumentError(f"--out must be a file, got the folder {str(args.out)!r}")
    return Options(sample, models, int(_positive(args.repeats, "--repeats")), _positive(args.timeout, "--timeout",
                   float), int(_positive(args.max_params, "--max-params")), int(_positive(args.workers, "--workers")),
                   args.out)


def _engine_state() -> str:
    """Which engine `ours` was: the commit and how many analyzers/ files differed from it (a shared checkout)."""
    def git(*argv: str) -> str | None:
        done = subprocess.run(["git", *argv], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.strip() if done.returncode == 0 else None
    head = git("rev-parse", "--short", "HEAD")
    if head is None:
        return f"engine from {ROOT} (not a git checkout)"
    changed = (git("status", "--porcelain", "--", "analyzers") or "").splitlines()
    return f"git {head}" + (f", {len(changed)} engine file(s) changed since" if changed else "")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = parse_args(argv)
    except ArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import tempfile

    import timm  # noqa: F401  (fails early and plainly where timm is missing)

    chosen = timm_names(options.sample) if options.sample is not None else None
    if options.models is not None:
        known = dict(timm_names(Sample.ALL))
        unknown = [m for m in options.models if m not in known]
        if unknown:
            print(f"error: unknown timm model(s) {', '.join(map(repr, unknown))}; see timm.list_models()",
                  file=sys.stderr)
            return 2
        chosen = [(m, known[m]) for m in options.models]
    out = options.out or Path(tempfile.mkdtemp()) / "catalogue_speed.jsonl"
    wanted = [name for name, _ in chosen]
    todo = still_to_do(wanted, read_rows(out), options.max_params)
    started, load_before = time.perf_counter(), os.getloadavg()
    print(f"{len(wanted)} model(s), {len(wanted) - len(todo)} already in {out}; measuring {len(todo)} with "
          f"{options.workers} worker(s)", file=sys.stderr, flush=True)
    if todo:
        run(todo, out, options.repeats, options.timeout_s, options.max_params, options.workers)
    rows = read_rows(out)
    print(markdown(summarise(rows[n] for n in wanted if n in rows), options.max_params))
    print(f"\nRows in {out}; this run {time.perf_counter() - started:.0f} s for {len(todo)} model(s), {options.workers} "
          f"worker(s), 1 torch thread, min of {options.repeats} after a warm-up; load average before "
          f"{load_before[0]:.1f}, after {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {_engine_state()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
