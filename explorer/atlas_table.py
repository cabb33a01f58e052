"""The shipped atlas as a table for the app: our counts per model joined with what the libraries publish.

timm rows get ImageNet top-1 of their default pretrained tag (`arch.tag` in timm's results) and timm's
fvcore GMACs and activations at the same image size; torchvision rows carry their weights' params, `_ops` and
top-1 already. See `assets/atlas/SOURCE.md` for where each published figure comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analyzers.numbers import parse_dims
from explorer.atlas import ASSETS, read_rows

__all__ = ["BENCHMARK_FILE", "CatalogueCounts", "RESULTS_FILE", "SOURCE_NOTE", "atlas_frame", "counts"]

RESULTS_FILE = "timm-results-imagenet.csv"
BENCHMARK_FILE = "timm-benchmark-infer-5090.csv"
SOURCE_NOTE = ("timm's ImageNet top-1 and fvcore GMACs: huggingface/pytorch-image-models `results/` (Apache-2.0), "
               "commit aa4b585 (2026-08-08); torchvision's params, GFLOPS and top-1: each model's default weights' "
               "meta (torchvision 0.29.1)")


@dataclass(frozen=True)
class CatalogueCounts:
    """The closing figures of an atlas: models tried, analysed, and analysed with no uncounted op."""

    tried: int
    analysed: int
    fully_counted: int


def atlas_frame(catalogue: str, folder: Path = ASSETS) -> pd.DataFrame:
    """One row per model of `catalogue` ("timm" or "torchvision"); empty when the atlas file is not shipped."""
    rows = read_rows(folder / f"{catalogue}.jsonl")
    frame = pd.DataFrame([{
        "model": r.name, "family": r.family, "task": r.task, "status": r.status.value, "error": r.error,
        "input": r.inputs, "params": r.params, "macs": r.macs, "elementwise_ops": r.elementwise_ops,
        "activation_bytes": r.activation_bytes, "weight_depth": r.weight_depth, "uncounted_ops": r.uncounted_ops,
        "uncounted": ", ".join(sorted(r.uncounted)), "measured_on": r.measured_on, "top1": r.published_top1,
        "published_params": r.published_params, "published_gmacs": r.published_gflops, "tag": r.pretrained_tag,
        "seconds": r.seconds,
    } for r in rows])
    if frame.empty:
        return frame
    frame = frame.drop_duplicates("model", keep="last").sort_values("model", ignore_index=True)
    frame["gmacs"] = frame["macs"] / 1e9
    if catalogue == "timm":
        frame = _with_timm_published(frame, folder)
    return frame


def _side(inputs: str) -> int | None:
    """The image side of an atlas row's input text, `x 1x3x224x224 float32` → 224."""
    words = inputs.split()
    shape = parse_dims(words[1]) if len(words) > 1 else None
    return shape[-1] if shape else None


def _with_timm_published(frame: pd.DataFrame, folder: Path) -> pd.DataFrame:
    side = frame["input"].map(_side)
    results = pd.read_csv(folder / RESULTS_FILE, thousands=",")
    top1 = {(m, int(size)): t for m, size, t in zip(results["model"], results["img_size"], results["top1"])}
    frame["top1"] = [top1.get((f"{m}.{t}", s)) if t and s else None  # timm evaluates some tags at several sizes
                     for m, t, s in zip(frame["model"], frame["tag"], side)]
    bench = pd.read_csv(folder / BENCHMARK_FILE)
    fvcore = {(m, int(s)): (g, a) for m, s, g, a in zip(bench["model"], bench["infer_img_size"],
                                                        bench["infer_gmacs"], bench["infer_macts"])}
    pairs = [fvcore.get((m, s)) if s is not None else None for m, s in zip(frame["model"], side)]
    frame["fvcore_gmacs"] = [p[0] if p else None for p in pairs]
    frame["fvcore_mactivations"] = [p[1] if p else None for p in pairs]
    return frame


def counts(frame: pd.DataFrame) -> CatalogueCounts:
    if frame.empty:
        return CatalogueCounts(0, 0, 0)
    ok = frame[frame["status"] == "ok"]
    return CatalogueCounts(len(frame), len(ok), int((ok["uncounted_ops"] == 0).sum()))
