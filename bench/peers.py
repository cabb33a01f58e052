"""Side by side with the peers (issue 16): our analyzer vs nine other ways to count a model's MACs, same models.

Usage: python bench/peers.py [--models resnet50,vgg16] [--tools ours,ptflops_aten] [--repeats 5] [--threads N]
                             [--rounds K] [--out peers.json]

Each (model, tool) runs in a fresh process: build the model (not timed), call the tool once (the warm-up, reported
as cold: it pays the tool's lazy imports), then `--repeats` more times; the warm time is their median. Ours and
FlopCounterMode (meta) get the model built on the meta device; the other peers compute for real, so they get it
built on the CPU with random weights (torchvision `weights=None`, timm `pretrained=False`, seed 0). Each peer is
called as its README shows, with its defaults, the model in eval mode and nothing wrapped around the call (no
`torch.no_grad()` added: torchinfo adds one itself). Every tool's count is printed with the convention the tool
uses and normalised to MACs (multiply-accumulates); a tool that fails on a model is recorded with its one-line
error. Prints Markdown tables (peer warm time ÷ ours, counts) and writes the raw figures to `--out` (.json or .csv),
rewritten after every pair so that a stopped run keeps what it measured; `--tables-from A.json B.json` prints the
tables again from such files (merged: a later file's pair replaces an earlier one's).
`--threads` sets torch's intra-op threads in every child (default: torch's own, one per core). On a loaded machine
use 1: OpenMP threads that spin on a busy core slow the real-compute peers several-fold (ResNet-50's CPU forward
took 1.8-2.4 s with 2 threads and 0.4 s with 1 at a load average of 11 on 2 cores), which would flatter ours.
`--rounds K` measures every pair in K fresh processes, the rounds one after the other over all pairs, and keeps
each pair's fastest process (by CPU time), the same rule for every tool: on a shared VM one process in a few runs
at half speed throughout (ours and the peers alike; seen as a 2× spread between identical processes).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import datetime
import enum
import importlib.metadata
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parent process never imports torch: only the children measure
    from torch import nn

ROOT = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "PEERS-RESULT "  # the child's one result line, told apart from whatever a peer prints
DEFAULT_TIMEOUT_S = 900


class Convention(enum.Enum):
    """What a tool's number counts; `per_mac` of its units make one multiply-accumulate."""

    MACS = ("MACs", 1)
    FLOPS_AS_MACS = ("'flops' that are MACs (one per multiply-add)", 1)
    FLOPS = ("FLOPs = 2 × MACs", 2)

    def __init__(self, text: str, per_mac: int) -> None:
        self.text = text
        self.per_mac = per_mac


@dataclass(frozen=True)
class Model:
    key: str
    label: str
    source: str  # "torchvision" or "timm"
    name: str
    resolution: int

    @property
    def input_size(self) -> tuple[int, int, int]:
        return (3, self.resolution, self.resolution)


MODELS: dict[str, Model] = {m.key: m for m in (
    Model("resnet50", "resnet50", "torchvision", "resnet50", 224),
    Model("vgg16", "vgg16", "torchvision", "vgg16", 224),
    Model("mobilenet_v2", "mobilenet_v2", "torchvision", "mobilenet_v2", 224),
    Model("efficientnet_b0", "efficientnet_b0", "torchvision", "efficientnet_b0", 224),
    Model("googlenet", "googlenet", "torchvision", "googlenet", 224),
    Model("inception_v3", "inception_v3", "torchvision", "inception_v3", 299),
    Model("convnext_tiny", "convnext_tiny", "torchvision", "convnext_tiny", 224),
    Model("vit_b_16", "vit_b_16", "torchvision", "vit_b_16", 224),
    Model("swin_t", "swin_t", "torchvision", "swin_t", 224),
    Model("regnet_y_400mf", "regnet_y_400mf", "torchvision", "regnet_y_400mf", 224),
    Model("maxvit_t", "maxvit_t", "torchvision", "maxvit_t", 224),
    Model("timm_vit_small", "timm vit_small_patch16_224", "timm", "vit_small_patch16_224", 224),
)}

# A counter: given the built model and the batch-1 input shape, do the untimed set-up and return the call to time,
# which returns the tool's own number (in the tool's convention).
Counter = Callable[["nn.Module", tuple[int, ...]], Callable[[], float]]


@dataclass(frozen=True)
class Tool:
    key: str
    label: str
    device: str  # where the model is built: "meta" or "cpu"
    convention: Convention
    distribution: str  # the installed package whose version is recorded
    counter_name: str  # a function of this module: looked up in the child only, where torch is imported


TOOLS: dict[str, Tool] = {t.key: t for t in (
    Tool("ours", "ours", "meta", Convention.MACS, "torch", "_ours"),
    Tool("fvcore", "fvcore", "cpu", Convention.FLOPS_AS_MACS, "fvcore", "_fvcore"),
    Tool("flopcounter_meta", "FlopCounterMode (meta)", "meta", Convention.FLOPS, "torch", "_flop_counter_mode"),
    Tool("flopcounter_cpu", "FlopCounterMode (CPU)", "cpu", Convention.FLOPS, "torch", "_flop_counter_mode"),
    Tool("ptflops_pytorch", "ptflops (pytorch)", "cpu", Convention.MACS, "ptflops", "_ptflops_pytorch"),
    Tool("ptflops_aten", "ptflops (aten)", "cpu", Convention.MACS, "ptflops", "_ptflops_aten"),
    Tool("thop", "thop", "cpu", Convention.MACS, "thop", "_thop"),
    Tool("torchinfo", "torchinfo", "cpu", Convention.MACS, "torchinfo", "_torchinfo"),
    Tool("calflops", "calflops", "cpu", Convention.MACS, "calflops", "_calflops"),
    Tool("torchprofile", "torchprofile", "cpu", Convention.MACS, "torchprofile", "_torchprofile"),
)}


class PeerFailed(Exception):
    """A peer that reports failure by returning nothing (ptflops prints the exception and returns None)."""


# --- the counters (run in the child process) ----------------------------------------------------------------------

def _ours(model: nn.Module, shape: tuple[int, ...]) -> Callable[[], float]:
    from analyzers import analyze
    return lambda: analyze(model, shape[1:], shape[0]).totals.macs


def _fvcore(model: nn.Module, shape: tuple[int, ...]) -> Callable[[], float]:
    import torch
    from fvcore.nn import FlopCountAnalysis
    x = torch.randn(shape)

    def count() -> float:
        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        return analysis.total()
    return count


def _flop_counter_mode(model: nn.Module, shape: tuple[int, ...]) -> Callable[[], float]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    device = next(model.parameters()).device
    x = torch.empty(shape, device=device) if device.type == "meta" else torch.randn(shape)

    def count() -> float:
        with FlopCounterMode(display=False) as mode:
            model(x)
        return mode.get_total_flops()
    return count


def _ptflops(backend: str) -> Counter:
    def counter(model: nn.Module, shape: tuple[int, ...]) -> Callable[[], float]:
        from ptflops import get_model_complexity_info

        def count() -> float:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                macs, _ = get_model_complexity_info(model, tuple(shape[1:]), print_per_layer_stat=False,
                                                    as_strings=False, backend=backend, ost=printed)
            if macs is None:  # ptflops caught an exception, printed it and returned None
                lines = printed.getvalue().splitlines()
                said = next((after for line, after in zip(lines, lines[1:]) if "following exception" in line),
                            "ptflops returned no count")
                raise PeerFailed(said)
            return macs
        return count
    return counter


_ptflops_pytorch = _ptflops("pytorch")
_ptflops_aten = _ptflops("aten")


def _thop(model: nn.Module, shape: tuple[int, ...]) -> Callable[[], float]:
    import torch
    from thop import profile
    x = torch.randn(shape)
    return lambda: profile(model, inputs=(x,), verbose=False)[0]


def _torchinfo(model: nn.Module, shape: tuple[int, ...]) -> Callable[[], float]:
    from torchinfo import summary
    return lambda: summary(model, input_size=shape, verbose=0, device="cpu").total_mult_adds


def _calflops(model: nn.Module, shape: tuple[int, ...]) -> Callable[[], float]:
    from calflops import calculate_flops

    def count() -> float:
        _, macs, _ = calculate_flops(model, input_shape=shape, print_results=False, print_detailed=False,
                                     output_as_string=False)
        return macs
    return count


def _torchprofile(model: nn.Module, shape: tuple[int, ...]) -> Callable[[], float]:
    import torch
    from torchprofile import profile_macs
    x = torch.randn(shape)
    return lambda: profile_macs(model, x)


# --- the child: one (model, tool) pair -------------------------------------------------------------------------------

def build(model: Model, device: str) -> nn.Module:
    """The model without pretrained weights, built on `device`, in eval mode.

    A constructor that computes with tensors (RegNet's block widths: `torch.arange(...).tolist()`) cannot run on
    meta; that model is built on the CPU and moved to meta (building is never timed).
    """
    import torch
    torch.manual_seed(0)

    def construct() -> nn.Module:
        if model.source == "timm":
            import timm
            return timm.create_model(model.name, pretrained=False)
        import torchvision
        return torchvision.models.get_model(model.name, weights=None)
    try:
        with torch.device(device):
            module = construct()
    except NotImplementedError:
        if device != "meta":
            raise
        module = construct().to("meta")
    return module.eval()


@dataclass
class Measurement:
    """One tool on one model: its count (as the tool says it and in MACs) and its times, or why it failed."""

    model: str
    tool: str
    convention: str
    reported: float | None = None
    macs: int | None = None
    cold_s: float | None = None
    warm_s: float | None = None
    warm_cpu_s: float | None = None  # the process's CPU time per call (median): far less sensitive to a loaded machine
    peak_mb: float | None = None
    same_count_every_call: bool | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _first_line(exc: BaseException) -> str:
    """As analyzers.errors.first_line, kept here so that a peer's process never imports our engine."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def measure_here(model: Model, tool: Tool, repeats: int, threads: int | None) -> Measurement:
    """Runs in the child process: the warm-up call, then `repeats` timed calls."""
    import resource

    import torch
    if threads is not None:
        torch.set_num_threads(threads)
    result = Measurement(model.key, tool.key, tool.convention.text)
    try:
        module = build(model, tool.device)
        count = globals()[tool.counter_name](module, (1, *model.input_size))
        start = time.perf_counter()
        reported = count()
        result.cold_s = time.perf_counter() - start
        counts, warm, warm_cpu = [], [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            counts.append(count())
            warm.append(time.perf_counter() - start)
            warm_cpu.append(time.process_time() - start_cpu)
    except Exception as exc:  # a peer failing is a result, never a crash of the run
        result.error = f"{type(exc).__name__}: {_first_line(exc)}"
        return result
    result.reported = float(reported)
    result.macs = round(float(reported) / tool.convention.per_mac)
    result.warm_s = statistics.median(warm)
    result.warm_cpu_s = statistics.median(warm_cpu)
    result.same_count_every_call = all(c == reported for c in counts)
    result.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def child_main(model_key: str, tool_key: str, repeats: int, threads: int | None) -> None:
    result = measure_here(MODELS[model_key], TOOLS[tool_key], repeats, threads)
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(dataclasses.asdict(result)), flush=True)


# --- the parent: one process per pair, then the tables ---------------------------------------------------------------

def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def faster(earlier: Measurement | None, now: Measurement) -> Measurement:
    """Of two processes measuring one pair, the one that ran fastest (CPU time); a success beats a failure."""
    if earlier is None or (now.ok and (not earlier.ok or now.warm_cpu_s < earlier.warm_cpu_s)):
        return now
    return earlier


def measure(model: Model, tool: Tool, repeats: int, threads: int | None, timeout_s: float) -> Measurement:
    """Runs one pair in a fresh process; a crash or a timeout there is recorded as that pair's failure."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", model.key, tool.key, "--repeats", str(repeats)]
    if threads is not None:
        argv += ["--threads", str(threads)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=child_env(), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return Measurement(model.key, tool.key, tool.convention.text, error=f"timed out after {timeout_s:g} s")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return Measurement(**json.loads(line[len(RESULT_PREFIX):]))
    return Measurement(model.key, tool.key, tool.convention.text,
                       error=f"process exited with {done.returncode}: {_last_line(done.stderr)}")


class Clock(enum.Enum):
    """Which warm time a ratio divides: wall-clock, or the process's CPU time (steadier on a shared machine)."""

    WALL = ("warm_s", "Peer warm time ÷ ours (wall clock; above 1: ours is faster)", "ours (s)")
    CPU = ("warm_cpu_s", "Peer warm CPU time ÷ ours (the process's CPU seconds per call; steadier under load)",
           "ours (CPU s)")

    def __init__(self, field: str, title: str, ours_header: str) -> None:
        self.field = field
        self.title = title
        self.ours_header = ours_header


def ratio(peer: Measurement, ours: Measurement | None, clock: Clock = Clock.WALL) -> float | None:
    """Peer warm time ÷ ours: above 1, ours is faster; None where either failed or has no such time."""
    if ours is None or not ours.ok or not peer.ok:
        return None
    peer_s, ours_s = getattr(peer, clock.field), getattr(ours, clock.field)
    return peer_s / ours_s if peer_s is not None and ours_s else None


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _times(value: float | None, failed: bool = True) -> str:
    return ("failed" if failed else "—") if value is None else f"{value:.2f}×"


def ratio_table(results: dict[tuple[str, str], Measurement], models: list[Model], peers: list[Tool],
                clock: Clock) -> list[str]:
    """One row per model (ours' seconds, each peer ÷ ours, the fastest peer) and the medians over the models."""
    out = [clock.title, "",
           f"| model | {clock.ours_header} | " + " | ".join(t.label for t in peers) + " | fastest peer | fastest ÷ ours |",
           "|---|---:|" + "---:|" * len(peers) + "---|---:|"]
    columns: dict[str, list[float | None]] = {t.key: [] for t in peers}
    fastest_ratios: list[float | None] = []
    for m in models:
        ours = results[m.key, "ours"]
        ratios = {t.key: ratio(results[m.key, t.key], ours, clock) for t in peers}
        for key, value in ratios.items():
            columns[key].append(value)
        ran = [t for t in peers if ratios[t.key] is not None]
        fastest = min(ran, key=lambda t: ratios[t.key]) if ran else None
        fastest_ratios.append(ratios[fastest.key] if fastest else None)
        ours_s = getattr(ours, clock.field)
        ours_text = "failed" if not ours.ok else "—" if ours_s is None else f"{ours_s:.3f}"
        out.append(f"| {m.label} | {ours_text} | "
                   + " | ".join(_times(ratios[t.key], not results[m.key, t.key].ok or not ours.ok) for t in peers)
                   + f" | {fastest.label if fastest else '—'} | {_times(fastest_ratios[-1], False)} |")
    out.append("| **median** | | " + " | ".join(_times(_median(columns[t.key]), False) for t in peers)
               + f" | | {_times(_median(fastest_ratios), False)} |")
    return out + [""]


def markdown_tables(results: dict[tuple[str, str], Measurement], models: list[Model], tools: list[Tool]) -> str:
    """The time-ratio tables (wall clock, and CPU time where measured), the counts, the conventions, the failures."""
    peers = [t for t in tools if t.key != "ours"]
    out: list[str] = []
    if any(t.key == "ours" for t in tools) and peers:
        out += ratio_table(results, models, peers, Clock.WALL)
        if any(r.warm_cpu_s is not None for r in results.values()):
            out += ratio_table(results, models, peers, Clock.CPU)
    out += ["Counts, normalised to GMACs (10⁹ multiply-accumulates, batch 1); warm seconds in the JSON/CSV", "",
            "| model | " + " | ".join(t.label for t in tools) + " |", "|---|" + "---:|" * len(tools)]
    for m in models:
        cells = [results[m.key, t.key] for t in tools]
        out.append(f"| {m.label} | " + " | ".join(f"{r.macs / 1e9:.3f}" if r.ok else "failed" for r in cells) + " |")
    out += ["", "Conventions (what each tool reports; divided by this to give MACs):"]
    out += [f"- {t.label}: {t.convention.text}" + (f", ÷ {t.convention.per_mac}" if t.convention.per_mac > 1 else "")
            for t in tools]
    failures = [r for r in results.values() if not r.ok]
    unstable = [r for r in results.values() if r.ok and not r.same_count_every_call]
    if failures:
        out += ["", "Failures:"] + [f"- {MODELS[r.model].label}, {TOOLS[r.tool].label}: {r.error}" for r in failures]
    if unstable:
        out += ["", "Counts that changed between calls (the warm-up's is shown): "
                + ", ".join(f"{MODELS[r.model].label} / {TOOLS[r.tool].label}" for r in unstable)]
    return "\n".join(out)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def engine_revision() -> dict[str, object]:
    """Which analyzer 'ours' was: the commit, and the engine files that differed from it (a shared checkout)."""
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.strip() if done.returncode == 0 else "unknown"
    return {"git_head": git("rev-parse", "--short", "HEAD"),
            "engine_files_changed_since_head": git("status", "--porcelain", "--", "analyzers").splitlines()}


def environment(tools: list[Tool], started: str, load_before: tuple[float, ...], threads: int | None
                ) -> dict[str, object]:
    """When and where it was measured: the load average matters on a shared machine."""
    return {
        "torch_threads": threads if threads is not None else "torch's default",
        **engine_revision(),
        "started_utc": started,
        "finished_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15_min_before": list(load_before),
        "load_average_1_5_15_min_after": list(os.getloadavg()),
        "versions": {d: _version(d) for d in sorted({"torch", "torchvision", "timm", *(t.distribution for t in tools)})},
    }


def write_out(path: Path, results: list[Measurement], env: dict[str, object], repeats: int) -> None:
    rows = [dataclasses.asdict(r) for r in results]
    if path.suffix == ".json":
        path.write_text(json.dumps({"environment": env, "repeats": repeats, "time_unit": "seconds",
                                    "count_unit": "MACs in 'macs'; the tool's own units in 'reported'",
                                    "results": rows}, indent=2) + "\n")
    else:
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["model", "tool"])
            writer.writeheader()
            writer.writerows(rows)


def load_results(paths: Sequence[Path]) -> tuple[dict[tuple[str, str], Measurement], list[dict[str, object]]]:
    """Measurements and environments from `--out` JSON files; a later file's (model, tool) replaces an earlier one's."""
    results: dict[tuple[str, str], Measurement] = {}
    environments = []
    for path in paths:
        data = json.loads(path.read_text())
        environments.append(data["environment"])
        for row in data["results"]:
            results[row["model"], row["tool"]] = Measurement(**row)
    return results, environments


def _loads(values: Sequence[float]) -> str:
    return ", ".join(f"{x:.1f}" for x in values)


def saved_tables(results: dict[tuple[str, str], Measurement], environments: list[dict[str, object]]) -> str:
    """The tables of saved measurements; a pair that no file holds shows as failed ("not measured")."""
    models = [m for m in MODELS.values() if any(key[0] == m.key for key in results)]
    tools = [t for t in TOOLS.values() if any(key[1] == t.key for key in results)]
    missing = [(m, t) for m in models for t in tools if (m.key, t.key) not in results]
    for m, t in missing:
        results[m.key, t.key] = Measurement(m.key, t.key, t.convention.text, error="not measured")
    return markdown_tables(results, models, tools) + "".join(
        f"\n\nMeasured {env['started_utc']} – {env['finished_utc']} (UTC) on {env['cpus']} CPUs, load average "
        f"before {_loads(env['load_average_1_5_15_min_before'])}, after {_loads(env['load_average_1_5_15_min_after'])}"
        f" (1, 5, 15 min); torch threads: {env.get('torch_threads', '?')}" for env in environments)


def _selection(text: str, known: dict, what: str) -> list:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in known]
    if not keys:
        raise ValueError(f"no {what} given; choose from {', '.join(known)}")
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")
    return [known[k] for k in keys]


def _count(text: str) -> int:
    """A count in ASCII digits (`int()` also reads '٣' and '1_0'), its range checked by `main`; not
    analyzers.numbers.whole_number, which would load our engine into a peer's process."""
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise argparse.ArgumentTypeError(f"expected a whole number in digits 0-9, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated, from {', '.join(TOOLS)}")
    parser.add_argument("--repeats", type=_count, default=5, help="timed calls after the warm-up (default 5)")
    parser.add_argument("--threads", type=_count, help="torch intra-op threads in each child (default: torch's own)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per (model, tool) process")
    parser.add_argument("--rounds", type=_count, default=1,
                        help="fresh processes per pair; each pair keeps its fastest (default 1)")
    parser.add_argument("--out", type=Path, help="write the raw figures to this .json or .csv file")
    parser.add_argument("--tables-from", nargs="+", type=Path, metavar="JSON",
                        help="print the tables from earlier --out .json files instead of measuring")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "TOOL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        models = _selection(args.models, MODELS, "model")
        tools = _selection(args.tools, TOOLS, "tool")
        if args.repeats < 1:
            raise ValueError(f"--repeats must be at least 1, got {args.repeats}")
        if args.rounds < 1:
            raise ValueError(f"--rounds must be at least 1, got {args.rounds}")
        if args.threads is not None and args.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {args.threads}")
        if args.timeout <= 0:
            raise ValueError(f"--timeout must be positive seconds, got {args.timeout:g}")
        if args.out is not None and args.out.suffix not in (".json", ".csv"):
            raise ValueError(f"--out must end in .json or .csv, got {str(args.out)!r}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.child:
        child_main(args.child[0], args.child[1], args.repeats, args.threads)
        return 0
    if args.tables_from:
        try:
            saved = load_results(args.tables_from)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: --tables-from needs this script's --out .json files: {exc}", file=sys.stderr)
            return 2
        print(saved_tables(*saved))
        return 0

    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    cpus = os.cpu_count() or 1
    if load_before[0] > cpus and args.threads is None:
        print(f"warning: load average {load_before[0]:.1f} on {cpus} CPUs: real-compute peers' times are inflated by "
              "spinning threads; --threads 1 measures them fairly", file=sys.stderr)
    results: dict[tuple[str, str], Measurement] = {}
    for round_number in range(1, args.rounds + 1):
        for m in models:
            for t in tools:
                print(f"{time.strftime('%H:%M:%S')} round {round_number}/{args.rounds} {m.label} / {t.label} …",
                      file=sys.stderr, flush=True)
                results[m.key, t.key] = faster(results.get((m.key, t.key)),
                                               measure(m, t, args.repeats, args.threads, args.timeout))
                if args.out is not None:
                    write_out(args.out, list(results.values()),
                              environment(tools, started, load_before, args.threads), args.repeats)
    env = environment(tools, started, load_before, args.threads)
    print(markdown_tables(results, models, tools))
    print(f"\nMeasured {started} – {env['finished_utc']} (UTC) on {env['cpus']} CPUs, load average before "
          f"{_loads(load_before)}, after {_loads(env['load_average_1_5_15_min_after'])} (1, 5, 15 min); warm median of "
          f"{args.repeats} after a warm-up, fastest of {args.rounds} process(es) per pair; torch threads: {env['torch_threads']}; " + ", ".join(f"{d} {v}" for d, v in env["versions"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
