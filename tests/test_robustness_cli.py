"""The command line against careless and hostile input, as a user meets it: a real process, real signals.

Every bad input gets one line on stderr and exit status 2, never a traceback, in bounded time; a Ctrl-C stops with
status 130 and one line, keeping what had finished. Slow cases are marked `slow` (`pytest -m "not slow"` skips them;
CI runs all).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
INTERRUPTED = "interrupted: stopped at Ctrl-C; rows already printed or written are kept\n"


def start(*argv: str, cwd: Path = ROOT) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "explorer", *argv], cwd=str(cwd), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# --- the table of bad inputs ------------------------------------------------------------------------------------
# Each row: the arguments ({tmp} is a folder holding the files below, on sys.path) and the one line expected on
# stderr. Every row must exit 2 with nothing on stdout, within TIME_LIMIT_S, however hostile the input.

TIME_LIMIT_S = 30  # the slowest row (a 1 s --timeout on user code) takes ~2 s on an idle 2-core machine

FILES = {
    # 256 residuals around a branch of 1,000 empty paths: 257,281 modules if it were built
    "bomb.spec": "input 1x1x1\nresidual x256\nbranch\n" + "path\n" * 1000 + "concat\nconv 1 1x1\nadd\n",
    "ansi.spec": "name \x1b[2J\x1b[31mRed\ninput 8x8x1\nconv 2 3x3\n",
    "nul.spec": "input 8x8x1\nconv 2 3x3 \x00\n",
    "shifted.spec": "input 8x8x1\nconv 2 3x3 # ends here only at the newline\x0cconv 2 9x9\nconv 2 7x7\n",
    "robust_user_code.py": (
        "import sys\nfrom torch import nn\n\n"
        "class Forever(nn.Module):\n    def forward(self, x):\n        while True:\n            x = x + 0\n\n"
        "def interrupts():\n    raise KeyboardInterrupt\n\n"
        "def exits():\n    sys.exit(0)\n\n"
        "class ExitsInForward(nn.Module):\n    def forward(self, x):\n        raise SystemExit(7)\n\n"
        "def loops_while_building():\n    while True:\n        pass\n\n"
        "def generator_exit():\n    raise GeneratorExit\n\n"
        "class GeneratorExitInForward(nn.Module):\n    def forward(self, x):\n        raise GeneratorExit\n"
    ),
    "tiny_bert.json": '{"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, '
                      '"intermediate_size": 64, "vocab_size": 100}',
    "architectures_5.json": '{"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 32, '
                            '"num_attention_heads": 2, "intermediate_size": 64, "architectures": [5]}',
    "deep_bert.json": '{"model_type": "bert", "num_hidden_layers": 200000}',
    "negative_layers.json": '{"model_type": "bert", "num_hidden_layers": -1}',
    "wide_header.csv": ",".join(f"c{i}" for i in range(700_000)) + "\n1\n",  # 5 MB: the header alone says no
}
LONG_NAME = "a" * 300 + ".csv"  # over the 255 bytes a file name may have


def _results_csv(*changes: dict) -> str:
    """A bench results CSV with one batch-1 CPU row per `changes` (cells replaced in tests.bench_rows' row)."""
    from tests.bench_rows import bench_row

    rows = [{**bench_row("resnet18", 1, 25.0), **change} for change in changes]
    return "\n".join([",".join(rows[0]), *(",".join("" if v is None else str(v) for v in r.values()) for r in rows)]) \
        + "\n"


_EFFICIENCY = ("dense_conv", "grouped_conv", "depthwise_conv", "gemm", "batched_matmul", "attention", "elementwise",
               "copy")


def _parameters_json(overhead_us: str) -> str:
    """A calibrated parameters file for the cpu as `predict --calibrate` writes it, with `overhead_us` as given."""
    efficiency = ", ".join(f'"{kind}": 0.5' for kind in _EFFICIENCY)
    return ('{"version": 1, "device": "cpu", "parameters": {"efficiency": {' + efficiency + '}, "memory_efficiency": '
            '0.5, "overhead_us": ' + overhead_us + ', "exposed": 0.5, "cache_factor": 1.0}, "software": '
            '{"fused_attention": false, "foreach_optimizer": false, "autocast": false}, "fitted_on": "test", '
            '"interval": {"low": 0.8, "high": 1.2, "median_abs_error": 0.1, "within_10": 0.5, "within_25": 0.9, '
            '"samples": 4, "basis": "test"}}')


FILES.update({
    # resnet18 at 3x100000x100000 is 2 × 1.8 GMACs × (100000 / 224)² ≈ 7e14 FLOPs: not in 1 ms on any CPU
    "huge_input_results.csv": _results_csv({"input_size": "3x100000x100000", "latency_ms_p50": 1.0}),
    "negative_latency.csv": _results_csv({"latency_ms_p50": -1.0}),
    "nan_params.json": _parameters_json("NaN"),
})

BAD_INPUTS = [
    # the spec language
    (["summary", "--spec", "{tmp}/bomb.spec"], "error: line 3: the model grows past 2,000 modules, the limit for a "
     "spec"),
    (["summary", "--spec", "{tmp}/ansi.spec"], "error: line 1, column 6: the name may not contain control characters, "
     "got U+001B"),
    (["report", "--spec", "{tmp}/nul.spec"], "error: {tmp}/nul.spec holds binary data (a NUL byte); it is not a spec "
     "file"),
    (["summary", "--spec", "{tmp}/shifted.spec"], "error: line 3: 7×7 kernel larger than the 6×6 input"),
    (["summary", "--spec", "/bin/ls"], "error: /bin/ls holds binary data (a NUL byte); it is not a spec file"),
    (["summary", "--spec", "{tmp}"], "error: {tmp} is a directory; give the path of a spec file"),
    (["summary", "--spec", "{tmp}/missing.spec"], "error: cannot read {tmp}/missing.spec: No such file or directory"),
    (["summary", "--spec", "{tmp}/fifo"], "error: {tmp}/fifo is not a regular file; give the path of a spec file"),
    (["summary", "--spec", "{tmp}/" + LONG_NAME], "error: cannot read {tmp}/" + LONG_NAME + ": File name too long"),
    (["summary", "--spec", "{tmp}/bomb.spec", "--set", "phi=1"], "error: --set applies to zoo models only; a spec "
     "file states its own sizes"),
    # builder options
    (["summary", "efficientnet", "--set", "phi=100"], "error: efficientnet: phi must be a number from 0 to 7, got "
     "'100'"),
    (["summary", "efficientnet", "--set", "phi=1e308"], "error: efficientnet: phi must be a number from 0 to 7, got "
     "'1e308'"),
    (["summary", "mobilenet_v1", "--set", "width_mult=inf"], "error: mobilenet_v1: width_mult must be a number from "
     "0.05 to 4, got 'inf'"),
    (["summary", "mobilenet_v1", "--set", "width_mult=1e308"], "error: mobilenet_v1: width_mult must be a number "
     "from 0.05 to 4, got '1e308'"),
    (["summary", "mobilenet_v1", "--set", "width_mult=true"], "error: mobilenet_v1: width_mult must be a number from "
     "0.05 to 4, got 'true'"),
    (["summary", "vgg16", "--set", "resolution=abc"], "error: vgg16: resolution must be a whole number from 1 to "
     "2,048, got 'abc'"),
    (["summary", "vgg16", "--set", "resolution=nan"], "error: vgg16: resolution must be a whole number from 1 to "
     "2,048, got 'nan'"),
    (["summary", "vgg16", "--set", "resolution=1.5"], "error: vgg16: resolution must be a whole number from 1 to "
     "2,048, got '1.5'"),
    (["summary", "vgg16", "--set", "num_classes=99999999999999999999999"], "error: vgg16: num_classes must be a whole "
     "number from 1 to 100,000, got '99999999999999999999999'"),
    (["summary", "googlenet", "--set", "aux_logits=maybe"], "error: googlenet: aux_logits must be true or false, got "
     "'maybe'"),
    (["summary", "lenet5", "--set", "\x1b[31m=1"], "error: lenet5 does not take option(s) '\\x1b[31m'; allowed: "
     "num_classes, resolution"),
    (["summary", "lenet5", "--set", "num_classes=1", "--set", "num_classes=2"], "error: --set num_classes is given "
     "twice"),
    # empty values
    (["summary", "lenet5", "--input", ""], "error: --input needs a value, got an empty string"),
    (["report", "lenet5", "--csv", ""], "error: --csv needs a value, got an empty string"),
    (["summary", "lenet5", "--roofline", ""], "error: --roofline needs a value, got an empty string"),
    # sizes and numbers
    (["summary", "lenet5", "--input", "9" * 50], "error: --input '" + "9" * 37 + "'…: expected CxHxW (1 to 4 sizes) "
     "with positive integers, e.g. 3x224x224"),
    (["summary", "lenet5", "--batch", "1" + "0" * 30], "error: input of 1,024,000,000,000,000,000,000,000,000,000,000 "
     "elements is too large; at most 1,099,511,627,776"),
    (["summary", "lenet5", "--timeout", "-1"], "error: argument --timeout: expected seconds from 0 (no limit) to "
     "86400, got '-1'"),
    (["report", "lenet5", "--csv", "/dev/full"], "error: cannot write /dev/full: No space left on device"),
    (["report", "lenet5", "--json", "{tmp}/fifo"], "error: cannot write {tmp}/fifo: it is a FIFO no process is reading"),
    (["bench", "lenet5", "--input", "3x0x6"], "error: --input '3x0x6': expected CxHxW with positive integers, e.g. "
     "3x224x224; got a 0"),
    # user code
    (["summary", "robust_user_code:Forever", "--input", "4", "--timeout", "1"], "error: robust_user_code:Forever: "
     "stopped after 1 s (--timeout); its import, build or forward did not finish"),
    (["summary", "robust_user_code:loops_while_building", "--input", "4", "--timeout", "1"],
     "error: robust_user_code:loops_while_building: stopped after 1 s (--timeout); its import, build or forward did "
     "not finish"),
    (["summary", "robust_user_code:interrupts", "--input", "4"], "error: calling 'robust_user_code:interrupts()' "
     "failed: KeyboardInterrupt"),
    (["summary", "robust_user_code:exits", "--input", "4"], "error: calling 'robust_user_code:exits()' failed: it "
     "called sys.exit(0)"),
    (["report", "robust_user_code:ExitsInForward", "--input", "4"], "error: the model's code called sys.exit(7); a "
     "model must not end the program"),
    (["summary", "robust_user_code:generator_exit", "--input", "4"], "error: the model's code raised GeneratorExit"),
    (["report", "robust_user_code:GeneratorExitInForward", "--input", "4"], "error: the model's code raised "
     "GeneratorExit"),
    # files named on the command line
    (["report", "lenet5", "--csv", "{tmp}/" + LONG_NAME], "error: cannot write {tmp}/" + LONG_NAME + ": File name too "
     "long"),
    (["report", "lenet5", "--json", LONG_NAME], "error: cannot write " + LONG_NAME + ": File name too long"),
    (["ensemble", "lenet5", "--results", "{tmp}/nope.csv"], "error: cannot read {tmp}/nope.csv: No such file or "
     "directory"),
    (["ensemble", "lenet5", "--results", "{tmp}"], "error: {tmp} is a directory; give the path of a bench results CSV"),
    (["ensemble", "lenet5", "--results", "{tmp}/fifo"], "error: {tmp}/fifo is not a regular file; give the path of a "
     "bench results CSV"),
    (["ensemble", "lenet5", "--results", "/dev/zero"], "error: /dev/zero is not a regular file; give the path of a "
     "bench results CSV"),
    (["summary", "hf:{tmp}/fifo"], "error: {tmp}/fifo is not a regular file; give the path of a transformers "
     "config.json"),
    (["summary", "hf:/dev/zero"], "error: /dev/zero is not a regular file; give the path of a transformers config.json"),
    (["summary", "hf:" + LONG_NAME], "error: hf:" + LONG_NAME + ": File name too long"),
    (["summary", "resnet18", "--spec", "{tmp}/ansi.spec"], "error: give a model name or --spec FILE, not both (got "
     "'resnet18' and --spec '{tmp}/ansi.spec')"),
    # the program and every command's options (bench/attack.py tries many more, with time and memory limits)
    (["frobnicate"], "error: argument COMMAND: invalid choice: 'frobnicate' (choose from 'list', 'summary', 'report', "),
    (["summary", "lenet5", "--nope"], "error: unrecognized arguments: --nope (see `python -m explorer --help`)"),
    (["list", "--family", "\x1b[2J"], "error: unknown family '\\x1b[2J'; allowed: lenet, alexnet, zfnet, vgg, resnet, "),
    (["list", "extra"], "error: unrecognized arguments: extra (see `python -m explorer --help`)"),
    (["summary", "\x1b[2Jnope"], "error: unknown model '\\x1b[2Jnope'; run `python -m explorer list` to see all names"),
    (["summary", "a:b:c"], "error: 'a:b:c' is not a model reference; expected 'package.module:factory', "
     "'torchvision:NAME' or 'timm:NAME'"),
    (["summary", "builtins:dict"], "error: 'builtins:dict()' returned a dict, not a torch.nn.Module"),
    (["summary", "lenet5", "--family", "inception"], "error: --family chooses the models of --all; give --all, or leave "
     "--family out"),
    (["summary", "--all", "--family", "nope"], "error: unknown family 'nope'; allowed: "),
    (["summary", "lenet5", "--dtype", "int8"], "error: argument --dtype: invalid choice: 'int8' (choose from 'fp32', "
     "'tf32', 'bf16', 'fp16') (see `python -m explorer summary --help`)"),
    (["summary", "lenet5", "--device", "cuda"], "error: argument --device: invalid choice: 'cuda' (choose from 'meta', "
     "'cpu') (see `python -m explorer summary --help`)"),
    (["summary", "lenet5", "--build-device", "cuda"], "error: argument --build-device: invalid choice: 'cuda' (choose "
     "from 'meta', 'cpu') (see `python -m explorer summary --help`)"),
    (["summary", "lenet5", "--roofline", "\x1b[2J"], "error: --roofline '\\x1b[2J': no spec-sheet peak for that "
     "device; known: H200 SXM"),
    (["summary", "lenet5", "--timeout", "inf"], "error: argument --timeout: expected seconds from 0 (no limit) to "
     "86400, got 'inf'"),
    (["summary", "lenet5", "--crosscheck", "nope"], "error: argument --crosscheck: invalid choice: 'nope' (choose from "
     "'fvcore')"),
    (["summary", "lenet5", "--optimizer", "adam"], "error: --optimizer needs --train"),
    (["summary", "lenet5", "--train", "--freeze", "\x1b[2J"], "error: no module named '\\x1b[2J' to freeze up to; "
     "stages of this model: conv1, conv2, fc1, fc2"),
    (["summary", "lenet5", "--train", "--freeze-stages", "1000000"], "error: --freeze-stages must be 0 to 4 for this "
     "model, got 1000000"),
    (["summary", "lenet5", "--train", "--device", "cpu"], "error: --train counts on the meta device; leave out --device"),
    (["report", "lenet5", "--depth", "-1"], "error: argument --depth: expected an integer ≥ 0, got -1 (see `python -m "
     "explorer report --help`)"),
    (["report"], "error: report needs a model name or --spec FILE (see `python -m explorer list`)"),
    (["atlas", "hf", "--jsonl", "{tmp}/a.jsonl"], "error: atlas hf needs --configs DIR: a folder with config.json "
     "files under it"),
    (["atlas", "nope", "--jsonl", "{tmp}/a.jsonl"], "error: argument catalogue: invalid choice: 'nope' (choose from "
     "'torchvision', 'timm', 'hf') (see `python -m explorer atlas --help`)"),
    (["atlas", "torchvision"], "error: the following arguments are required: --jsonl (see `python -m explorer atlas "
     "--help`)"),
    (["atlas", "torchvision", "--jsonl", "{tmp}/a.jsonl", "--workers", "0"], "error: argument --workers: expected a "
     "positive integer, got 0"),
    (["atlas", "torchvision", "--jsonl", "{tmp}/a.jsonl", "--timeout", "1e300"], "error: --timeout must be a number of "
     "seconds above 0 and at most 86,400, got 1e+300"),
    (["atlas", "torchvision", "--jsonl", "{tmp}/fifo"], "error: {tmp}/fifo is not a regular file; give the path of an "
     "atlas JSON-lines file"),
    (["atlas", "hf", "--configs", "{tmp}/" + LONG_NAME, "--jsonl", "{tmp}/a.jsonl"], "error: --configs {tmp}/"
     + LONG_NAME + ": File name too long"),
    (["atlas", "hf", "--configs", "{tmp}/fifo", "--jsonl", "{tmp}/a.jsonl"], "error: --configs {tmp}/fifo: not a "
     "folder; give a folder with config.json files under it"),
    (["atlas", "torchvision", "--jsonl", "{tmp}/a.jsonl", "--executor", "ray", "--ray-address", "\x1b[2J"],
     "error: Ray address '\\x1b[2J' (--ray-address or RAY_ADDRESS): expected HOST:PORT of the cluster's head node"),
    (["bench", "lenet5", "--device", "cpu", "--gpu-kinds", "H100"], "error: --gpu-kinds needs --executor ray"),
    (["bench", "nope", "--device", "cpu"], "error: unknown model 'nope'; run `python -m explorer list` to see all names"),
    (["bench", "lenet5", "--batch", "1,,2", "--device", "cpu"], "error: --batch '1,,2': expected positive integers "
     "up to 9,223,372,036,854,775,807 separated by commas, e.g. 1,32,256"),
    (["bench", "lenet5", "--iters", "0", "--device", "cpu"], "error: --iters '0': expected an integer from 1 to "
     "9,223,372,036,854,775,807"),
    # 3 · 20,000² · 4 B = 4.8e9 B = 4.5 GiB; 4,096 · 3 · 224² · 4 B = 2.3 GiB, and 2^31 / 602,112 B = 3,566.6 images
    (["bench", "lenet5", "--input", "3x20000x20000", "--device", "cpu"], "error: --batch 1 of --input 3x20000x20000 "
     "on the CPU: the input tensor alone needs about 4.5 GiB of memory, over the 2 GiB budget for CPU work; use a "
     "smaller --input"),
    (["bench", "vgg16", "--batch", "4096", "--device", "cpu"], "error: --batch 4096 of --input 3x224x224 on the CPU: "
     "the input tensor alone needs about 2.3 GiB of memory, over the 2 GiB budget for CPU work; at most --batch 3566 "
     "fits"),
    (["bench", "lenet5", "--device", "\x1b[2J"], "error: --device '\\x1b[2J': expected cuda or cpu"),
    (["bench", "lenet5", "--dtype", "int4", "--device", "cpu"], "error: --dtype 'int4': expected one of fp32 | tf32 | "
     "bf16 | fp16"),
    (["bench", "lenet5", "--csv", "{tmp}/fifo", "--device", "cpu"], "error: {tmp}/fifo is not a regular file; give the "
     "path of a bench results CSV"),
    (["bench", "lenet5", "--train", "--optimizer", "nope", "--device", "cpu"], "error: argument --optimizer: invalid "
     "choice: 'nope'"),
    (["gradients", "nope"], "error: unknown model 'nope'; run `python -m explorer list` to see all names"),
    (["gradients", "lenet5", "--batch", "0"], "error: batch size must be 2 to 64 (batch norm in training mode needs at "
     "least 2), got 0"),
    (["gradients", "lenet5", "--seed", "9" * 40], "error: seed must be a whole number from 0 to 2^63 − 1, got " + "9" * 40),
    (["gradients", "lenet5", "--init", "nope"], "error: argument --init: invalid choice: 'nope' (choose from 'he', "
     "'pytorch')"),
    (["ensemble", ""], "error: the model name needs a value, got an empty string"),
    (["ensemble", "lenet5,,lenet5"], "error: ensemble members are comma-separated names, optionally NAME*K (e.g. "
     "resnet50*3,vgg16); cannot read ''"),
    (["ensemble", "lenet5*0"], "error: lenet5*0: K must be at least 1"),
    (["ensemble", ",".join(["lenet5"] * 65)], "error: an ensemble of at most 64 models, got 65"),
    (["ensemble", "lenet5", "--crops", "1e9"], "error: --crops must be a whole number from 1 to 1000, or 10crop / "
     "googlenet (144); got '1e9'"),
    (["ensemble", "lenet5", "--dtype", "int8"], "error: argument --dtype: invalid choice: 'int8'"),
    (["ensemble", "lenet5", "--results", "{tmp}/wide_header.csv"], "error: the header has 700,000 columns; a results "
     "CSV has "),
    # predict: the device, the precision, numbers, results files for --calibrate, calibrated --parameters files
    (["predict", "lenet5", "--device", "nope"], "error: --device 'nope': not in the device table; choose one of "
     "h200, "),
    (["predict", "lenet5", "--device", "rtx5090\n"], "error: --device 'rtx5090\\n': not in the device table"),
    (["summary", "lenet5", "--predict", "\x1b[2J"], "error: --predict '\\x1b[2J': not in the device table"),
    (["predict", "lenet5", "--device", "t4", "--dtype", "bf16"], "error: --dtype bf16: the t4's datasheet has no "
     "peak for it; it has fp32, fp16"),
    (["predict", "lenet5", "--batch", "\u0663"], "error: argument --batch: expected a positive integer, got "
     "'\u0663'"),
    (["predict", "lenet5", "--optimizer", "adam"], "error: --optimizer needs --train"),
    (["summary", "lenet5", "--predict", "cpu", "--train"], "error: --predict adds a forward's predicted time; for a "
     "training step's use `python -m explorer predict NAME --train --device DEVICE`"),
    (["predict", "lenet5", "--json", "/dev/full"], "error: cannot write /dev/full: No space left on device"),
    (["predict", "--calibrate", "{tmp}/fifo"], "error: --calibrate: {tmp}/fifo is not a regular file; give the path "
     "of a bench results CSV"),
    (["predict", "--calibrate", "{tmp}"], "error: --calibrate: {tmp} is a directory; give the path of a bench "
     "results CSV"),
    (["predict", "--calibrate", "{tmp}/" + LONG_NAME], "error: --calibrate: cannot read {tmp}/" + LONG_NAME + ": "
     "File name too long"),
    (["predict", "--calibrate", "{tmp}/negative_latency.csv", "--device", "cpu"], "error: --calibrate "
     "{tmp}/negative_latency.csv: column 'latency_ms_p50', line 2: -1.0 is not above zero"),
    (["predict", "--calibrate", "{tmp}/huge_input_results.csv", "--device", "cpu"], "error: "
     "{tmp}/huge_input_results.csv, line 2 (resnet18 at 3x100000x100000): 1 ms for batch 1 is faster than the cpu's "
     "peak allows ("),
    (["predict", "lenet5", "--device", "cpu", "--parameters", "/dev/zero"], "error: --parameters: /dev/zero is not a "
     "regular file; give the path of a calibrated parameters file"),
    (["predict", "lenet5", "--device", "cpu", "--parameters", "{tmp}/fifo"], "error: --parameters: {tmp}/fifo is not "
     "a regular file; give the path of a calibrated parameters file"),
    (["predict", "lenet5", "--device", "cpu", "--parameters", "{tmp}/nan_params.json"], "error: --parameters "
     "{tmp}/nan_params.json: not a calibrated parameters file (ValueError: every parameter must be a finite number)"),
    # Hugging Face configs
    (["summary", "hf:{tmp}/negative_layers.json"], "error: hf:{tmp}/negative_layers.json: num_hidden_layers must be a "
     "count of 0 or more, got -1"),
    (["summary", "hf:{tmp}/tiny_bert.json", "--crosscheck", "fvcore"], "error: --crosscheck fvcore runs models that "
     "take one image (--input CxHxW, the batch from --batch); hf:{tmp}/tiny_bert.json takes input_ids"),
    (["summary", "hf:{tmp}/architectures_5.json"], "error: hf:{tmp}/architectures_5.json: 'architectures' must be a "
     "list of class names such as [\"BertModel\"], got '[5]'"),
    # a BertLayer is 18 modules (the layer, attention, self-attention with query, key, value and dropout, its output
    # with dense, LayerNorm and dropout, intermediate with dense and activation, output with dense, LayerNorm and
    # dropout) and the rest 30: 18 · 199,999 + 30 = 3,600,012; the budget holds 2^31 / 6,600 B = 325,376 modules,
    # so at most (325,376 − 30) / 18 + 1 = 18,075 layers
    (["summary", "hf:{tmp}/deep_bert.json"], "error: hf:{tmp}/deep_bert.json: building num_hidden_layers 200,000 "
     "(about 3,600,012 modules) needs about 22.1 GiB of memory, over the 2 GiB budget for CPU work; at most "
     "num_hidden_layers 18,075 fits"),
    # real runs on the CPU, estimated on meta first. resnet18: 11,689,512 params (torchvision) = 46,758,048 B; per
    # image 20,678,560 B of activations (its batch-1 total) + 602,112 B of input = 21,280,672 B. At batch 256:
    # 46,758,048 + 256 · 21,280,672 = 5,494,610,080 B = 5.1 GiB; at most (2^31 − 46,758,048) / 21,280,672 = 98.7
    (["summary", "resnet18", "--device", "cpu", "--batch", "256"], "error: resnet18 on the CPU at batch 256, input "
     "3x224x224, needs about 5.1 GiB of memory, over the 2 GiB budget for CPU work; at most --batch 98 fits"),
    (["summary", "resnet18", "--crosscheck", "fvcore", "--batch", "256"], "error: the fvcore cross-check of resnet18 "
     "at batch 256, input 3x224x224, needs about 5.1 GiB of memory, over the 2 GiB budget for CPU work; at most "
     "--batch 98 fits"),
    (["report", "resnet18", "--device", "cpu", "--input", "3x20000x20000"], "error: resnet18 on the CPU at batch 1, "
     "input 3x20000x20000, needs about 158.0 GiB of memory, over the 2 GiB budget for CPU work; at batch 1 at most "
     "--input 3x2221x2221 fits"),
    # a detection model's forward cannot run on meta: its weights (19,386,354 params, torchvision) and inputs bound
    # it from below: (2^31 − 77,545,416) / (3 · 320 · 320 · 4) = 1,684.5 images
    (["summary", "torchvision:fasterrcnn_mobilenet_v3_large_320_fpn", "--device", "cpu", "--batch", "5000"],
     "error: torchvision:fasterrcnn_mobilenet_v3_large_320_fpn on the CPU at batch 5000, for its weights and inputs "
     "alone, needs about 5.8 GiB of memory, over the 2 GiB budget for CPU work; at most --batch 1684 fits"),
]


@pytest.fixture
def hostile_files(tmp_path, monkeypatch):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    os.mkfifo(tmp_path / "fifo")  # read, it would wait for a writer forever
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _filled(argv: list[str], tmp: Path) -> list[str]:
    return [arg.replace("{tmp}", str(tmp)) for arg in argv]


@pytest.mark.parametrize(("argv", "line"), BAD_INPUTS, ids=[" ".join(argv)[:60] for argv, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2_and_quick(capsys, hostile_files, argv, line):
    from explorer.cli import main

    started = time.monotonic()
    code = main(_filled(argv, hostile_files))
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(line.replace("{tmp}", str(hostile_files))), err
    assert "Traceback" not in err and "\x1b" not in err
    assert elapsed < TIME_LIMIT_S


# The same through the real entry point, for the rows where the process itself matters: a signal handler, a C++
# error, or an interpreter that user code could end.
_IN_A_PROCESS = ("{tmp}/bomb.spec", "/bin/ls", "{tmp}/ansi.spec", "phi=100", "num_classes=99999999999999999999999",
                 "robust_user_code:Forever", "robust_user_code:interrupts", "robust_user_code:exits",
                 "robust_user_code:ExitsInForward")
PROCESS_ROWS = [row for row in BAD_INPUTS if any(arg in _IN_A_PROCESS for arg in row[0])]


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "line"), PROCESS_ROWS, ids=[" ".join(argv)[:60] for argv, _ in PROCESS_ROWS])
def test_bad_input_through_python_m_explorer(hostile_files, argv, line):
    env = {**os.environ, "PYTHONPATH": f"{hostile_files}{os.pathsep}{ROOT}"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "explorer", *_filled(argv, hostile_files)], cwd=str(ROOT), env=env,
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(line.replace("{tmp}", str(hostile_files)))
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < TIME_LIMIT_S + 30  # plus the interpreter's and torch's start


# --- Ctrl-C ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_during_summary_all_exits_130_in_one_line_keeping_the_lines_printed():
    process = start("summary", "--all")
    first = process.stdout.readline()  # a model has finished: interrupt the sweep in the middle
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err == INTERRUPTED
    lines = [first, *rest.splitlines(keepends=True)]
    assert all(line.endswith("\n") and json.loads(line)["macs"] >= 0 for line in lines)  # whole lines only
    assert json.loads(first)["name"] == "inception_5x5_naive"


@pytest.mark.slow
def test_ctrl_c_during_bench_exits_130_in_one_line_keeping_the_rows_written(tmp_path):
    csv_path = tmp_path / "bench.csv"
    batches = ",".join(str(b) for b in range(1, 41))  # after the first row, a fraction of a second each
    process = start("bench", "lenet5", "--batch", batches, "--iters", "200", "--device", "cpu", "--csv", str(csv_path))
    deadline = time.monotonic() + 600  # the first row takes ~20 s on an idle machine, minutes on a crowded one
    while time.monotonic() < deadline and process.poll() is None:
        if csv_path.exists() and len(csv_path.read_text().splitlines()) >= 2:  # header + the first finished row
            break
        time.sleep(0.2)
    assert process.poll() is None, "the sweep ended (or never wrote a row) before it could be interrupted"
    assert time.monotonic() < deadline, "no row was written in 600 s"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.endswith(INTERRUPTED) and "Traceback" not in err  # before it: only tqdm's progress bar
    rows = csv_path.read_text().splitlines()[1:]
    assert 1 <= len(rows) < 40 and all(row.startswith("lenet5,") and ",ok," in row for row in rows)
