"""The atlas: a catalogue analysed in worker processes into a JSON-lines file, resumable, with time limits and
errors as rows; and its table for the app, joined with what timm publishes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from explorer.atlas import ASSETS, AtlasRow, RowStatus, analyse_one, read_rows, run_atlas
from explorer.atlas_table import CatalogueCounts, atlas_frame, counts
from explorer.catalogue import Catalogue
from explorer.cli import main

pytest.importorskip("torchvision")


def test_rows_are_written_once_and_a_rerun_resumes(tmp_path: Path) -> None:
    path = tmp_path / "atlas.jsonl"
    first = run_atlas(Catalogue.TORCHVISION, path, workers=1, names=["alexnet", "squeezenet1_1"], progress=False)
    assert (first.done, first.skipped, first.statuses) == (2, 0, {"ok": 2})
    rows = {r.name: r for r in read_rows(path)}
    # torchvision's AlexNet_Weights meta: 61,100,840 params, 0.714 GFLOPS (conv + linear MACs)
    assert rows["alexnet"].params == rows["alexnet"].published_params == 61_100_840
    assert round(rows["alexnet"].macs / 1e9, 3) == rows["alexnet"].published_gflops == 0.714
    assert rows["alexnet"].inputs == "x 1x3x224x224 float32" and rows["alexnet"].family == "alexnet"
    with open(path, "a", encoding="utf-8") as file:
        file.write('{"catalogue": "torchvision", "name": "vgg')  # a run killed mid-write
    again = run_atlas(Catalogue.TORCHVISION, path, workers=1, names=["alexnet", "squeezenet1_1"], progress=False)
    assert (again.done, again.skipped) == (0, 2)  # the torn line is ignored, nothing is analysed twice
    assert len(read_rows(path)) == 2


def test_two_workers_share_the_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "atlas.jsonl"
    result = run_atlas(Catalogue.TORCHVISION, path, workers=2, names=["squeezenet1_0", "squeezenet1_1"],
                       progress=False)
    assert result.statuses == {"ok": 2}
    assert {r.name for r in read_rows(path)} == {"squeezenet1_0", "squeezenet1_1"}


def test_failures_and_time_limits_are_rows() -> None:
    missing = analyse_one("timm", "no_such_model_here", 60)
    assert missing.status is RowStatus.ERROR and "timm has no model 'no_such_model_here'" in missing.error
    slow = analyse_one("torchvision", "vgg11", 0.001)
    assert slow.status is RowStatus.TIMEOUT and slow.error == "stopped after 0.001 s"
    assert AtlasRow.from_json(slow.to_json()) == slow


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tv.jsonl"
    assert main(["atlas", "torchvision", "--jsonl", str(path), "--contains", "squeezenet1_1", "--no-progress",
                 "--workers", "1"]) == 0
    assert capsys.readouterr().out.startswith("torchvision: 1 models analysed in ")
    assert json.loads(path.read_text())["status"] == "ok"
    assert main(["atlas", "torchvision", "--jsonl", str(tmp_path), "--no-progress"]) == 2
    assert "it is a directory" in capsys.readouterr().err


def test_the_table_joins_timm_top1_and_fvcore(tmp_path: Path) -> None:
    for name in ("timm-results-imagenet.csv", "timm-benchmark-infer-5090.csv"):
        shutil.copy(ASSETS / name, tmp_path / name)
    row = AtlasRow("timm", "resnet50", family="resnet", task="classification", inputs="x 1x3x224x224 float32",
                   params=25_557_032, macs=4_089_184_256, activation_bytes=1, uncounted_ops=0, pretrained_tag="a1_in1k")
    (tmp_path / "timm.jsonl").write_text(row.to_json() + "\n")
    frame = atlas_frame("timm", tmp_path)
    # timm evaluates resnet50.a1_in1k at 224 (80.382) and at 288 (81.240): the row at our input's size is joined
    results = [line for line in (tmp_path / "timm-results-imagenet.csv").read_text().splitlines()
               if line.startswith("resnet50.a1_in1k,224,")]
    assert frame.loc[0, "top1"] == float(results[0].split(",")[2])
    bench = [line for line in (tmp_path / "timm-benchmark-infer-5090.csv").read_text().splitlines()
             if line.startswith("resnet50,224,")]
    assert frame.loc[0, "fvcore_gmacs"] == float(bench[0].split(",")[3])
    assert counts(frame) == CatalogueCounts(tried=1, analysed=1, fully_counted=1)
