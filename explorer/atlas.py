"""The cost atlas: every model of a catalogue analysed at its default input, one JSON line per model.

Why a file of rows: a whole catalogue (timm lists ~1,400 architectures) takes minutes, so the work is split over
worker processes (no more than the cores and the memory budget allow), each row is written the moment its model
finishes by the one result-file writer (an interrupted run resumes where it stopped: names already in the file are
skipped, also when another run wrote them meanwhile), each model has a time limit, and a model that fails is a row
too (its status and one-line reason), never a lost run. The app's Catalogue page reads the shipped files in
`assets/atlas/`.
"""

from __future__ import annotations

import enum
import json
import multiprocessing
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from analyzers.bench.result_schemas import ATLAS_ROWS
from analyzers.budget import ParallelJobs, parallel_jobs
from analyzers.errors import UserError
from explorer.catalogue import Catalogue

__all__ = [
    "ASSETS", "AtlasRow", "AtlasRun", "DEFAULT_TIMEOUT_S", "MAX_TIMEOUT_S", "RowStatus", "analyse_one", "check_timeout",
    "read_rows", "run_atlas",
]

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "atlas"
DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 86_400.0  # a day per model: beyond it a "limit" is a typo (and inf overflows the interval timer)


class RowStatus(str, enum.Enum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class AtlasRow:
    """One model of the atlas. Counts are ours (MACs: conv/linear/matmul/attention; element-wise separate)."""

    catalogue: str
    name: str
    family: str = ""
    task: str = ""
    status: RowStatus = RowStatus.OK
    error: str = ""
    inputs: str = ""  # "images[0] 3x320x320 float32; …"
    params: int | None = None
    macs: int | None = None
    elementwise_ops: int | None = None
    activation_bytes: int | None = None
    activation_elements: int | None = None
    weight_depth: int | None = None
    uncounted_ops: int | None = None
    uncounted: dict[str, int] = field(default_factory=dict)  # aten op → calls without a formula
    measured_on: str = "meta"  # "cpu": data-dependent, measured on one random input
    published_params: int | None = None
    published_gflops: float | None = None  # torchvision `_ops` (conv+linear MACs, G)
    published_top1: float | None = None  # torchvision ImageNet-1K acc@1
    pretrained_tag: str = ""  # timm: the default pretrained tag, whose published results the app joins
    seconds: float = 0.0  # build + analysis, in the worker

    def to_json(self) -> str:
        row = asdict(self)
        row["status"] = self.status.value
        return json.dumps(row, ensure_ascii=False)

    @staticmethod
    def from_json(line: str) -> "AtlasRow":
        """The row of one line, checked against the atlas schema (ValueError names the field that does not fit)."""
        return AtlasRow.from_values(ATLAS_ROWS.decode(line))

    @staticmethod
    def from_values(values: dict[str, object]) -> "AtlasRow":
        """The row of checked values (a missing or null field takes the field's default)."""
        data = {name: value for name, value in values.items() if value is not None}
        return AtlasRow(**{**data, "status": RowStatus(data["status"])})


def read_rows(path: Path) -> list[AtlasRow]:
    """The rows of an atlas file (none when it does not exist); a torn last line (a run killed mid-write) is
    dropped. Anything else that does not fit, or a path that is no regular file, is one `ResultsFileError`."""
    from analyzers.bench.results_file import ResultsFileError
    from analyzers.user_files import UnusableFileError, read_text

    if not path.exists():
        return []
    try:
        text = read_text(path, ATLAS_ROWS.what)
    except UnusableFileError as exc:
        raise ResultsFileError(str(exc)) from None
    lines = text.split("\n")[:-1]  # what follows the last newline is a torn row, or nothing
    rows = []
    for number, line in enumerate(lines, start=1):
        try:
            rows.append(AtlasRow.from_json(line))
        except ValueError as exc:
            raise ResultsFileError(f"{path}: line {number}: {exc}; it is not {ATLAS_ROWS.what}") from None
    return rows


def check_timeout(seconds: float) -> float:
    """A per-model limit in seconds, from (0, `MAX_TIMEOUT_S`]; UserError otherwise (inf, NaN, 1e300, 0, −1)."""
    if not 0 < seconds <= MAX_TIMEOUT_S:
        raise UserError(f"--timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT_S:,.0f}, got "
                        f"{seconds!r}")
    return seconds


def analyse_one(catalogue: str, name: str, timeout_s: float) -> AtlasRow:
    """Build and analyse one catalogue model under a time limit; any failure becomes the row's error."""
    from analyzers.errors import first_line
    from explorer.run_limits import TimeLimitExceeded, time_limit

    started = time.perf_counter()
    try:
        with time_limit(timeout_s):
            return _analysed(catalogue, name, started)
    except TimeLimitExceeded:
        return AtlasRow(catalogue, name, status=RowStatus.TIMEOUT, error=f"stopped after {timeout_s:g} s",
                        seconds=round(time.perf_counter() - started, 3))
    except Exception as exc:  # a row, not a lost run: the message names what failed
        return AtlasRow(catalogue, name, status=RowStatus.ERROR, error=f"{type(exc).__name__}: {first_line(exc)}"[:300],
                        seconds=round(time.perf_counter() - started, 3))


def _analysed(catalogue: str, name: str, started: float) -> AtlasRow:
    from analyzers import analyze
    from explorer.catalogue import build

    model = build(f"{catalogue}:{name}")
    analysis = analyze(model.module, inputs=model.inputs, model_name=model.ref,
                       device="cpu" if model.data_dependent else "meta")
    t = analysis.totals
    uncounted = Counter(op.op for r in analysis.leaves() for op in r.ops if op.kind.value == "uncounted")
    config = getattr(model.module, "pretrained_cfg", None) or {}
    return AtlasRow(
        catalogue=catalogue, name=name, family=model.family, task=model.task.value,
        inputs="; ".join(f"{i.name} {'x'.join(map(str, i.shape))} {i.dtype_name}" for i in analysis.inputs),
        params=t.params, macs=t.macs, elementwise_ops=t.elementwise_ops, activation_bytes=t.activation_bytes,
        activation_elements=t.activation_elements, weight_depth=t.weight_depth, uncounted_ops=t.uncounted_ops,
        uncounted=dict(uncounted), measured_on=analysis.measured_on,
        published_params=model.published.params, published_gflops=model.published.gflops,
        published_top1=model.published.top1, pretrained_tag=str(config.get("tag") or ""),
        seconds=round(time.perf_counter() - started, 3),
    )


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # one process per core: torch's own threads would only contend
    import warnings

    warnings.filterwarnings("ignore")


def _work(task: tuple[str, str, float]) -> str:
    return analyse_one(*task).to_json()


@dataclass(frozen=True)
class AtlasRun:
    done: int  # rows written by this run
    skipped: int  # names already in the file (when it started, or written by another run meanwhile)
    seconds: float
    statuses: dict[str, int]
    workers: ParallelJobs  # the most worker processes this machine allowed (fewer run when fewer models are left)


def run_atlas(catalogue: Catalogue, path: Path, *, workers: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
              names: Iterable[str] | None = None, progress: bool = True) -> AtlasRun:
    """Analyse every name of `catalogue` not yet in `path`, in worker processes, appending rows as they finish.

    `workers` (default: as many as fit) is capped by the cores and by the memory available at one CPU work budget
    per worker. The file is opened (and checked) before any model is built: a file that is not an atlas file is a
    `ResultsFileError`, a bad `timeout_s` a `UserError`.
    """
    from analyzers.bench.results_file import ResultsFile
    from explorer import catalogue as catalogues

    check_timeout(timeout_s)
    wanted = list(dict.fromkeys(names if names is not None else catalogues.names(catalogue)))
    started = time.perf_counter()
    statuses: Counter[str] = Counter()
    with ResultsFile(path, ATLAS_ROWS) as results:
        present = {name for source, name in results.keys() if source == catalogue.value}
        todo = [n for n in wanted if n not in present]
        jobs = parallel_jobs(workers)
        with _progress(len(todo), progress) as bar:
            for line in _results(catalogue.value, todo, min(jobs.jobs, len(todo) or 1), timeout_s):
                row = json.loads(line)
                if results.append(row):  # on disk now; False: another run wrote this model first
                    statuses[row["status"]] += 1
                bar.update(1)
    done = sum(statuses.values())
    return AtlasRun(done, len(wanted) - done, time.perf_counter() - started, dict(statuses), jobs)


def _results(catalogue: str, names: list[str], workers: int, timeout_s: float) -> Iterator[str]:
    tasks = [(catalogue, name, timeout_s) for name in names]
    if workers == 1 or len(tasks) <= 1:
        _worker_init()
        yield from (_work(t) for t in tasks)
        return
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch state forked mid-flight
    with context.Pool(workers, initializer=_worker_init) as pool:  # one start per worker: imports cost seconds
        yield from pool.imap_unordered(_work, tasks, chunksize=1)


class _progress:
    """tqdm's bar on stderr when asked for and installed; otherwise nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="model", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                pass

    def __enter__(self) -> "_progress":
        return self

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
