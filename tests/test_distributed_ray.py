"""The atlas and the bench sweeps on a real Ray cluster: a head and a second node started with `ray start` on
127.0.0.1 (tests/ray_cluster.py), one CPU each, every process stopped by its PID at the end.

- 30 torchvision models across both nodes give the rows the local executor gives (all but the time each took);
- a third node killed (all its processes, SIGKILL) while it runs a model costs a retried task: every model is in the
  file exactly once at the end;
- a node whose torch is not the driver's returns no row, and says why;
- a bench sweep fanned out to GPU kinds, in a CPU-only cluster whose nodes declare `accelerator_type:H100` and
  `accelerator_type:L4` as Ray's own GPU nodes do: one row per kind labelled with its node's kind, the absent H200
  named in one line, and a rerun that skips what is done.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import torch

ray = pytest.importorskip("ray")
pytest.importorskip("torchvision")

from analyzers.bench.result_schemas import ATLAS_ROWS  # noqa: E402
from analyzers.bench.results_file import ResultsFile  # noqa: E402
from analyzers.bench.schema import load_results  # noqa: E402
from analyzers.devices import device_name  # noqa: E402
from analyzers.distributed.ray_executor import RayExecutor  # noqa: E402
from analyzers.distributed.sweep import run_units  # noqa: E402
from analyzers.distributed.work import WorkKey, WorkUnit, torch_version  # noqa: E402
from explorer.atlas import AtlasJob, analyse_job, read_rows, run_atlas  # noqa: E402
from explorer.catalogue import Catalogue  # noqa: E402
from explorer.cli import main  # noqa: E402
from tests.ray_cluster import ENV, LocalRayCluster  # noqa: E402

# 30 classification models that are quick to count on meta (the shipped atlas's shortest times)
NAMES = ["alexnet", "quantized_resnet18", "squeezenet1_0", "vgg11", "vgg16", "vgg13_bn", "vgg19", "vgg13",
         "squeezenet1_1", "resnet18", "vgg16_bn", "vgg11_bn", "quantized_mobilenet_v2", "quantized_resnet50",
         "convnext_tiny", "quantized_mobilenet_v3_large", "vgg19_bn", "regnet_x_800mf", "shufflenet_v2_x2_0",
         "shufflenet_v2_x1_5", "regnet_x_400mf", "shufflenet_v2_x1_0", "resnet34", "mobilenet_v3_small",
         "efficientnet_b0", "wide_resnet50_2", "mnasnet1_3", "quantized_shufflenet_v2_x2_0", "googlenet",
         "mobilenet_v3_large"]


@pytest.fixture(scope="module")
def cluster():
    """A head (declaring an H100) and a second node (declaring an L4), one CPU each; this process joins it."""
    with LocalRayCluster() as local, pytest.MonkeyPatch.context() as env:
        for name, value in ENV.items():
            env.setenv(name, value)
        local.start_head(cpus=1, resources={"accelerator_type:H100": 1})
        local.add_node("second", cpus=1, resources={"accelerator_type:L4": 1})
        ray.init(address=local.address, logging_level="ERROR", log_to_driver=False)
        try:
            _wait_for_cpus(2)
            yield local
        finally:
            ray.shutdown()


def _wait_for_cpus(cpus: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while ray.cluster_resources().get("CPU", 0) < cpus:
        assert time.monotonic() < deadline, f"the cluster never had {cpus} CPUs: {ray.cluster_resources()}"
        time.sleep(0.2)


def _without_time(path: Path) -> dict[str, dict[str, object]]:
    rows = {}
    for row in read_rows(path):
        values = row.to_values()
        del values["seconds"]  # how long a model took is the one thing that differs between runs
        rows[row.name] = values
    return rows


def test_an_atlas_across_two_nodes_has_the_local_executors_rows(cluster: LocalRayCluster, tmp_path: Path) -> None:
    local = run_atlas(Catalogue.TORCHVISION, tmp_path / "local.jsonl", workers=1, names=NAMES, progress=False)
    on_ray = run_atlas(Catalogue.TORCHVISION, tmp_path / "ray.jsonl", names=NAMES, progress=False,
                       executor=RayExecutor(cluster.address))
    assert local.statuses == on_ray.statuses == {"ok": 30}
    assert _without_time(tmp_path / "ray.jsonl") == _without_time(tmp_path / "local.jsonl")
    assert len(on_ray.summary.nodes) == 2 and sum(on_ray.summary.nodes.values()) == 30  # both nodes ran models
    again = run_atlas(Catalogue.TORCHVISION, tmp_path / "ray.jsonl", names=NAMES, progress=False,
                      executor=RayExecutor(cluster.address))
    assert (again.done, again.skipped) == (0, 30)  # a rerun finds everything done and runs nothing


def test_a_node_killed_mid_run_costs_a_retried_task_never_a_row(cluster: LocalRayCluster, tmp_path: Path) -> None:
    victim = cluster.add_node("victim", cpus=1)
    _wait_for_cpus(3)
    killed: list[str] = []

    def kill_while_it_runs_a_model() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if victim.busy_workers():
                victim.kill()
                killed.append("killed")
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_while_it_runs_a_model, daemon=True)
    killer.start()
    path = tmp_path / "atlas.jsonl"
    result = run_atlas(Catalogue.TORCHVISION, path, names=NAMES, progress=False,
                       executor=RayExecutor(cluster.address))
    killer.join(timeout=5)
    assert killed, "the victim node never ran a model"
    assert not victim.processes()  # all its processes are gone
    names = [row.name for row in read_rows(path)]
    assert sorted(names) == sorted(NAMES)  # every model exactly once
    assert result.retried >= 1 and result.failed == 0 and result.statuses == {"ok": 30}


def test_a_node_with_another_torch_returns_no_row(cluster: LocalRayCluster, tmp_path: Path) -> None:
    unit = WorkUnit(WorkKey("torchvision", "alexnet", "default", "default", 1, "meta", "0.0"),
                    AtlasJob("torchvision", "alexnet", 60))  # as if the driver had torch 0.0
    with ResultsFile(tmp_path / "atlas.jsonl", ATLAS_ROWS) as results:
        summary = run_units([unit], analyse_job, RayExecutor(cluster.address), results, done=lambda *_: False,
                            progress=False)
    [failure] = summary.failed
    assert failure.reason == (f"this node has torch {torch_version()}, the driver 0.0: install the same "
                              "requirements on every node")
    assert summary.written == 0 and read_rows(tmp_path / "atlas.jsonl") == []


def test_a_gpu_kind_sweep_fans_out_labels_each_row_and_names_the_missing_kind(
        cluster: LocalRayCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "bench.csv"
    command = ["bench", "lenet5", "--device", "cpu", "--iters", "2", "--warmup", "0", "--csv", str(csv),
               "--executor", "ray", "--ray-address", cluster.address, "--gpu-kinds", "H100,L4,H200"]
    assert main(command) == 1  # not everything asked for could run
    err = capsys.readouterr().err
    missing = [line for line in err.splitlines() if "H200" in line]
    assert missing == ["no H200 in the cluster (GPU kinds present: H100, L4): 1 unit(s) not run"]
    rows = load_results(csv)
    cpu = device_name(torch.device("cpu"))
    assert sorted(rows["device_name"]) == [f"{cpu} [H100 node]", f"{cpu} [L4 node]"]
    assert list(rows["status"]) == ["ok", "ok"] and set(rows["model"]) == {"lenet5"}

    assert main(command) == 1  # a rerun: both rows found, nothing measured again, H200 still missing
    out = capsys.readouterr().out
    assert "0 row(s) appended" in out and "2 already present (skipped)" in out
    assert len(load_results(csv)) == 2

    train = [*command[:-1], "L4", "--train", "--optimizer", "adam"]  # a training step, on the L4 node only
    assert main(train) == 0
    [row] = list(csv.with_name("bench_train.csv").read_text().splitlines())[1:]
    assert row.startswith("lenet5,1,1x32x32,cpu,") and f",{cpu} [L4 node],adam," in row

    cuda = [part if part != "cpu" else "cuda" for part in command]  # a GPU sweep on nodes without GPUs
    assert main(cuda) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if "unit(s) not run" in line]
    assert sorted(lines) == ["no H100 node has 1 CPU, 2 GiB of memory, 1 GPU: 1 unit(s) not run",
                             "no H200 in the cluster (GPU kinds present: H100, L4): 1 unit(s) not run",
                             "no L4 node has 1 CPU, 2 GiB of memory, 1 GPU: 1 unit(s) not run"]
