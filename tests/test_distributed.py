"""The distributed sweep's parts that need no cluster: GPU kinds and device labels, the atlas of a folder of Hugging
Face configs (bounded, malformed configs as rows, keyed by sequence length), the driver's handling of a row that
does not fit its file, the options' one-line errors, and that nothing imports Ray unless asked.
(tests/test_distributed_ray.py runs the same sweeps on a real Ray cluster.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.bench.result_schemas import ATLAS_ROWS
from analyzers.bench.results_file import ResultsFile
from analyzers.distributed.gpu_kinds import device_label, names_kind, parse_gpu_kinds
from analyzers.distributed.local import LocalExecutor
from analyzers.distributed.sweep import run_units
from analyzers.distributed.work import WorkKey, WorkUnit, torch_version
from analyzers.errors import UserError
from explorer.atlas import read_rows
from explorer.cli import main
from tests.bench_scripts import load

ROOT = Path(__file__).resolve().parents[1]
transformers = pytest.importorskip("transformers")


# --- GPU kinds ------------------------------------------------------------------------------------------------------


def test_gpu_kinds_are_parsed_and_a_device_name_says_its_kind() -> None:
    assert parse_gpu_kinds("H100, H200,L4,H100") == ("H100", "H200", "L4")
    for text in ("", " , ", "H100;rm -rf", "H 100"):
        with pytest.raises(UserError, match="expected accelerator types separated by commas"):
            parse_gpu_kinds(text)
    assert names_kind("NVIDIA H100 80GB HBM3", "H100") and names_kind("NVIDIA L4", "L4")
    assert not names_kind("NVIDIA L40S", "L4") and not names_kind("NVIDIA H100 80GB HBM3", "H10")
    assert not names_kind("NVIDIA H200", "H100")
    assert device_label("NVIDIA H100 80GB HBM3", "H100") == "NVIDIA H100 80GB HBM3"  # the name says it already
    assert device_label("AMD EPYC 9654", "H100") == "AMD EPYC 9654 [H100 node]"  # a CPU timed on an H100 node
    assert device_label("AMD EPYC 9654", None) == "AMD EPYC 9654"


# --- atlas hf --configs DIR ----------------------------------------------------------------------------------------


def _bert(folder: Path) -> None:
    transformers.BertConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=2, intermediate_size=128,
                            vocab_size=100).save_pretrained(folder)


def test_a_folder_of_configs_is_one_row_each_at_the_sequence_length_asked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configs = tmp_path / "configs"
    _bert(configs / "org" / "tiny-bert")
    (configs / "broken").mkdir()
    (configs / "broken" / "config.json").write_text('{"model_type": "bert", "hidden_size":')  # cut off
    (configs / "untyped").mkdir()
    (configs / "untyped" / "config.json").write_text('{"hidden_size": 64}')
    (configs / "huge").mkdir()  # a million layers: refused from its numbers before anything is built
    (configs / "huge" / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 10**6}))
    (configs / "notes.txt").write_text("not a config")
    path = tmp_path / "hf.jsonl"
    command = ["atlas", "hf", "--configs", str(configs), "--seq-len", "16", "--jsonl", str(path), "--no-progress",
               "--workers", "1"]
    assert main(command) == 0
    assert "hf: 4 models analysed" in capsys.readouterr().out
    rows = {row.name: row for row in read_rows(path)}
    assert set(rows) == {"org/tiny-bert/config.json", "broken/config.json", "untyped/config.json",
                         "huge/config.json"}
    bert = rows["org/tiny-bert/config.json"]
    # per layer 4·16·64² + 2·16²·64 + 2·16·64·128 = 557,056; two layers and the pooler's 64²
    assert (bert.status.value, bert.macs, bert.seq_len, bert.inputs) == ("ok", 1_118_208, 16, "input_ids 1x16 int64")
    assert "JSONDecodeError" in rows["broken/config.json"].error
    assert "a transformers config needs a 'model_type'" in rows["untyped/config.json"].error
    # 1,000,000 blocks × 256 KiB = 244.1 GiB
    assert rows["huge/config.json"].error == ("OverBudgetError: huge/config.json (1,000,000 transformer blocks and "
                                              "experts) needs about 244.1 GiB of memory, over the 2 GiB budget for "
                                              "CPU work; a smaller config fits")
    assert {row.status.value for name, row in rows.items() if name != bert.name} == {"error"}

    assert main([*command[:5], "32", *command[6:]]) == 0  # another sequence length: four new rows, none skipped
    assert "hf: 4 models analysed" in capsys.readouterr().out
    at_32 = next(r for r in read_rows(path) if r.name == bert.name and r.seq_len == 32)
    # per layer 4·32·64² + 2·32²·64 + 2·32·64·128 = 1,179,648; two layers and the pooler's 4,096
    assert at_32.macs == 2 * 1_179_648 + 4_096
    assert main(command) == 0  # a rerun at 16: everything there already
    assert "hf: 0 models analysed" in capsys.readouterr().out and len(read_rows(path)) == 8


def test_generated_configs_are_the_families_asked_for_with_the_malformed_ones(tmp_path: Path) -> None:
    generator = load("hf_configs")
    paths = generator.write_configs(tmp_path, 7, malformed=3)
    assert len(paths) == 10 and [p.parent.name for p in paths[:2]] == ["bert-000000", "gpt2-000001"]
    assert json.loads(paths[6].read_text())["model_type"] == "bert"  # the six families, then again
    assert generator.write_configs(tmp_path / "again", 7)[3].read_text() == paths[3].read_text()  # seeded


@pytest.mark.parametrize(("command", "message"), [
    (["atlas", "hf", "--jsonl", "x.jsonl"], "atlas hf needs --configs DIR"),
    (["atlas", "torchvision", "--configs", ".", "--jsonl", "x.jsonl"], "--configs is for `atlas hf`"),
    (["atlas", "hf", "--configs", "no/such/folder", "--jsonl", "x.jsonl"], "--configs no/such/folder: not a folder"),
    (["atlas", "hf", "--configs", ".", "--seq-len", "2000000", "--jsonl", "x.jsonl"], "--seq-len 2,000,000 is over"),
    (["atlas", "torchvision", "--ray-address", "1.2.3.4:6379", "--jsonl", "x.jsonl"],
     "--ray-address needs --executor ray"),
    (["atlas", "torchvision", "--executor", "ray", "--ray-address", "127.0.0.1:1", "--jsonl", "x.jsonl"],
     "cannot join the Ray cluster at 127.0.0.1:1: nothing answers there within 10 s (Connection refused)"),
    (["atlas", "torchvision", "--executor", "ray", "--ray-address", "ray://head:10001", "--jsonl", "x.jsonl"],
     "Ray address 'ray://head:10001' (--ray-address or RAY_ADDRESS): expected HOST:PORT"),
    (["bench", "lenet5", "--gpu-kinds", "H100"], "--gpu-kinds needs --executor ray"),
    (["bench", "lenet5", "--executor", "ray", "--gpu-kinds", "H 100"], "--gpu-kinds 'H 100': expected accelerator"),
    (["bench", "lenet5", "--executor", "ray", "--device", "cuda:1"], "--device 'cuda:1': on a cluster expected"),
])
def test_executor_options_refuse_bad_input_in_one_line(command: list[str], message: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "x.jsonl").exists()


# --- the driver -------------------------------------------------------------------------------------------------------


def row_for(name: str) -> dict[str, object]:
    """A task whose row for "bad" has a negative parameter count, which the atlas schema refuses."""
    return {"catalogue": "test", "name": name, "family": "", "task": "", "status": "ok", "error": "", "inputs": "",
            "seq_len": None, "params": -1 if name == "bad" else 1, "macs": 2, "elementwise_ops": 0,
            "activation_bytes": 0, "activation_elements": 0, "weight_depth": 1, "uncounted_ops": 0, "uncounted": {},
            "measured_on": "meta", "published_params": None, "published_gflops": None, "published_top1": None,
            "pretrained_tag": "", "seconds": 0.0}


def test_a_row_that_does_not_fit_its_file_is_one_failure_and_a_repeated_unit_runs_once(tmp_path: Path) -> None:
    units = [WorkUnit(WorkKey("test", name, "default", "", 1, "meta", torch_version()), name)
             for name in ("a", "bad", "b", "a")]
    with ResultsFile(tmp_path / "t.jsonl", ATLAS_ROWS) as results:
        summary = run_units(units, row_for, LocalExecutor(1), results,
                            done=lambda unit, present: ("test", unit.key.model, None) in present, progress=False)
    assert (summary.written, summary.skipped, summary.statuses) == (2, 0, {"ok": 2})
    [failure] = summary.failed
    assert failure.unit.key.model == "bad" and "column 'params': -1 is below the smallest allowed value" in \
        failure.reason
    assert [row.name for row in read_rows(tmp_path / "t.jsonl")] == ["a", "b"]


# --- Ray only when asked -------------------------------------------------------------------------------------------


def test_no_command_imports_ray_unless_asked() -> None:
    script = ("import sys, contextlib, io\n"
              "from explorer.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "    main(['summary', 'lenet5'])\n"
              "    try:\n"
              "        main(['--help'])\n"
              "    except SystemExit:\n"
              "        pass\n"
              "print('ray' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"
