"""The cost atlas: every model of a catalogue analysed at its default input, one JSON line per model.

Why a file of rows: a whole catalogue (timm lists ~1,400 architectures) takes minutes, so the work is split over
worker processes, each row is written the moment its model finishes (an interrupted run resumes where it stopped:
names already in the file are skipped), each model has a time limit, and a model that fails is a row too (its
status and one-line reason), never a lost run. The app's Catalogue page reads the shipped files in `assets/atlas/`.
"""

from __future__ import annotations

import enum
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from explorer.catalogue import Catalogue

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "atlas"
DEFAULT_TIMEOUT_S = 120.0


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
        data = json.loads(line)
        data["status"] = RowStatus(data["status"])
        return AtlasRow(**data)


def read_rows(path: Path) -> list[AtlasRow]:
    """The rows of an atlas file; a torn last line (a run killed mid-write) is dropped."""
    rows = []
    if not path.exists():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(AtlasRow.from_json(line))
        except (ValueError, TypeError, KeyError):
            continue
    return rows


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
    skipped: int  # names already in the file
    seconds: float
    statuses: dict[str, int]


def run_atlas(catalogue: Catalogue, path: Path, *, workers: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
              names: Iterable[str] | None = None, progress: bool = True) -> AtlasRun:
    """Analyse every name of `catalogue` not yet in `path`, in `workers` processes, appending rows as they finish."""
    from explorer import catalogue as catalogues

    wanted = list(names) if names is not None else catalogues.names(catalogue)
    present = {r.name for r in read_rows(path) if r.catalogue == catalogue.value}
    todo = [n for n in wanted if n not in present]
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    started = time.perf_counter()
    statuses: Counter[str] = Counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as out, _progress(len(todo), progress) as bar:
        for line in _results(catalogue.value, todo, workers, timeout_s):
            out.write(line + "\n")
            out.flush()  # a row is on disk the moment its model finishes: a killed run resumes from here
            statuses[json.loads(line)["status"]] += 1
            bar.update(1)
    return AtlasRun(sum(statuses.values()), len(present & set(wanted)), time.perf_counter() - started,
                    dict(statuses))


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
