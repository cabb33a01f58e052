"""Attack pass: every command and option of `python -m explorer`, and the Python API, against hostile input.

Usage: python bench/attack.py [--only TEXT] [--time-limit 150] [--memory-limit-gib 3.5] [--processes] [--list]

Each case runs in a child forked from this process after torch and the explorer are imported (a fresh interpreter
costs ~5 s a case here; `--processes` runs `python -m explorer` instead, for the CLI cases), in its own folder with
its own process group, under a wall-clock limit and a memory limit (the peak resident memory of all its processes,
polled, and the child's own `ru_maxrss`; an address-space cap stops a sudden allocation before the machine swaps).
Every outcome is one of:

  clean      exit 2 with one `error: …` line on stderr (1 for a sweep that reported each failure, on stderr or as an
             error row in its table, and went on),
             or exit 0 where a result is right (and holds the expected text, where the case names one)
  traceback  a Python traceback, a crash or a signal, or an error that is not one `error:` line
  hang       still running at the time limit (killed with its process group)
  blow-up    over the memory limit (killed), or a MemoryError / failed allocation
  wrong      exit 0 where the input must be refused (silently wrong), or a refusal of what must work

The limit is the 2 GiB budget for CPU work (analyzers/budget.py) plus what the interpreter holds with torch,
transformers and pandas imported (~1.2 GiB here). Prints one line per case, then the counts by outcome and by
command; exit status 1 when any case is not clean. Rerun it when every branch has landed: the cases name commands
and options, not code, so new code is attacked by the same table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for the test helpers in tests/ (the project is installed; its tests are not)

CLEAN, TRACEBACK, HANG, BLOW_UP, WRONG = "clean", "traceback", "hang", "blow-up", "wrong"
OUTCOMES = (CLEAN, TRACEBACK, HANG, BLOW_UP, WRONG)
SWEEP = frozenset({1, 2})  # a sweep that reports a failed configuration as an error row and goes on exits 1
ERROR, OK, ANY = "error", "ok", "any"  # what a case must do: refuse in one line, succeed, or either cleanly
PAGE = os.sysconf("SC_PAGE_SIZE")
WARNING = re.compile(r"^\S+:\d+: \w*Warning: ")  # what the warnings module prints
PROGRESS_BAR = re.compile(r"\d+%\|")  # tqdm's "bench:  50%|█████     | 1/2 […]": progress, not an error


@dataclass(frozen=True)
class Case:
    expect: str
    argv: tuple[str, ...] = ()  # a command line (`{F}`: the fixtures folder)
    api: str = ""  # or Python code run with the API imported; a UserError it raises is the one-line refusal
    stdout_has: str = ""  # for OK cases: text the right result prints
    exit_codes: frozenset[int] = field(default_factory=lambda: frozenset({2}))  # a clean refusal's status

    @property
    def command(self) -> str:
        return f"api:{self.api.split('(')[0].strip()}" if self.api else (self.argv[0] if self.argv else "(none)")

    @property
    def label(self) -> str:
        text = self.api if self.api else " ".join(self.argv)
        return text.encode("unicode_escape").decode("ascii")[:110]


def E(*argv: str, exit_codes: frozenset[int] = frozenset({2})) -> Case:  # noqa: N802 - reads as a table
    return Case(ERROR, tuple(argv), exit_codes=exit_codes)


def O(*argv: str, has: str = "") -> Case:  # noqa: N802, E743
    return Case(OK, tuple(argv), stdout_has=has)


def A(*argv: str, has: str = "") -> Case:  # noqa: N802
    return Case(ANY, tuple(argv), stdout_has=has, exit_codes=frozenset({1, 2}))


def API(code: str, expect: str = ERROR, has: str = "") -> Case:  # noqa: N802
    return Case(expect, api=code, stdout_has=has)


LONG = "a" * 300 + ".csv"  # over the 255 bytes a file name may have
RESULTS = "{F}/results.csv"  # a valid bench results file, written fresh for every case (never a file of the checkout)


def fixtures(folder: Path) -> None:
    """The hostile files the cases name as {F}/…; {F} is also on sys.path for the user-code module."""
    text = {
        "ok.spec": "input 8x8x1\nconv 2 3x3\n",
        "bomb.spec": "input 1x1x1\nresidual x256\nbranch\n" + "path\n" * 1000 + "concat\nconv 1 1x1\nadd\n",
        "repeat.spec": "input 8x8x1\nconv 2 3x3 x100000000\n",
        "ansi.spec": "name \x1b[2J\x1b[31mRed\ninput 8x8x1\nconv 2 3x3\n",
        "bidi.spec": "name a\u202eb\ninput 8x8x1\nconv 2 3x3\n",
        "huge_input.spec": "input 100000x100000x100000\nconv 2 3x3\n",
        "wide.spec": "input 8x8x1\nconv 1000000000 3x3\n",
        "empty.spec": "",
        "tiny_bert.json": json.dumps({"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 32,
                                      "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 100}),
        "deep_bert.json": json.dumps({"model_type": "bert", "num_hidden_layers": 200000}),
        "negative_layers.json": json.dumps({"model_type": "bert", "num_hidden_layers": -1}),
        "text_layers.json": json.dumps({"model_type": "bert", "num_hidden_layers": "many"}),
        "float_layers.json": json.dumps({"model_type": "bert", "num_hidden_layers": 1e9}),
        "wide_bert.json": json.dumps({"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 2**31,
                                      "num_attention_heads": 2**20, "intermediate_size": 2**31}),
        "many_experts.json": json.dumps({"model_type": "mixtral", "num_hidden_layers": 1, "hidden_size": 32,
                                         "intermediate_size": 64, "num_attention_heads": 2, "num_key_value_heads": 1,
                                         "num_local_experts": 1000000, "vocab_size": 100}),
        "huge_image.json": json.dumps({"model_type": "vit", "num_hidden_layers": 1, "hidden_size": 32,
                                       "num_attention_heads": 2, "intermediate_size": 64, "image_size": 10**6}),
        "architectures_5.json": json.dumps({"model_type": "bert", "num_hidden_layers": 1, "architectures": [5]}),
        "architectures_text.json": json.dumps({"model_type": "bert", "num_hidden_layers": 1, "architectures": "x"}),
        "wrong_architecture.json": json.dumps({"model_type": "bert", "num_hidden_layers": 1,
                                               "architectures": ["GPT2LMHeadModel"]}),
        "list.json": "[1, 2, 3]",
        "not_json.json": "{model_type: bert",
        "no_type.json": json.dumps({"num_hidden_layers": 1}),
        "unknown_type.json": json.dumps({"model_type": "no-such-model"}),
        "type_number.json": json.dumps({"model_type": 5}),
        "nested.json": "[" * 100000 + "]" * 100000,
        "user_code.py": USER_CODE,
        "header_only.csv": "model,batch\n",
        "empty.csv": "",
        "atlas.jsonl": '{"name": "alexnet", "status": "ok"}\n',
    }
    for name, content in text.items():
        (folder / name).write_text(content, encoding="utf-8")
    (folder / "latin1.spec").write_bytes(b"input 8x8x1\nconv 2 3x3 # caf\xe9\n")
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 64)
    (folder / "wide_header.csv").write_text(",".join(f"c{i}" for i in range(700_000)) + "\n1\n")
    (folder / "big.json").write_bytes(b" " * (20 * 2**20) + b"{}")
    (folder / "big.spec").write_bytes(b"#" * 400_001)
    (folder / "hf_folder").mkdir()
    (folder / "hf_folder" / "config.json").write_text((folder / "tiny_bert.json").read_text())
    (folder / "empty_folder").mkdir()
    for name in ("tiny_bert", "deep_bert", "negative_layers", "architectures_5", "list", "nested", "not_json"):
        (folder / "hf_configs" / name).mkdir(parents=True)
        (folder / "hf_configs" / name / "config.json").write_text((folder / f"{name}.json").read_text())
    os.mkfifo(folder / "hf_configs" / "fifo_config")  # a folder entry that would block a reader
    os.mkfifo(folder / "fifo")
    prediction_fixtures(folder)


GPU = {"device": "cuda:0", "device_name": "NVIDIA H100 80GB HBM3"}  # a row `explorer bench` wrote on an H100


def prediction_fixtures(folder: Path) -> None:
    """Results CSVs and calibrated-parameters files for `predict --calibrate` / `--parameters`: valid ones, and
    ones that parse as CSV or JSON but hold what a fit must not take (NaN, inf, negative, another device)."""
    import csv

    from tests.bench_rows import bench_row

    def rows_file(name: str, rows: list[dict], tail: str = "") -> None:
        with open(folder / name, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
            out.write(tail)

    def row(model: str, latency_ms: float, **changes: object) -> dict:
        return {**bench_row(model, 1, 1.0), "latency_ms_p50": latency_ms, **changes}

    rows_file("cpu_results.csv", [row("lenet5", 0.5, input_size="1x32x32"), row("resnet18", 25.0)])
    rows_file("gpu_results.csv", [row("lenet5", 0.05, input_size="1x32x32", **GPU), row("resnet18", 0.4, **GPU)])
    rows_file("bf16_cpu.csv", [row("resnet18", 25.0, dtype="bf16")])
    rows_file("torn_results.csv", [row("lenet5", 0.5), row("resnet18", 25.0)], tail="alexnet,1,3x2")
    rows_file("nan_latency.csv", [row("lenet5", float("nan"))])
    rows_file("inf_latency.csv", [row("lenet5", float("inf"))])
    rows_file("negative_latency.csv", [row("lenet5", -1.0)])
    rows_file("zero_latency.csv", [row("lenet5", 0.0)])
    rows_file("code_names.csv", [row("user_code:exits", 1.0), row("os:system", 1.0), row("builtins:print", 1.0)])
    rows_file("hf_path_names.csv", [row("hf:/dev/zero", 1.0), row("hf:{F}/fifo".replace("{F}", str(folder)), 1.0)])
    rows_file("huge_input.csv", [row("resnet18", 1.0, input_size="3x100000x100000")])
    rows_file("bad_input.csv", [row("lenet5", 1.0, input_size="banana")])
    rows_file("unknown_model.csv", [row("no_such_model", 1.0)])
    rows_file("many_rows.csv", [row("lenet5", 1.0, batch=b) for b in range(1, 302)])
    (folder / "header_only_results.csv").write_text(",".join(bench_row("lenet5", 1, 1.0)) + "\n")
    (folder / "other_schema.csv").write_text("name,type,macs\nconv1,Conv2d,5\n")
    from analyzers.devices import datasheet
    from analyzers.predict.parameters import device_model

    shipped = device_model(datasheet("cpu"))  # the shipped CPU parameters, as `predict --calibrate` writes them
    good = {"version": 1, "device": "cpu", "parameters": shipped.parameters.as_dict(),
            "software": {"fused_attention": shipped.software.fused_attention,
                         "foreach_optimizer": shipped.software.foreach_optimizer, "autocast": False},
            "fitted_on": "attack", "interval": {"low": 0.8, "high": 1.2, "median_abs_error": 0.1, "within_10": 0.5,
                                                "within_25": 0.9, "samples": 4, "basis": "attack"}}
    (folder / "params_ok.json").write_text(json.dumps(good))
    for name, path, value in (("params_nan.json", ("parameters", "overhead_us"), float("nan")),
                              ("params_negative.json", ("parameters", "memory_efficiency"), -1.0),
                              ("params_inf.json", ("parameters", "exposed"), float("inf")),
                              ("params_text.json", ("parameters", "overhead_us"), "fast"),
                              ("params_interval.json", ("interval", "low"), float("nan"))):
        document = json.loads(json.dumps(good))
        document[path[0]][path[1]] = value
        (folder / name).write_text(json.dumps(document))


def results_file(path: Path) -> None:
    """Two batch-1 rows of a valid bench results CSV (lenet5, resnet18), through the project's own writer."""
    from analyzers.bench.results_file import append_row
    from tests.bench_rows import bench_row

    path.unlink(missing_ok=True)  # an earlier case may have written to it
    for model, latency_ms in (("lenet5", 0.5), ("resnet18", 25.0)):
        append_row(path, bench_row(model, 1, latency_ms))


USER_CODE = '''
import os, sys, threading
import torch
from collections import OrderedDict
from torch import nn

def small():
    return nn.Sequential(nn.Linear(4, 4), nn.ReLU())

def raises_value_error():
    raise ValueError("bad\\x1b[31m\\nsecond line")

def raises_generator_exit():
    raise GeneratorExit

def raises_keyboard_interrupt():
    raise KeyboardInterrupt

def exits():
    sys.exit(3)

def returns_none():
    return None

def returns_number():
    return 5

def needs_arguments(a, b):
    return small()

def recursion():
    return recursion()

def many_modules():
    return nn.Sequential(*[nn.ReLU() for _ in range(3_000_000)])

def billions_of_parameters():
    return nn.Sequential(*[nn.Linear(100_000, 100_000) for _ in range(100)])

def real_allocation():
    return nn.Linear(1, 1), torch.ones(2**33, dtype=torch.uint8).sum()

def builds_forever():
    while True:
        pass

def hostile_names():
    names = ["clear\\x1b[2J", "two\\nlines", "bidi\\u202eevil", "<img src=x onerror=alert(1)>", "a|b", "[x](y)"]
    return nn.Sequential(OrderedDict((name, nn.Linear(4, 4)) for name in names))

class Forever(nn.Module):
    def forward(self, x):
        while True:
            x = x + 0

class GeneratorExitInForward(nn.Module):
    def forward(self, x):
        raise GeneratorExit

class ExitsInForward(nn.Module):
    def forward(self, x):
        sys.exit(4)

class ReturnsText(nn.Module):
    def forward(self, x):
        return "not a tensor"

class AllocatesInForward(nn.Module):
    def forward(self, x):
        return x + torch.ones(2**32, device=x.device).sum()

class ThreadInForward(nn.Module):
    def forward(self, x):
        threading.Thread(target=lambda: None).start()
        return x * 2

class DataDependent(nn.Module):
    def forward(self, x):
        return x[x > 0]
'''

F = "{F}"


def cli_cases() -> list[Case]:
    cases = [
        # the program itself
        E(), E("frobnicate"), E("--version"), E("\x1b[31m"), E("summary", "--nope"),
        # list
        O("list", has="lenet5"), O("list", "--family", "inception", has="googlenet"), E("list", "--family", "nope"),
        E("list", "--family", ""), E("list", "--family", "\x1b[2J"), O("list", "--contains", "vgg", has="vgg16"),
        A("list", "--contains", "\u202e"), O("list", "--json", has='"name"'), E("list", "extra"),
        # summary: names
        O("summary", "lenet5", has="416,520"), E("summary", "nope"), E("summary", "\x1b[2Jnope"),
        E("summary", "n" * 100_000), E("summary", "../../etc/passwd"), E("summary", ":"), E("summary", "a:b:c"),
        E("summary", "torchvision:nope"), E("summary", "timm:nope"), E("summary", "hf:"), E("summary", "os:system"),
        E("summary", "builtins:print"), E("summary", "user_code:nope"), E("summary", "no_such_module:f"),
        E("summary", "resnet18", "--spec", f"{F}/ok.spec"), E("summary", "--all", "lenet5"), E("summary", ""),
        # summary: --input
        E("summary", "lenet5", "--input", "0"), E("summary", "lenet5", "--input", "-1x32x32"),
        E("summary", "lenet5", "--input", "1x32.5x32"), E("summary", "lenet5", "--input", "x"),
        E("summary", "lenet5", "--input", "1x" + "9" * 40 + "x32"), E("summary", "lenet5", "--input", "1x32x32x32x32x2"),
        E("summary", "lenet5", "--input", "\u0661x\u0663\u0662x\u0663\u0662"),  # Arabic-Indic digits
        E("summary", "lenet5", "--input", "1x3_2x32"), E("summary", "lenet5", "--input", "\uff11x32x32"),
        E("summary", "lenet5", "--input", "3x32x32"), E("summary", "lenet5", "--input", "1x1x1"),
        E("summary", "lenet5", "--input", "x=float32:1x1x32x32", "--input", "x=float32:1x1x32x32"),
        E("summary", "lenet5", "--input", "x=nope:1x1x32x32"), E("summary", "lenet5", "--input", "=float32:1x1"),
        E("summary", "lenet5", "--input", "x=float32:"), E("summary", "lenet5", "--input", "x=float32:0x1"),
        E("summary", "lenet5", "--input", "float32:1x1x32x32", "--input", "y=float32:1x1x32x32"),
        A("summary", "lenet5", "--input", "float32:2x1x32x32"),
        A("summary", "resnet18", "--train", "--input", "x=float32:4x3x64x64", has="input 3x64x64  batch 4"),
        A("summary", "resnet18", "--train", "--input", "float32:4x3x64x64", has="input 3x64x64  batch 4"),
        E("summary", "resnet18", "--train", "--input", "3x64x64", "--input", "3x64x64"),
        # summary: numbers
        E("summary", "lenet5", "--batch", "0"), E("summary", "lenet5", "--batch", "-3"),
        E("summary", "lenet5", "--batch", "\u0663"), E("summary", "lenet5", "--batch", "1_0"),
        E("summary", "lenet5", "--batch", "\uff13"), E("summary", "lenet5", "--batch", "1e3"),
        E("summary", "lenet5", "--batch", "1" + "0" * 4000), E("summary", "lenet5", "--batch", "nan"),
        A("summary", "lenet5", "--batch", " 3"), O("summary", "lenet5", "--batch", "3", has="1,249,560"),
        # summary: options
        E("summary", "efficientnet", "--set", "phi=100"), E("summary", "efficientnet", "--set", "phi=nan"),
        E("summary", "mobilenet_v1", "--set", "width_mult=1e308"), E("summary", "vgg16", "--set", "num_classes=0"),
        E("summary", "vgg16", "--set", "num_classes=1000000000"), E("summary", "cifar_resnet", "--set", "depth=100000"),
        E("summary", "mobilenet_v2", "--set", "width_mult=1000"), E("summary", "lenet5", "--set", "=1"),
        E("summary", "lenet5", "--set", "x"), E("summary", "lenet5", "--set", "\x1b[31m=1"),
        E("summary", "lenet5", "--set", "num_classes=\u0663"), E("summary", "lenet5", "--set", "num_classes=1_0"),
        E("summary", "lenet5", "--dtype", "int8"), E("summary", "lenet5", "--device", "cuda"),
        E("summary", "lenet5", "--device", "\x1b"), E("summary", "lenet5", "--roofline", "nope"),
        E("summary", "lenet5", "--roofline", "\x1b[2J"), O("summary", "lenet5", "--roofline", "H200", has="roofline"),
        E("summary", "lenet5", "--timeout", "-1"), E("summary", "lenet5", "--timeout", "nan"),
        E("summary", "lenet5", "--timeout", "inf"), E("summary", "lenet5", "--timeout", "1e300"),
        A("summary", "lenet5", "--timeout", "0.000001"), E("summary", "lenet5", "--build-device", "cuda"),
        O("summary", "lenet5", "--build-device", "cpu", has="416,520"), E("summary", "--family", "nope", "--all"),
        E("summary", "lenet5", "--family", "inception"), A("summary", "--all", "--input", "1x1x1"),
        O("summary", "--all", "--family", "inception", "--json", has='"macs"'),
        # summary: real work on the CPU
        O("summary", "lenet5", "--device", "cpu", "--batch", "8", has="data-dependent"),
        E("summary", "resnet18", "--device", "cpu", "--batch", "256"),
        E("summary", "resnet18", "--device", "cpu", "--input", "3x20000x20000"),
        E("summary", "resnet18", "--crosscheck", "fvcore", "--batch", "256"),
        E("summary", "resnet18", "--crosscheck", "fvcore", "--input", "3x20000x20000"),
        E("summary", "vgg16", "--device", "cpu", "--batch", "100000"),
        E("summary", "torchvision:fasterrcnn_mobilenet_v3_large_320_fpn", "--device", "cpu", "--batch", "5000"),
        E("summary", "torchvision:fasterrcnn_mobilenet_v3_large_320_fpn"),
        O("summary", "inception_5x5_bottleneck", "--crosscheck", "fvcore", has="fvcore"),
        E("summary", "lenet5", "--crosscheck", "nope"), E("summary", "lenet5", "--crosscheck", "fvcore", "--train"),
        E("summary", f"hf:{F}/tiny_bert.json", "--crosscheck", "fvcore"),
        # summary --train
        O("summary", "lenet5", "--train", has="backward"), E("summary", "lenet5", "--train", "--optimizer", "nope"),
        E("summary", "lenet5", "--optimizer", "adam"), E("summary", "lenet5", "--train", "--freeze", "nope"),
        E("summary", "lenet5", "--train", "--freeze", "\x1b[2J"), E("summary", "lenet5", "--train", "--freeze-stages",
                                                                     "1000000"),
        E("summary", "lenet5", "--train", "--freeze-stages", "-1"), E("summary", "lenet5", "--train", "--all"),
        E("summary", "lenet5", "--train", "--device", "cpu"), E("summary", "lenet5", "--train", "--batch", "10" * 20),
        # specs
        O("summary", "--spec", f"{F}/ok.spec", has="MACs"), E("summary", "--spec", f"{F}/bomb.spec"),
        E("summary", "--spec", f"{F}/repeat.spec"), E("summary", "--spec", f"{F}/ansi.spec"),
        E("summary", "--spec", f"{F}/bidi.spec"), E("summary", "--spec", f"{F}/huge_input.spec"),
        E("summary", "--spec", f"{F}/wide.spec"), E("summary", "--spec", f"{F}/empty.spec"),
        E("summary", "--spec", f"{F}/latin1.spec"), E("summary", "--spec", f"{F}/big.spec"),
        E("summary", "--spec", F), E("summary", "--spec", f"{F}/fifo"), E("summary", "--spec", "/dev/zero"),
        E("summary", "--spec", "/bin/ls"), E("summary", "--spec", f"{F}/missing.spec"),
        E("summary", "--spec", f"{F}/{LONG}"), E("summary", "--spec", f"{F}/ok.spec", "--set", "a=1"),
        E("report", "--spec", f"{F}/ok.spec", "--input", "3x8x8"),
        # Hugging Face configs
        O("summary", f"hf:{F}/tiny_bert.json", has="MACs"), O("summary", f"hf:{F}/hf_folder", has="MACs"),
        E("summary", f"hf:{F}/deep_bert.json"), E("summary", f"hf:{F}/negative_layers.json"),
        E("summary", f"hf:{F}/text_layers.json"), E("summary", f"hf:{F}/float_layers.json"),
        A("summary", f"hf:{F}/wide_bert.json"), A("summary", f"hf:{F}/many_experts.json"),
        A("summary", f"hf:{F}/huge_image.json"), E("summary", f"hf:{F}/architectures_5.json"),
        E("summary", f"hf:{F}/architectures_text.json"), E("summary", f"hf:{F}/wrong_architecture.json"),
        E("summary", f"hf:{F}/list.json"), E("summary", f"hf:{F}/not_json.json"), E("summary", f"hf:{F}/no_type.json"),
        E("summary", f"hf:{F}/unknown_type.json"), E("summary", f"hf:{F}/type_number.json"),
        E("summary", f"hf:{F}/nested.json"), E("summary", f"hf:{F}/big.json"), E("summary", f"hf:{F}/fifo"),
        E("summary", "hf:/dev/zero"), E("summary", f"hf:{F}/empty_folder"), E("summary", f"hf:{F}/missing.json"),
        E("summary", f"hf:{LONG}"), E("summary", f"hf:{F}/tiny_bert.json", "--input", "3x224x224"),
        E("summary", f"hf:{F}/tiny_bert.json", "--set", "a=1"),
        O("summary", f"hf:{F}/tiny_bert.json", "--input", "input_ids=int64:2x16", has="MACs"),
        E("summary", f"hf:{F}/tiny_bert.json", "--input", "input_ids=int64:1x100000000"),
        E("summary", f"hf:{F}/tiny_bert.json", "--input", "nope=int64:1x16"),
        # user code
        O("summary", "user_code:small", "--input", "4", has="MACs"),
        E("summary", "user_code:raises_value_error", "--input", "4"),
        E("summary", "user_code:raises_generator_exit", "--input", "4"),
        E("summary", "user_code:raises_keyboard_interrupt", "--input", "4"),
        E("summary", "user_code:exits", "--input", "4"), E("summary", "user_code:returns_none", "--input", "4"),
        E("summary", "user_code:returns_number", "--input", "4"),
        E("summary", "user_code:needs_arguments", "--input", "4"), E("summary", "user_code:recursion", "--input", "4"),
        A("summary", "user_code:many_modules", "--input", "4", "--timeout", "20"),
        O("summary", "user_code:billions_of_parameters", "--input", "100000", has="1,000,010,000,000"),
        E("summary", "user_code:builds_forever", "--input", "4", "--timeout", "2"),
        E("summary", "user_code:Forever", "--input", "4", "--timeout", "2"),
        E("summary", "user_code:Forever", "--input", "4", "--device", "cpu", "--timeout", "2"),
        E("summary", "user_code:GeneratorExitInForward", "--input", "4"),
        E("summary", "user_code:ExitsInForward", "--input", "4"), A("summary", "user_code:ReturnsText", "--input", "4"),
        A("summary", "user_code:AllocatesInForward", "--input", "4"),
        A("summary", "user_code:AllocatesInForward", "--input", "4", "--device", "cpu"),
        O("summary", "user_code:ThreadInForward", "--input", "4", has="MACs"),
        E("summary", "user_code:DataDependent", "--input", "4"),
        O("summary", "user_code:DataDependent", "--input", "4", "--device", "cpu", has="data-dependent"),
        E("summary", "user_code:small"), E("summary", "user_code:small", "--input", "5"),
        # report
        O("report", "lenet5", has="formula"), O("report", "lenet5", "--depth", "0", has="lenet5"),
        E("report", "lenet5", "--depth", "-1"), E("report", "lenet5", "--depth", "\u0663"),
        O("report", "lenet5", "--depth", "9" * 30, has="lenet5"), O("report", "lenet5", "--markdown", has="| name |"),
        O("report", "user_code:hostile_names", "--input", "4", "--markdown", has="\\<img"),
        O("report", "user_code:hostile_names", "--input", "4", has="\\x1b"),
        O("report", "lenet5", "--csv", "out.csv", "--json", "out.json"), A("report", "lenet5", "--csv", "/dev/stdout"),
        E("report", "lenet5", "--csv", F), E("report", "lenet5", "--csv", f"{F}/fifo"),
        E("report", "lenet5", "--json", f"{F}/fifo"), E("report", "lenet5", "--csv", "/dev/full"),
        E("report", "lenet5", "--csv", LONG), E("report", "lenet5", "--json", LONG),
        E("report", "lenet5", "--csv", "/nonexistent-dir/x.csv"), E("report", "lenet5", "--csv", "/proc/version"),
        E("report", "lenet5", "--csv", ""), E("report"), E("report", "lenet5", "--roofline", "nope"),
        O("report", "mobilenet_v2", "--roofline", "H200", "--dtype", "bf16", has="bound"),
        O("report", "lenet5", "--train", has="bwd"), E("report", "lenet5", "--train", "--markdown", "--depth", "-2"),
        E("report", "resnet18", "--device", "cpu", "--batch", "256"),
        E("report", "resnet18", "--device", "cpu", "--input", "3x20000x20000"),
        # atlas
        E("atlas", "nope", "--jsonl", "a.jsonl"), E("atlas", "torchvision"), E("atlas", "hf", "--jsonl", "a.jsonl"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--workers", "0"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--workers", "-1"),
        A("atlas", "torchvision", "--jsonl", "a.jsonl", "--workers", "1000", "--contains", "alexnet", "--no-progress"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--timeout", "inf"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--timeout", "1e300"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--timeout", "-1"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--limit", "-1"),
        A("atlas", "torchvision", "--jsonl", "a.jsonl", "--limit", "0", "--no-progress"),
        A("atlas", "torchvision", "--jsonl", "a.jsonl", "--contains", "\x1b[2J", "--no-progress"),
        O("atlas", "torchvision", "--jsonl", "a.jsonl", "--contains", "alexnet", "--workers", "1", "--no-progress"),
        E("atlas", "torchvision", "--jsonl", F), E("atlas", "torchvision", "--jsonl", f"{F}/fifo"),
        E("atlas", "torchvision", "--jsonl", "/dev/zero"), E("atlas", "torchvision", "--jsonl", RESULTS),
        E("atlas", "torchvision", "--jsonl", f"{F}/binary.csv"), E("atlas", "torchvision", "--jsonl", LONG),
        E("atlas", "torchvision", "--jsonl", ""),
        # atlas of a folder of Hugging Face configs, and the Ray executor options
        O("atlas", "hf", "--configs", f"{F}/hf_folder", "--jsonl", "a.jsonl", "--workers", "1", "--no-progress"),
        A("atlas", "hf", "--configs", f"{F}/hf_configs", "--jsonl", "a.jsonl", "--workers", "1", "--no-progress",
          "--timeout", "30"),
        E("atlas", "hf", "--configs", f"{F}/missing", "--jsonl", "a.jsonl"),
        E("atlas", "hf", "--configs", f"{F}/ok.spec", "--jsonl", "a.jsonl"),
        E("atlas", "hf", "--configs", f"{F}/fifo", "--jsonl", "a.jsonl"),
        E("atlas", "hf", "--configs", "/dev/zero", "--jsonl", "a.jsonl"), E("atlas", "hf", "--configs", LONG, "--jsonl",
                                                                            "a.jsonl"),
        E("atlas", "hf", "--configs", f"{F}/hf_folder", "--jsonl", "a.jsonl", "--seq-len", "0"),
        E("atlas", "hf", "--configs", f"{F}/hf_folder", "--jsonl", "a.jsonl", "--seq-len", "10000000"),
        E("atlas", "hf", "--configs", f"{F}/hf_folder", "--jsonl", "a.jsonl", "--seq-len", "\u0663"),
        E("atlas", "torchvision", "--configs", f"{F}/hf_folder", "--jsonl", "a.jsonl"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--seq-len", "64"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--executor", "nope"),
        A("atlas", "torchvision", "--jsonl", "a.jsonl", "--ray-address", "127.0.0.1:1", "--contains", "alexnet"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--executor", "ray", "--ray-address", "\x1b[2J"),
        E("atlas", "torchvision", "--jsonl", "a.jsonl", "--executor", "ray", "--ray-address", "127.0.0.1:1",
          "--contains", "alexnet", "--no-progress"),
        E("bench", "lenet5", "--device", "cpu", "--gpu-kinds", "H100"), E("bench", "lenet5", "--gpu-kinds", ""),
        E("bench", "lenet5", "--executor", "ray", "--ray-address", "127.0.0.1:1", "--device", "cpu", "--iters", "1"),
        E("bench", "lenet5", "--executor", "ray", "--gpu-kinds", "\x1b[2J,,", "--iters", "1"),
        # bench
        O("bench", "lenet5", "--iters", "2", "--warmup", "0", "--device", "cpu", has="lenet5"),
        E("bench", "nope", "--device", "cpu"), E("bench", "lenet5", "--batch", "0", "--device", "cpu"),
        E("bench", "lenet5", "--batch", "9" * 30, "--iters", "1", "--warmup", "0", "--device", "cpu"),
        E("bench", "lenet5", "--batch", "1,,2", "--device", "cpu"), E("bench", "lenet5", "--batch", "\u0663"),
        E("bench", "lenet5", "--iters", "0", "--device", "cpu"),
        # bench's own --timeout (default 600 s a configuration, over this script's limit) stops an endless sweep
        E("bench", "lenet5", "--iters", "1000000000000", "--device", "cpu", "--timeout", "10", exit_codes=SWEEP),
        E("bench", "lenet5", "--warmup", "1000000000000", "--device", "cpu", "--timeout", "10", exit_codes=SWEEP),
        E("bench", "lenet5", "--iters", "-1", "--device", "cpu"), E("bench", "lenet5", "--device", "cuda:99"),
        E("bench", "lenet5", "--device", "\x1b[2J"), E("bench", "lenet5", "--dtype", "int4", "--device", "cpu"),
        A("bench", "lenet5", "--peak", "measured", "--dtype", "fp16", "--device", "cpu", "--iters", "1"),
        E("bench", "lenet5", "--input", "3x0x6", "--device", "cpu"),
        E("bench", "lenet5", "--input", "3x20000x20000", "--iters", "1", "--warmup", "0", "--device", "cpu"),
        A("bench", "vgg16", "--batch", "4096", "--iters", "1", "--warmup", "0", "--device", "cpu"),
        E("bench", "lenet5", "--csv", F, "--device", "cpu"), E("bench", "lenet5", "--csv", f"{F}/fifo", "--device", "cpu"),
        E("bench", "lenet5", "--csv", f"{F}/binary.csv", "--device", "cpu"),
        E("bench", "lenet5", "--csv", f"{F}/atlas.jsonl", "--device", "cpu"),
        E("bench", "lenet5", "--csv", LONG, "--device", "cpu"), E("bench", "lenet5", "--csv", "", "--device", "cpu"),
        O("bench", "lenet5", "--train", "--iters", "2", "--warmup", "0", "--device", "cpu", has="lenet5"),
        E("bench", "lenet5", "--train", "--optimizer", "nope", "--device", "cpu"),
        E("bench", "lenet5", "--compile", "--device", "\x1b"),
        # gradients
        O("gradients", "lenet5", "--batch", "2", has="lenet5"), E("gradients", "nope"),
        E("gradients", "lenet5", "--batch", "0"), E("gradients", "lenet5", "--batch", "\u0663"),
        E("gradients", "lenet5", "--seed", "-1"), E("gradients", "lenet5", "--seed", "9" * 40),
        E("gradients", "lenet5", "--init", "nope"), E("gradients", "resnet1202_cifar", "--batch", "64"),
        E("gradients", "vgg16", "--batch", "64"), E("gradients", "lenet5", "--csv", F),
        E("gradients", "lenet5", "--csv", f"{F}/fifo"), E("gradients", "lenet5", "--csv", LONG),
        E("gradients", "lenet5", "--csv", RESULTS), E("gradients", "lenet5", "--csv", "/dev/full"),
        O("gradients", "lenet5", "--batch", "2", "--csv", "g.csv", has="lenet5"),
        E("gradients", "user_code:small"), E("gradients", f"hf:{F}/tiny_bert.json"),
        # ensemble
        O("ensemble", "lenet5", has="MACs per image"), O("ensemble", "resnet18,vgg16", "--crops", "10crop", has="10"),
        O("ensemble", "resnet18*3", "--crops", "googlenet", has="144"), E("ensemble", ""), E("ensemble", ","),
        E("ensemble", "lenet5,,lenet5"), E("ensemble", "lenet5*0"), E("ensemble", "lenet5*99999999999999"),
        E("ensemble", "lenet5*\u0663"), E("ensemble", "nope"), E("ensemble", "\x1b[2J"),
        E("ensemble", ",".join(["lenet5"] * 65)), E("ensemble", "lenet5", "--crops", "0"),
        E("ensemble", "lenet5", "--crops", "-1"), E("ensemble", "lenet5", "--crops", "abc"),
        E("ensemble", "lenet5", "--crops", "1e9"), E("ensemble", "lenet5", "--crops", "\u0663"),
        E("ensemble", "lenet5", "--crops", "9" * 40), E("ensemble", "lenet5", "--dtype", "int8"),
        O("ensemble", "lenet5", "--results", RESULTS, has="measured latency"),
        E("ensemble", "lenet5", "--results", "/nope.csv"), E("ensemble", "lenet5", "--results", F),
        E("ensemble", "lenet5", "--results", f"{F}/fifo"), E("ensemble", "lenet5", "--results", "/dev/zero"),
        E("ensemble", "lenet5", "--results", f"{F}/binary.csv"), E("ensemble", "lenet5", "--results", f"{F}/empty.csv"),
        E("ensemble", "lenet5", "--results", f"{F}/header_only.csv"),
        E("ensemble", "lenet5", "--results", f"{F}/wide_header.csv"),
        E("ensemble", "lenet5", "--results", f"{F}/atlas.jsonl"), E("ensemble", "lenet5", "--results", LONG),
        E("ensemble", "user_code:small"), E("ensemble", "hf:x"),
        *predict_cases(),
        # the options the table above had no case for (each command's every option is tried at least once)
        O("summary", "lenet5", "--train", "--optimizer", "adam", "--optimizer-impl", "fused", "--step-device", "cuda",
          has="backward"),
        E("summary", "lenet5", "--optimizer-impl", "fused"), E("summary", "lenet5", "--train", "--optimizer-impl",
                                                               "nope"),
        E("summary", "lenet5", "--step-device", "cpu"), E("summary", "lenet5", "--train", "--step-device", "\x1b[2J"),
        O("report", "efficientnet", "--set", "phi=1", has="formula"), E("report", "efficientnet", "--set", "phi=nan"),
        E("report", "user_code:Forever", "--input", "4", "--timeout", "2"), E("report", "lenet5", "--timeout", "inf"),
        O("report", "lenet5", "--build-device", "cpu", has="formula"), E("report", "lenet5", "--build-device", "cuda"),
        O("report", "lenet5", "--train", "--optimizer", "adamw", "--optimizer-impl", "foreach", "--step-device", "cpu",
          has="bwd"),
        E("report", "lenet5", "--optimizer", "adam"), E("report", "lenet5", "--train", "--step-device", "tpu"),
        O("report", "lenet5", "--train", "--freeze", "conv2", has="bwd"), E("report", "lenet5", "--train", "--freeze",
                                                                             "\x1b[2J"),
        O("report", "lenet5", "--train", "--freeze-stages", "1", has="bwd"),
        E("report", "lenet5", "--train", "--freeze-stages", "\u0663"), E("report", "lenet5", "--freeze-stages", "1"),
        O("bench", "lenet5", "--channels-last", "--iters", "2", "--warmup", "0", "--device", "cpu", has="lenet5"),
        E("bench", "lenet5", "--channels-last", "--input", "3x20000x20000", "--device", "cpu"),
        O("ensemble", "resnet18,vgg16", "--json", has='"macs'), E("ensemble", "nope", "--json"),
        O("predict", "lenet5", "--build-device", "cpu", has="PREDICTED"), E("predict", "lenet5", "--build-device",
                                                                           "cuda"),
    ]
    return cases


def predict_cases() -> list[Case]:
    """`predict` (and `summary --predict`): devices, precisions, numbers, output files, `--calibrate` results files
    and `--parameters` files."""
    return [
        # what must work
        O("predict", "lenet5", has="PREDICTED (not measured)"),
        O("predict", "resnet18", "--device", "h100-sxm", "--batch", "32", "--dtype", "fp16", has="total (predicted)"),
        O("predict", "resnet18", "--device", "cpu", has="fp32"), O("predict", "lenet5", "--device", "H200 SXM", has="h200"),
        O("predict", "lenet5", "--train", "--optimizer", "adamw", has="training step"),
        O("predict", "lenet5", "--top", "2", has="the 2 slowest of"),
        O("predict", "lenet5", "--json", has='"predicted_ms"'), O("predict", "lenet5", "--csv", has="predicted_ms"),
        O("predict", "lenet5", "--json", "p.json", "--csv", "p.csv"),
        O("predict", "--spec", f"{F}/ok.spec", has="PREDICTED"),
        O("predict", "user_code:small", "--input", "4", has="PREDICTED"),
        O("predict", f"hf:{F}/tiny_bert.json", has="PREDICTED"),
        O("predict", "torchvision:resnet18", "--device", "t4", has="PREDICTED"),
        A("predict", "timm:resnet18", has="PREDICTED"),
        O("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/params_ok.json", has="attack"),
        O("predict", "--calibrate", f"{F}/cpu_results.csv", "--device", "cpu", "--out", "cal.json", has="wrote cal.json"),
        O("predict", "--calibrate", f"{F}/gpu_results.csv", "--device", "h100-sxm", "--out", "cal.json",
          has="calibrated the h100-sxm"),
        O("predict", "lenet5", "--device", "t4", has="fp16"), O("summary", "lenet5", "--predict", "rtx5090",
                                                                   has="predicted"),
        O("summary", "lenet5", "--predict", "cpu", "--json", has='"predicted_device"'),
        # the model
        E("predict"), E("predict", "nope"), E("predict", ""), E("predict", "\x1b[2Jnope"), E("predict", "timm:nope"),
        E("predict", "os:system"), E("predict", "user_code:exits", "--input", "4"),
        E("predict", "user_code:Forever", "--input", "4", "--timeout", "2"), E("predict", "user_code:small"),
        E("predict", "lenet5", "--spec", f"{F}/ok.spec"), E("predict", "--spec", f"{F}/fifo"),
        E("predict", "--spec", "/dev/zero"), E("predict", "--spec", f"{F}/bomb.spec"),
        E("predict", f"hf:{F}/deep_bert.json"), E("predict", "lenet5", "--set", "x"),
        E("predict", "efficientnet", "--set", "phi=nan"), E("predict", "lenet5", "--input", "\u0661x\u0663\u0662"),
        E("predict", "lenet5", "--input", "3x32x32"),
        # the device and the precision
        E("predict", "lenet5", "--device", "nope"), E("predict", "lenet5", "--device", ""),
        E("predict", "lenet5", "--device", "\x1b[2J"), E("predict", "lenet5", "--device", "rtx5090\n"),
        E("predict", "lenet5", "--device", "\u202ecpu"), E("predict", "lenet5", "--device", "n" * 100_000),
        E("predict", "lenet5", "--device", "cuda"), E("predict", "lenet5", "--dtype", "int8"),
        E("predict", "lenet5", "--dtype", ""), E("predict", "lenet5", "--device", "cpu", "--dtype", "tf32"),
        E("predict", "lenet5", "--device", "cpu", "--dtype", "fp16"), E("predict", "lenet5", "--device", "t4",
                                                                         "--dtype", "bf16"),
        E("predict", "lenet5", "--optimizer", "adam"), E("predict", "lenet5", "--train", "--optimizer", "nope"),
        # numbers
        E("predict", "lenet5", "--batch", "0"), E("predict", "lenet5", "--batch", "-1"),
        E("predict", "lenet5", "--batch", "\u0663"), E("predict", "lenet5", "--batch", "\uff13"),
        E("predict", "lenet5", "--batch", "1" + "0" * 40), E("predict", "lenet5", "--batch", "1e3"),
        E("predict", "lenet5", "--train", "--batch", "1" + "0" * 40), A("predict", "lenet5", "--batch", "1000000000"),
        E("predict", "lenet5", "--top", "0"), E("predict", "lenet5", "--top", "\u0663"),
        O("predict", "lenet5", "--top", "9" * 40, has="PREDICTED"), E("predict", "lenet5", "--timeout", "nan"),
        # output files
        E("predict", "lenet5", "--json", F), E("predict", "lenet5", "--csv", F), E("predict", "lenet5", "--json",
                                                                                  f"{F}/fifo"),
        E("predict", "lenet5", "--csv", f"{F}/fifo"), E("predict", "lenet5", "--json", "/dev/full"),
        E("predict", "lenet5", "--csv", "/dev/full"), E("predict", "lenet5", "--csv", LONG),
        E("predict", "lenet5", "--json", "/nonexistent-dir/x.json"), E("predict", "lenet5", "--csv", "/proc/version"),
        E("predict", "lenet5", "--json", ""), E("predict", "lenet5", "--csv", ""),
        # --calibrate: the results file
        E("predict", "--calibrate", f"{F}/fifo", "--device", "cpu"), E("predict", "--calibrate", "/dev/zero"),
        E("predict", "--calibrate", F), E("predict", "--calibrate", f"{F}/binary.csv"),
        E("predict", "--calibrate", "/bin/ls"), E("predict", "--calibrate", f"{F}/missing.csv"),
        E("predict", "--calibrate", LONG), E("predict", "--calibrate", ""), E("predict", "--calibrate", f"{F}/empty.csv"),
        E("predict", "--calibrate", f"{F}/header_only.csv"), E("predict", "--calibrate", f"{F}/header_only_results.csv"),
        E("predict", "--calibrate", f"{F}/other_schema.csv"), E("predict", "--calibrate", f"{F}/wide_header.csv"),
        E("predict", "--calibrate", f"{F}/atlas.jsonl"), E("predict", "--calibrate", f"{F}/tiny_bert.json"),
        E("predict", "--calibrate", RESULTS, "--device", "rtx5090"),
        E("predict", "--calibrate", f"{F}/gpu_results.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/gpu_results.csv", "--device", "\x1b[2J"),
        A("predict", "--calibrate", f"{F}/torn_results.csv", "--device", "cpu", "--out", "cal.json"),
        E("predict", "--calibrate", f"{F}/nan_latency.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/inf_latency.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/negative_latency.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/zero_latency.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/code_names.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/hf_path_names.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/huge_input.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/bad_input.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/unknown_model.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/many_rows.csv", "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/bf16_cpu.csv", "--device", "cpu"),
        E("predict", "--calibrate", RESULTS, "--device", "cpu"),  # lenet5 at 3x32x32: it takes one channel
        E("predict", "lenet5", "--calibrate", RESULTS, "--device", "cpu"),
        E("predict", "--calibrate", f"{F}/cpu_results.csv", "--device", "cpu", "--out", F),
        E("predict", "--calibrate", f"{F}/cpu_results.csv", "--device", "cpu", "--out", f"{F}/fifo"),
        E("predict", "--calibrate", f"{F}/cpu_results.csv", "--device", "cpu", "--out", "/dev/full"),
        E("predict", "--calibrate", f"{F}/cpu_results.csv", "--device", "cpu", "--out", LONG),
        E("predict", "--calibrate", f"{F}/cpu_results.csv", "--device", "cpu", "--out", ""),
        # --parameters: a calibrated file
        E("predict", "lenet5", "--device", "rtx5090", "--parameters", f"{F}/params_ok.json"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/fifo"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", "/dev/zero"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", F),
        E("predict", "lenet5", "--device", "cpu", "--parameters", "/bin/ls"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/big.json"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/nested.json"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/list.json"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/missing.json"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", LONG),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/params_nan.json"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/params_negative.json"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/params_inf.json"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/params_text.json"),
        E("predict", "lenet5", "--device", "cpu", "--parameters", f"{F}/params_interval.json"),
        # summary --predict
        E("summary", "lenet5", "--predict", "nope"), E("summary", "lenet5", "--predict", ""),
        E("summary", "lenet5", "--predict", "\x1b[2J"), E("summary", "lenet5", "--predict", "cpu\n"), E("summary", "lenet5", "--predict", "cpu", "--dtype", "bf16"),
        E("summary", "lenet5", "--predict", "t4", "--dtype", "bf16"), E("summary", "lenet5", "--predict", "cpu",
                                                                         "--train"),
        A("summary", "--all", "--family", "inception", "--predict", "h100-sxm", "--json", has='"predicted_ms"'),
        A("summary", f"hf:{F}/tiny_bert.json", "--predict", "rtx5090", has="predicted"),
    ]


def api_cases() -> list[Case]:
    lin = "nn.Sequential(nn.Linear(4, 4))"
    conv = "nn.Sequential(nn.Conv2d(3, 8, 3))"
    return [
        API(f"print(analyze({conv}, (3, 8, 8)).totals.macs)", OK, has="7776"),  # 6·6·8 outputs × 3·3·3
        API(f"analyze({conv}, (3, 8.7, 8))"), API(f"analyze({conv}, (3, -8, 8))"), API(f"analyze({conv}, (3, 0, 8))"),
        API(f"analyze({conv}, (3, 2**70, 8))"), API(f"analyze({conv}, '3x8x8')", ANY), API(f"analyze({conv}, None)"),
        API(f"analyze({conv}, (3, 8, 8), 0)"), API(f"analyze({conv}, (3, 8, 8), -1)"),
        API(f"analyze({conv}, (3, 8, 8), 1.5)"), API(f"analyze({conv}, (3, 8, 8), True)"),
        API(f"analyze({conv}, (3, 8, 8), 10**30)"), API(f"analyze({conv}, (3, 8, 8), dtype='fp32')", ANY),
        API(f"analyze({conv}, (3, 8, 8), dtype=torch.int8)"), API(f"analyze({conv}, (3, 8, 8), device='cuda')"),
        API(f"analyze({conv}, (3, 8, 8), device='\\x1b[2J')"), API(f"analyze({conv}, (3, 8, 8), device='xla')"),
        API(f"analyze({conv}, (3, 2, 2))"), API(f"analyze({conv}, (4, 8, 8))"), API("analyze(None, (3, 8, 8))"),
        API("analyze(nn.Linear, (3, 8, 8))"), API("analyze(lambda x: x, (3, 8, 8))"),
        API(f"analyze({conv}, inputs={{'x': 5}})"), API(f"analyze({conv}, inputs=InputSpec((1, 3, 8, 8), torch.int64))"),
        API(f"analyze({conv}, (3, 8, 8), inputs=InputSpec((1, 3, 8, 8)))"),
        API(f"analyze({conv}, inputs=InputSpec((1, 3, 8.5, 8)))"), API(f"analyze({conv}, inputs=())"),
        API(f"analyze({conv}, (3, 8, 8), model_name='\\x1b[2J' * 100000)", ANY),
        API("analyze(torch.jit.script(nn.Sequential(nn.Conv2d(3, 8, 3))), (3, 8, 8))", ANY),
        API("analyze(torchvision.models.resnet18(), (3, 20000, 20000), device='cpu')"),
        API("analyze(torchvision.models.resnet18(), (3, 224, 224), 512, device='cpu')"),
        API("print(analyze(torchvision.models.resnet18(), (3, 20000, 20000)).totals.macs)", OK),
        API(f"analyze_training({conv}, (3, 8, 8), 0)"), API(f"analyze_training({conv}, (3, 8, 8), optimizer='nope')"),
        API(f"analyze_training({conv}, (3, 8, 8), freeze='nope')"),
        API(f"analyze_training({conv}, (3, 8, 8), freeze_stages=-1)"),
        API(f"analyze_training({conv}, (3, 8, 8), precision='int3')"),
        API(f"analyze_training({conv}, (3, 8.5, 8))"), API(f"analyze_training({lin}, (4,), 2**62)", ANY),
        API("analyze_training(torch.jit.script(nn.Sequential(nn.Conv2d(3, 8, 3))), (3, 8, 8))", ANY),
        API(f"print(analyze_training({conv}, (3, 8, 8), 2).totals.backward_macs)", OK),
        # the report writers
        API(f"to_csv(analyze({conv}, (3, 8, 8)), '{{F}}')"), API(f"to_csv(analyze({conv}, (3, 8, 8)), '{{F}}/fifo')"),
        API(f"to_csv(analyze({conv}, (3, 8, 8)), '{LONG}')"), API(f"to_json(analyze({conv}, (3, 8, 8)), '{{F}}/fifo')"),
        API(f"to_json(analyze({conv}, (3, 8, 8)), '/nonexistent-dir/x.json')"),
        API(f"to_csv(analyze({conv}, (3, 8, 8)), max_depth=-1)", ANY),
        API(f"print(to_markdown(analyze({conv}, (3, 8, 8))))", OK, has="| name |"),
        API("read_csv('{F}/binary.csv')"), API("read_csv('{F}/fifo')"), API("read_csv('/dev/zero')"),
        API("read_csv('{F}/wide_header.csv')"), API("load_results('{F}/wide_header.csv')"),
        API("load_results('{F}/fifo')"), API("load_results(b'\\xff' * 1000)"),
        API("InputSpec((1, 2**41))"), API("InputSpec(('a',))"), API("InputSpec((1, 3), 'float32')", ANY),
        # time prediction
        API(f"print(predict(analyze({conv}, (3, 8, 8)), 't4').total_ms > 0)", OK, has="True"),
        API(f"predict(analyze({conv}, (3, 8, 8)), 'nope')"), API(f"predict(analyze({conv}, (3, 8, 8)), '\\x1b[2J')"),
        API(f"predict(analyze({conv}, (3, 8, 8)), None)"), API("predict(None, 'cpu')"),
        API(f"predict(analyze({conv}, (3, 8, 8)), 'cpu', 'fp16')"),
        API(f"predict(analyze({conv}, (3, 8, 8)), 'cpu', 'int8')"),
        API(f"predict(analyze({conv}, (3, 8, 8)), 'rtx5090', batch=0)"),
        API(f"predict(analyze({conv}, (3, 8, 8)), 'rtx5090', batch=1.5)"),
        API(f"predict(analyze({conv}, (3, 8, 8)), 'rtx5090', batch=float('nan'))"),
        API(f"predict(analyze({conv}, (3, 8, 8)), 'rtx5090', batch=10**30)", ANY),
        API(f"predict_training(analyze({conv}, (3, 8, 8)), 'rtx5090')"),
        API(f"print(predict_training(analyze_training({conv}, (3, 8, 8), 2), 'cpu').total_ms > 0)", OK, has="True"),
        API("load_calibrated('{F}/fifo', datasheet('cpu'))"), API("load_calibrated('/dev/zero', datasheet('cpu'))"),
        API("load_calibrated('{F}/nested.json', datasheet('cpu'))"),
        API("load_calibrated('{F}/params_nan.json', datasheet('cpu'))"),
        API("load_calibrated('{F}/params_ok.json', datasheet('rtx5090'))"),
    ]


API_PRELUDE = """
import torch, torchvision
from torch import nn
from analyzers import analyze, InputSpec
from analyzers.training.analyze import analyze_training
from analyzers.reports.table import to_csv, to_json, to_markdown, read_csv
from analyzers.bench.schema import load_results
from analyzers.devices import datasheet
from analyzers.predict.prediction import predict, predict_training
from analyzers.predict.calibration import load_calibrated
"""


def warm_imports() -> None:
    """What the cases use, imported once before forking, so each child starts in milliseconds."""
    import pandas  # noqa: F401
    import torch  # noqa: F401
    import torchvision  # noqa: F401
    import transformers  # noqa: F401

    import explorer.catalogue  # noqa: F401
    import explorer.cli  # noqa: F401
    import explorer.zoo  # noqa: F401
    exec(API_PRELUDE, {})


def run_in_child(case: Case, folder: Path, fixture_dir: Path, address_space_bytes: int) -> None:
    """The forked child: never returns."""
    code = 1
    try:
        os.setsid()
        os.chdir(folder)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            target = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(target, fd)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))
        sys.path.insert(0, str(fixture_dir))
        results_file(fixture_dir / "results.csv")
        if case.api:
            from analyzers.errors import UserError

            namespace: dict = {}
            exec(API_PRELUDE, namespace)
            try:
                exec(case.api.replace("{F}", str(fixture_dir)), namespace)
                code = 0
            except UserError as exc:
                print(f"error: {exc}", file=sys.stderr)
                code = 2
        else:
            from explorer.cli import main

            code = main([arg.replace("{F}", str(fixture_dir)) for arg in case.argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - exactly what the interpreter would print
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def start_process(case: Case, folder: Path, fixture_dir: Path, address_space_bytes: int) -> int:
    """--processes: a fresh `python -m explorer` (CLI cases only)."""
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()
        os.chdir(folder)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fixture_dir), str(ROOT)])}
        argv = [arg.replace("{F}", str(fixture_dir)) for arg in case.argv]
        os.execve(sys.executable, [sys.executable, "-m", "explorer", *argv], env)
    finally:
        os._exit(127)


def group_rss_bytes(group: int) -> int:
    """Resident memory of every process in process group `group`."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != group:  # after the name: state, ppid, pgrp
                continue
            with open(f"/proc/{entry.name}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


@dataclass
class Outcome:
    case: Case
    outcome: str
    seconds: float
    peak_bytes: int
    exit_code: int | None
    why: str


def attack(case: Case, fixture_dir: Path, time_limit_s: float, memory_limit_bytes: int, processes: bool) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="attack-") as tmp:
        folder = Path(tmp)
        address_space = _address_space_now() + 2 * memory_limit_bytes
        started = time.monotonic()
        if processes and not case.api:
            pid = start_process(case, folder, fixture_dir, address_space)
        else:
            pid = os.fork()
            if pid == 0:
                run_in_child(case, folder, fixture_dir, address_space)
        peak, killed, status, usage = 0, None, 0, None
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            peak = max(peak, group_rss_bytes(pid))
            if peak > memory_limit_bytes:
                killed = BLOW_UP
            elif time.monotonic() - started > time_limit_s:
                killed = HANG
            if killed:
                _kill_group(pid)
                _, status, usage = os.wait4(pid, 0)
                break
            time.sleep(0.05)
        _kill_group(pid)  # workers it left behind
        seconds = time.monotonic() - started
        peak = max(peak, usage.ru_maxrss * 1024 if usage else 0)
        out = (folder / "stdout").read_text(encoding="utf-8", errors="replace")
        err = (folder / "stderr").read_text(encoding="utf-8", errors="replace")
    code = os.waitstatus_to_exitcode(status)
    outcome, why = classify(case, code, out, err, killed, peak, memory_limit_bytes)
    return Outcome(case, outcome, seconds, peak, code, why)


def classify(case: Case, code: int, out: str, err: str, killed: str | None, peak: int,
             memory_limit_bytes: int) -> tuple[str, str]:
    shown = [line.rsplit("\r", 1)[-1] for line in err.split("\n")]  # a progress bar redraws itself after \r
    if case.api:  # a warning the snippet's own call prints (torch.jit.script's), and the source line under it
        shown = [line for i, line in enumerate(shown)
                 if not WARNING.search(line) and not (i and WARNING.search(shown[i - 1]) and line.startswith(" "))]
    lines = [line for line in shown if line.strip() and not PROGRESS_BAR.search(line)]
    last = lines[-1] if lines else ""
    if killed == HANG:
        return HANG, f"still running at the time limit; stderr: {last[:100]}"
    if killed == BLOW_UP or peak > memory_limit_bytes:
        return BLOW_UP, f"peak {peak / 2**30:.1f} GiB; stderr: {last[:100]}"
    if "MemoryError" in err or "can't allocate memory" in err or "DefaultCPUAllocator" in err:
        return BLOW_UP, last[:160]
    if "Traceback (most recent call last)" in err or code < 0 or code not in (0, 1, 2):
        return TRACEBACK, f"exit {code}: {last[:160]}"
    if code == 0:
        if case.expect == ERROR:
            return WRONG, f"accepted; stdout: {out.strip().splitlines()[0][:120] if out.strip() else ''}"
        if case.stdout_has and case.stdout_has not in out:
            return WRONG, f"no {case.stdout_has!r} in stdout: {out.strip()[:120]}"
        return CLEAN, "ok"
    if code not in case.exit_codes and not (case.expect == ERROR and code == 2):
        return TRACEBACK, f"exit {code}: {last[:160]}"
    if code == 1 and not lines and "error: " in out:  # the sweep's own table holds the error row
        return CLEAN, next(line for line in out.splitlines() if "error: " in line).strip()[:160]
    errors = [line for line in lines if line.startswith("error: ")]
    others = [line for line in lines if not line.startswith("error: ")]
    if not errors or (code == 2 and len(lines) != 1):  # a sweep (exit 1) names each failure on a line of its own
        return TRACEBACK, f"not one error line ({len(lines)} lines): {(others or lines or [''])[0][:140]}"
    if case.expect == OK:
        return WRONG, f"refused: {errors[-1][:160]}"
    return CLEAN, errors[-1][:160]


def _address_space_now() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[0]) * PAGE


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the cases whose text contains this")
    parser.add_argument("--time-limit", type=float, default=150.0, help="seconds per case (default 150: the CLI's "
                        "own --timeout is 60)")
    parser.add_argument("--memory-limit-gib", type=float, default=3.5, help="peak resident memory per case")
    parser.add_argument("--processes", action="store_true", help="a fresh `python -m explorer` per CLI case")
    parser.add_argument("--list", action="store_true", help="list the cases and stop")
    args = parser.parse_args()
    cases = [case for case in [*cli_cases(), *api_cases()] if args.only in case.label]
    if args.list:
        for case in cases:
            print(f"{case.expect:5}  {case.label}")
        print(f"{len(cases)} cases")
        return 0
    if not args.processes:
        warm_imports()
    results: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="attack-fixtures-") as tmp:
        fixture_dir = Path(tmp)
        fixtures(fixture_dir)
        for number, case in enumerate(cases, 1):
            result = attack(case, fixture_dir, args.time_limit, int(args.memory_limit_gib * 2**30), args.processes)
            results.append(result)
            print(f"{number:4} {result.outcome:9} {result.seconds:6.1f}s {result.peak_bytes / 2**30:4.1f}GiB  "
                  f"{case.label}  →  {result.why.encode('unicode_escape').decode('ascii')}", flush=True)
    counts = Counter(r.outcome for r in results)
    print(f"\ntried {len(results)}: " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES))
    by_command: dict[str, Counter] = {}
    for r in results:
        by_command.setdefault(r.case.command, Counter())[r.outcome] += 1
    for command, tally in sorted(by_command.items()):
        print(f"  {command:24} " + ", ".join(f"{tally[o]} {o}" for o in OUTCOMES if tally[o]))
    bad = [r for r in results if r.outcome != CLEAN]
    if bad:
        print("\nnot clean:")
        for r in bad:
            print(f"  {r.outcome:9} {r.case.label}  →  {r.why.encode('unicode_escape').decode('ascii')}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
