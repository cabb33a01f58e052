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
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from analyzers.bench.result_schemas import ATLAS_ROWS
from analyzers.errors import UserError
from explorer.catalogue import Catalogue

if TYPE_CHECKING:
    from analyzers.distributed.executor import Executor
    from analyzers.distributed.sweep import SweepSummary
    from analyzers.distributed.work import WorkUnit

__all__ = [
    "ASSETS", "AtlasJob", "AtlasRow", "AtlasRun", "DEFAULT_TIMEOUT_S", "MAX_TIMEOUT_S", "RowStatus", "analyse_job",
    "analyse_one", "atlas_units", "check_timeout", "prepare_worker", "read_rows", "run_atlas",
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
    seq_len: int | None = None  # hf configs: the sequence length asked for (a vision config keeps its image size)
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

    def to_values(self) -> dict[str, object]:
        """The row as the atlas schema's values (column → plain value)."""
        row = asdict(self)
        row["status"] = self.status.value
        return row

    def to_json(self) -> str:
        return json.dumps(self.to_values(), ensure_ascii=False)

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


def analyse_one(catalogue: str, name: str, timeout_s: float, *, ref: str | None = None,
                seq_len: int | None = None) -> AtlasRow:
    """Build and analyse one catalogue model under a time limit; any failure becomes the row's error.

    `ref` is what to build when it is not `catalogue:name` (an hf config's path), `seq_len` the sequence length of
    token inputs (hf).
    """
    from analyzers.errors import first_line
    from explorer.run_limits import TimeLimitExceeded, time_limit

    started = time.perf_counter()
    try:
        with time_limit(timeout_s):
            return _analysed(catalogue, name, started, ref or f"{catalogue}:{name}", seq_len)
    except TimeLimitExceeded:
        return AtlasRow(catalogue, name, status=RowStatus.TIMEOUT, error=f"stopped after {timeout_s:g} s",
                        seq_len=seq_len, seconds=round(time.perf_counter() - started, 3))
    except Exception as exc:  # a row, not a lost run: the message names what failed
        return AtlasRow(catalogue, name, status=RowStatus.ERROR, error=f"{type(exc).__name__}: {first_line(exc)}"[:300],
                        seq_len=seq_len, seconds=round(time.perf_counter() - started, 3))


def _analysed(catalogue: str, name: str, started: float, ref: str, seq_len: int | None) -> AtlasRow:
    from analyzers import analyze
    from explorer.catalogue import DEFAULT_SEQUENCE_LENGTH, build

    hf = catalogue == Catalogue.HF.value
    if hf:
        from explorer.hf_configs import check_built_size, check_config_size

        check_config_size(Path(ref.removeprefix("hf:")), name)
    model = build(ref, sequence_length=seq_len or DEFAULT_SEQUENCE_LENGTH)
    if hf:
        check_built_size(model.module, name)
    analysis = analyze(model.module, inputs=model.inputs, model_name=model.ref,
                       device="cpu" if model.data_dependent else "meta")
    t = analysis.totals
    uncounted = Counter(op.op for r in analysis.leaves() for op in r.ops if op.kind.value == "uncounted")
    config = getattr(model.module, "pretrained_cfg", None) or {}
    return AtlasRow(
        catalogue=catalogue, name=name, family=model.family, task=model.task.value,
        inputs="; ".join(f"{i.name} {'x'.join(map(str, i.shape))} {i.dtype_name}" for i in analysis.inputs),
        seq_len=seq_len,
        params=t.params, macs=t.macs, elementwise_ops=t.elementwise_ops, activation_bytes=t.activation_bytes,
        activation_elements=t.activation_elements, weight_depth=t.weight_depth, uncounted_ops=t.uncounted_ops,
        uncounted=dict(uncounted), measured_on=analysis.measured_on,
        published_params=model.published.params, published_gflops=model.published.gflops,
        published_top1=model.published.top1, pretrained_tag=str(config.get("tag") or ""),
        seconds=round(time.perf_counter() - started, 3),
    )


def prepare_worker() -> None:
    """Once per worker process: one torch thread (one process per core), library warnings silenced."""
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # read when transformers is first imported (hf rows)
    import torch

    torch.set_num_threads(1)  # one process per core: torch's own threads would only contend
    import warnings

    warnings.filterwarnings("ignore")


@dataclass(frozen=True)
class AtlasJob:
    """What a worker needs to analyse one model: the row's name, what to build, and its bounds."""

    catalogue: str
    name: str
    timeout_s: float
    ref: str | None = None  # what `build` takes, when not "catalogue:name" (an hf config's path)
    seq_len: int | None = None  # hf: the sequence length asked for


def analyse_job(job: AtlasJob) -> dict[str, object]:
    """The task every executor runs: one model's row, as the atlas schema's values."""
    row = analyse_one(job.catalogue, job.name, job.timeout_s, ref=job.ref, seq_len=job.seq_len)
    return row.to_values()


@dataclass(frozen=True)
class AtlasRun:
    done: int  # rows written by this run
    skipped: int  # names already in the file (when it started, or written by another run meanwhile)
    seconds: float
    statuses: dict[str, int]
    summary: SweepSummary | None = None  # the sweep in full: rows written, failures with their reasons, retries

    @property
    def failed(self) -> int:
        """Models that came back without a row (their workers kept dying…): a rerun tries them again."""
        return len(self.summary.failed) if self.summary else 0

    @property
    def retried(self) -> int:
        """Tasks run again after their worker or node died."""
        return self.summary.retried if self.summary else 0


def atlas_units(catalogue: str, names: Iterable[str], timeout_s: float, *, refs: dict[str, str] | None = None,
                seq_len: int | None = None) -> list[WorkUnit]:
    """One keyed unit per name (a repeated name once); `refs` maps a name to what to build (hf configs)."""
    from analyzers.distributed.work import WorkKey, WorkUnit, torch_version

    version = torch_version()
    units = []
    for name in dict.fromkeys(names):
        key = WorkKey(catalogue, name, "default" if seq_len is None else f"seq {seq_len}", "default", 1, "meta",
                      version)
        units.append(WorkUnit(key, AtlasJob(catalogue, name, timeout_s, (refs or {}).get(name), seq_len)))
    return units


def run_atlas(catalogue: Catalogue, path: Path, *, workers: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
              names: Iterable[str] | None = None, progress: bool = True, executor: Executor | None = None,
              refs: dict[str, str] | None = None, seq_len: int | None = None) -> AtlasRun:
    """Analyse every name of `catalogue` not yet in `path` on `executor`, appending rows as they finish.

    The default executor is worker processes on this machine: `workers` (default: as many as fit) is capped by the
    cores and by the memory available at one CPU work budget per worker. The file is opened (and checked) before
    any model is built: a file that is not an atlas file is a `ResultsFileError`, a bad `timeout_s` a `UserError`.
    `refs` and `seq_len` are for Hugging Face configs (`explorer.hf_configs.config_refs`).
    """
    from analyzers.bench.results_file import ResultsFile
    from analyzers.distributed.local import LocalExecutor
    from analyzers.distributed.sweep import run_units
    from explorer import catalogue as catalogues

    check_timeout(timeout_s)
    wanted = list(names if names is not None else catalogues.names(catalogue))
    units = atlas_units(catalogue.value, wanted, timeout_s, refs=refs, seq_len=seq_len)
    executor = executor or LocalExecutor(workers, initializer=prepare_worker)

    def done(unit: WorkUnit, present: set) -> bool:
        return (unit.key.catalogue, unit.key.model, seq_len) in present

    with ResultsFile(path, ATLAS_ROWS) as results:
        summary = run_units(units, analyse_job, executor, results, done=done, progress=progress, unit_name="model")
    return AtlasRun(summary.written, summary.skipped, summary.seconds, summary.statuses, summary)
