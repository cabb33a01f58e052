"""The fit script on a small slice of the published measurements: the first rows of timm's RTX 5090 file (the copy
every checkout has, assets/atlas/timm-benchmark-infer-5090.csv), analysed into a temporary cache, read as
samples, fitted as `bench/fit_time_model.py` fits a set.

Expected values come from the CSV itself, read with the csv module: a row's time per batch is batch ÷ samples per
second. The fitted numbers are not asserted (they are what the fit finds); what is: the rows are read, the fit
is deterministic, it predicts the slice better than its starting point, and the script writes what it fitted on.
"""

from __future__ import annotations

import csv
import importlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from analyzers.predict.fit import START, fit_parameters, predict_samples

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED_5090 = ROOT / "assets" / "atlas" / "timm-benchmark-infer-5090.csv"
SLICE = 12


@pytest.fixture(scope="module")
def bench_modules():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        yield importlib.import_module("time_model_data"), importlib.import_module("fit_time_model")
    finally:
        sys.path.remove(str(ROOT / "bench"))


@pytest.fixture(scope="module")
def loaded(bench_modules, tmp_path_factory):
    data, _ = bench_modules
    cache = tmp_path_factory.mktemp("time_model_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(data.CACHE_VARIABLE, str(cache))  # the analysing workers read it
        patch.setattr(data, "CACHE", cache)
        dataset = replace(data.BY_KEY["rtx5090"], file=str(PUBLISHED_5090))  # an absolute path wins over TIMM_DATA
        yield data.load_dataset(dataset, workers=1, limit=SLICE), dataset


def first_rows() -> list[dict[str, str]]:
    with PUBLISHED_5090.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))[:SLICE]


def test_the_slice_is_the_files_first_rows_in_milliseconds_per_batch(loaded) -> None:
    part, _ = loaded
    rows = {f"{r['model']}@{r['infer_img_size']}": r for r in first_rows()}
    assert len(part.samples) + sum(part.skipped.values()) == SLICE
    assert len(part.samples) >= SLICE - 2  # timm's tiny test models and small nets: nearly all analyse
    for sample in part.samples:
        row = rows[sample.name]
        assert sample.batch == int(row["infer_batch_size"]) == 1024
        assert sample.measured_ms == pytest.approx(1024 / float(row["infer_samples_per_sec"]) * 1e3, rel=1e-12)


def test_the_fit_is_deterministic_and_beats_its_starting_point(loaded) -> None:
    part, _ = loaded
    measured = np.array([s.measured_ms for s in part.samples])
    first = fit_parameters(part.samples)
    again = fit_parameters(part.samples)
    assert first.parameters == again.parameters
    before = np.median(np.abs(predict_samples(part.samples, START) / measured - 1))
    after = np.median(np.abs(predict_samples(part.samples, first.parameters) / measured - 1))
    assert after < before


def test_the_script_writes_the_set_it_fitted_and_on_what(bench_modules, loaded) -> None:
    _, fit_script = bench_modules
    part, dataset = loaded
    (document,) = fit_script.fit_sets({"rtx5090": part}, names=("rtx5090",)).values()
    assert document["device"] == "rtx5090"
    assert document["samples"] == len(part.samples)
    assert document["fitted_on"].startswith(f"{len(part.samples):,} rows of ")
    assert document["parameters"] == fit_parameters(part.samples).parameters.as_dict()
    json.dumps(document)  # what the script writes must be JSON
