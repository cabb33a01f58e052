"""The measurements the time model is fitted to and validated on, with each measured model's kernels.

Sources (see ../shared/data/timm/PROVENANCE.md and assets/benchmarks/): timm's published throughput files (RTX 5090
and RTX PRO 6000 Max-Q inference with torch 2.9.1, RTX 3090 inference with torch 2.4, RTX 3090 training with torch
1.12; AMP fp16 autocast, NCHW, eager) and this machine's CPU (bench/measure_cpu_times.py: one thread, fp32, process
CPU time). A row's measured time is milliseconds per batch: batch ÷ samples per second.

Each measured (model, image size) is analysed once on the meta device in fp32 (`analyze` at batch 1, or
`analyze_training` at batch 2 for the training file) and the analysis is cached, pickled and gzipped (~10 KB), in
`.cache/time_model/` (git-ignored): the first run analyses ~2,500 models in worker processes (about 15 minutes of
CPU on this 2-core machine), later runs read the cache and derive the kernels (`analyzers.predict.kernels`) in
seconds, so a change to the kernel model needs no new analyses. A model is left out, with the reason
counted, when timm no longer builds it under that name, when the analysis fails, or when our MACs and timm's
fvcore GMACs disagree by more than 30 % (then the model we analysed is not the one timm measured: another image
size handled inside the model, a renamed variant); fvcore also counts norms, so the two agree to a few per cent
otherwise.
"""

from __future__ import annotations

import csv
import enum
import gzip
import multiprocessing
import os
import pickle
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parents[1]

from analyzers.devices import Precision, datasheet  # noqa: E402
from analyzers.predict.fit import FitSample  # noqa: E402
from analyzers.predict.time_model import DeviceDescription, KernelArrays  # noqa: E402

TIMM_DATA = ROOT.parent.parent / "shared" / "data" / "timm"
if not TIMM_DATA.exists():  # a checkout beside the shared folder (/work/main, /work/wt/NAME)
    TIMM_DATA = Path("/work/shared/data/timm")
CACHE_VARIABLE = "EXPLORER_TIME_MODEL_CACHE"  # another cache folder (the tests' small slice); workers inherit it
CACHE = Path(os.environ.get(CACHE_VARIABLE) or ROOT / ".cache" / "time_model")
CPU_RESULTS = ROOT / "assets" / "benchmarks" / "cpu-1thread-time-model.csv"
MACS_AGREEMENT = 0.3  # ours vs timm's fvcore GMACs: beyond ±30 % it is not the same model


class Mode(enum.StrEnum):
    INFER = "infer"  # a timm architecture's forward
    TRAIN = "train"  # a timm architecture's training step
    REFERENCE = "reference"  # a forward of a model as our CLI names it (zoo, torchvision:, timm:)


# Raised when what a cached analysis holds changes shape or numbers. Training steps are at 3: their layers now hold
# their forward record (the training analysis as merged from main in December 2026); the forward analyses' kernels
# came out identical on a sample re-analysed then, so they kept 2.
CACHE_VERSIONS = {Mode.INFER: 2, Mode.REFERENCE: 2, Mode.TRAIN: 3}


@dataclass(frozen=True)
class Dataset:
    """One measured file: which device and software ran it, and how to read it."""

    key: str
    file: str
    device: str  # datasheet key
    mode: Mode
    fused_attention: bool  # PyTorch ≥ 2.0 with timm's fused attention
    foreach_optimizer: bool
    label: str
    autocast: bool = True  # timm's AMP: torch.autocast, fp16


DATASETS = (
    Dataset("rtx5090", "benchmark-infer-amp-nchw-pt291-cu130-5090.csv", "rtx5090", Mode.INFER, True, True,
            "RTX 5090, inference (timm, torch 2.9.1)"),
    Dataset("pro6000-maxq", "benchmark-infer-amp-nchw-pt291-cu130-pro6000maxq.csv", "pro6000-maxq", Mode.INFER, True,
            True, "RTX PRO 6000 Max-Q, inference (timm, torch 2.9.1)"),
    Dataset("rtx3090", "benchmark-infer-amp-nchw-pt240-cu124-rtx3090.csv", "rtx3090", Mode.INFER, True, True,
            "RTX 3090, inference (timm, torch 2.4)"),
    Dataset("rtx3090-train", "benchmark-train-amp-nchw-pt112-cu113-rtx3090.csv", "rtx3090", Mode.TRAIN, False, False,
            "RTX 3090, training step (timm, torch 1.12)"),
)
CPU = Dataset("cpu", "cpu-1thread-time-model.csv", "cpu", Mode.INFER, True, False,
              "this CPU, one thread, fp32 inference (our bench)", autocast=False)
BY_KEY = {d.key: d for d in (*DATASETS, CPU)}


@dataclass(frozen=True)
class Row:
    model: str
    image_size: int
    batch: int
    measured_ms: float
    fvcore_gmacs: float | None


def read_rows(dataset: Dataset) -> list[Row]:
    """The file's rows: milliseconds per batch from samples per second."""
    prefix = "infer" if dataset.mode is Mode.INFER else "train"
    rows = []
    with (TIMM_DATA / dataset.file).open(newline="", encoding="utf-8") as handle:
        for cells in csv.DictReader(handle):
            batch = int(cells[f"{prefix}_batch_size"])
            rate = float(cells[f"{prefix}_samples_per_sec"])
            gmacs = cells.get("infer_gmacs") or None
            rows.append(Row(cells["model"], int(cells[f"{prefix}_img_size"]), batch, batch / rate * 1e3,
                            float(gmacs) if gmacs else None))
    return rows


# ---------------------------------------------------------------- analysing and caching


def _cache_file(mode: Mode, model: str, size: int) -> Path:
    return CACHE / mode.value / f"{model.replace(':', '-')}@{size}.pkl.gz"


TRAIN_BATCH = 2  # batch norm in train mode refuses one value per channel (as PyTorch does); work is linear in it


def _analyse(job: tuple[str, str, int]) -> tuple[str, str]:
    """Worker: analyse one model at one image size and cache the analysis (or its failure)."""
    mode, model, size = job
    mode = Mode(mode)
    started = time.process_time()
    try:
        analysis, family = _analysis_of(mode, model, size)
        entry = {"status": "ok", "family": family, "analysis": analysis, "seconds": time.process_time() - started}
    except Exception as exc:  # the reason is counted in the report; the run goes on
        text = str(exc).strip().splitlines()
        entry = {"status": "error", "error": f"{type(exc).__name__}: {text[0] if text else ''}"[:300]}
    target = _cache_file(mode, model, size)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_bytes(gzip.compress(pickle.dumps({**entry, "version": CACHE_VERSIONS[mode]}, protocol=5), 6))
    os.replace(temporary, target)
    return model, entry["status"]


def _analysis_of(mode: Mode, model: str, size: int):
    import torch

    from analyzers.counting.analyze import analyze
    from analyzers.training.analyze import analyze_training
    from explorer.catalogue import Catalogue, build, family, on_meta

    if mode is Mode.REFERENCE:  # the CPU rows: a zoo name or a torchvision:/timm: reference
        from explorer.zoo import build_model

        built = build(model) if ":" in model else build_model(model, device="meta")
        shape = default = tuple(built.input_size)
        module = built.module
    else:
        built = build(f"timm:{model}")
        module, default = built.module, tuple(built.input_size)
        shape = (default[0], size, size)

    def count(m):
        if mode is not Mode.TRAIN:
            return analyze(m, shape, 1, dtype=torch.float32, model_name=model)
        training = analyze_training(m, shape, TRAIN_BATCH, optimizer="momentum", precision="fp32", model_name=model)
        return replace(training, memory=None)  # the memory timeline is not needed here

    try:
        analysis = count(module)
    except Exception:
        if shape == default:
            raise
        import timm  # a model built for one image size (a ViT's position table): build it for this one

        analysis = count(on_meta(lambda: timm.create_model(model, pretrained=False, img_size=size)))
    group = model if mode is Mode.REFERENCE else family(Catalogue.TIMM, model)
    return analysis, group


def build_cache(jobs: Iterable[tuple[Mode, str, int]], workers: int) -> None:
    """Analyse every job not cached yet, in `workers` processes, with a progress line."""
    todo = [(m.value, model, size) for m, model, size in dict.fromkeys(jobs) if not _usable(m, model, size)]
    if not todo:
        return
    print(f"analysing {len(todo)} model configurations into {CACHE} ({workers} workers)…", file=sys.stderr)
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:  # no recycling: a fresh worker re-imports torch (minutes under load)
        for done, _ in enumerate(pool.imap_unordered(_analyse, todo, chunksize=4), 1):
            if done % 50 == 0 or done == len(todo):
                print(f"  {done}/{len(todo)} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)


def _read(mode: Mode, model: str, size: int) -> dict | None:
    try:
        entry = pickle.loads(gzip.decompress(_cache_file(mode, model, size).read_bytes()))
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        return None  # absent, or written by other code: analyse again
    return entry if entry.get("version") == CACHE_VERSIONS[mode] else None


def _usable(mode: Mode, model: str, size: int) -> bool:
    return _cache_file(mode, model, size).exists() and _read(mode, model, size) is not None


@dataclass(frozen=True)
class Cached:
    status: str
    error: str
    macs: int
    family: str
    kernels: KernelArrays | None


def read_cached(dataset: Dataset, model: str, size: int, mode: Mode | None = None) -> Cached:
    """The cached analysis of `model` at `size` as batch-1 kernels under the dataset's software."""
    from analyzers.predict.kernels import model_work
    from analyzers.predict.training_kernels import training_work

    mode = mode or dataset.mode
    entry = _read(mode, model, size)
    if entry is None or entry["status"] != "ok":
        return Cached("error", "" if entry is None else entry.get("error", ""), 0, "", None)
    analysis = entry["analysis"]
    if mode is Mode.TRAIN:
        layers = training_work(analysis, fused_attention=dataset.fused_attention,
                               foreach_optimizer=dataset.foreach_optimizer, autocast=dataset.autocast)
        kernels = _per_sample(KernelArrays.from_layers(layers), TRAIN_BATCH)
        macs = analysis.totals.forward_macs // TRAIN_BATCH
    else:
        kernels = KernelArrays.from_layers(model_work(analysis, fused_attention=dataset.fused_attention,
                                                      autocast=dataset.autocast))
        macs = analysis.totals.macs
    return Cached("ok", "", macs, entry["family"], kernels)


def _per_sample(kernels: KernelArrays, batch: int) -> KernelArrays:
    """Batch-`batch` kernels as batch-1 work: the batch-proportional columns divided by the batch."""
    return KernelArrays(kernels.kind, kernels.flops / batch, kernels.vector_ops / batch,
                        kernels.activation_bytes / batch, kernels.weight_bytes, kernels.alignment, kernels.layer)


# ---------------------------------------------------------------- samples


@dataclass
class Loaded:
    samples: list[FitSample]
    skipped: Counter


def load_dataset(dataset: Dataset, workers: int = 2, limit: int | None = None, *, analyse: bool = True) -> Loaded:
    """Every usable row of `dataset` as a fit sample (analysed first where the cache lacks it; `analyse=False`:
    only the rows already cached). `limit` keeps the first N rows (the tests' small slice)."""
    rows = read_rows(dataset)[:limit]
    jobs = [(dataset.mode, r.model, r.image_size) for r in rows if timm_name(r.model)]
    if analyse:
        build_cache(jobs, workers)
    else:
        rows = [r for r in rows if timm_name(r.model) and _usable(dataset.mode, r.model, r.image_size)]
    device = DeviceDescription.from_datasheet(datasheet(dataset.device), Precision.FP16)
    samples, skipped = [], Counter()
    for r in rows:
        if not timm_name(r.model):
            skipped["not in this timm"] += 1
            continue
        cached = read_cached(dataset, r.model, r.image_size)
        if cached.kernels is None:
            skipped["analysis failed"] += 1
            continue
        if r.fvcore_gmacs is not None and not _same_model(cached, r.fvcore_gmacs):
            skipped["MACs disagree with timm's"] += 1
            continue
        samples.append(FitSample(f"{r.model}@{r.image_size}", cached.family, cached.kernels, 4, r.batch, device,
                                 r.measured_ms))
    return Loaded(samples, skipped)


def _same_model(cached: Cached, fvcore_gmacs: float) -> bool:
    """Our MACs without fused attention (fvcore's trace skips `scaled_dot_product_attention`) against timm's
    published GMACs (two decimals)."""
    from analyzers.predict.kernels import KernelKind

    attention = cached.kernels.flops[cached.kernels.kind == KernelKind.ATTENTION].sum() / 2
    ours = (cached.macs - attention) / 1e9
    return abs(ours - fvcore_gmacs) <= MACS_AGREEMENT * fvcore_gmacs + 0.01


def timm_name(model: str) -> bool:
    import timm

    return timm.is_model(model)


def load_cpu(workers: int = 2, limit: int | None = None) -> Loaded:
    """The CPU rows of assets/benchmarks/ (status ok): the fastest repeat's process CPU time per batch."""
    with CPU_RESULTS.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["status"] == "ok"][:limit]
    build_cache([(Mode.REFERENCE, r["model"], _side(r["input_size"])) for r in rows], workers)
    device = DeviceDescription.from_datasheet(datasheet("cpu"), Precision.FP32)
    samples, skipped = [], Counter()
    for r in rows:
        cached = read_cached(CPU, r["model"], _side(r["input_size"]), Mode.REFERENCE)
        if cached.kernels is None:
            skipped["analysis failed"] += 1
            continue
        samples.append(FitSample(f"{r['model']}@{r['batch']}", r["model"], cached.kernels, 4, int(r["batch"]),
                                 device, float(r["latency_ms_min"])))
    return Loaded(samples, skipped)


def _side(input_size: str) -> int:
    return int(input_size.split("x")[-1])
