"""`python -m explorer`: list the zoo, print a model's cost summary or per-layer report, run benchmarks.

Every user error ends in one line on stderr and exit code 2; tracebacks are for our bugs only.
"""

from __future__ import annotations

from analyzers.errors import UserError, first_line
from explorer.input_size import parse_input_size
from explorer.terminal_text import printable

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")

EXIT_USAGE = 2
EXIT_SOME_FAILED = 1  # summary --all: some models could not be analysed, the others were
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
DEFAULT_TIMEOUT_S = 60


class CliError(UserError):
    """A user error the CLI reports as one line and exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage over several lines; we print one
        raise CliError(f"{message} (see `python -m explorer {self.prog.split()[-1]} --help`)"
                       if " " in self.prog else f"{message} (see `python -m explorer --help`)")


# ---------------------------------------------------------------- argument parsing helpers


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _timeout_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 (no limit) to 86400, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {value}")
    return value


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """`--set width_mult=0.75 --set aux_logits=true` → {'width_mult': '0.75', 'aux_logits': 'true'}.

    Values stay text: the zoo checks each against the model's typed, bounded `Option` (`python -m explorer list`).
    """
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"--set takes KEY=VALUE, e.g. width_mult=0.75; got {pair!r}")
        if key in options:
            raise CliError(f"--set {key} is given twice")
        options[key] = raw.strip()
    return options


# ---------------------------------------------------------------- model resolution


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    module: Any  # nn.Module (kept loose so this file imports no torch at parse time)
    input_size: tuple[int, ...] | None
    inputs: Any = None  # analyzers.counting.inputs.Inputs with batch 1, for models that take more than one image


def resolve_model(ref: str | None, spec: str | None, options: dict[str, Any],
                  input_override: tuple[int, ...] | None, build_device: str = "meta") -> ResolvedModel:
    """A zoo name, `--spec FILE`, `torchvision:NAME` / `timm:NAME`, or `package.module:factory` (user code).

    Sources and user factories are built under `torch.device(build_device)`: on meta by default, so a factory
    that asks for billions of parameters allocates nothing (the analysis runs on meta either way).
    """
    import torch

    if spec is not None:
        from explorer.spec import load_spec

        if options:
            raise CliError("--set applies to zoo models only; a spec file states its own sizes")
        with torch.device("meta"):
            built = load_spec(_read_spec_file(spec), default_name=printable(Path(spec).stem))
        return ResolvedModel(built.name, built.module, input_override or built.input_size)
    assert ref is not None
    if ref.partition(":")[0] in ("torchvision", "timm", "hf"):  # the libraries' catalogues: explorer.catalogue
        if options:
            raise CliError("--set applies to zoo models only")
        from explorer.catalogue import build, inputs_at

        built = build(ref)
        if built.input_size is not None and not isinstance(built.inputs, dict):  # one image or clip
            return ResolvedModel(built.ref, built.module, input_override or built.input_size)
        return ResolvedModel(built.ref, built.module, None, inputs_at(built, input_override))
    if ":" in ref:
        if options:
            raise CliError("--set applies to zoo models only")
        from explorer.sources import resolve_source

        with torch.device(build_device):
            sourced = resolve_source(ref)
        size = input_override or sourced.input_size
        return ResolvedModel(sourced.name, sourced.module, tuple(size) if size else None)
    from explorer.zoo import build_model

    built = build_model(ref, **options)
    return ResolvedModel(ref, built.module, input_override or built.input_size)


def _read_spec_file(path: str) -> str:
    """The file's text, or one line saying why not: unreadable, too large for a spec, or not UTF-8 text."""
    from explorer.spec import DEFAULT_LIMITS

    most = 4 * DEFAULT_LIMITS.max_chars  # UTF-8 takes at most 4 bytes a character: any larger file is over the limit
    try:
        with open(path, "rb") as file:
            data = file.read(most + 1)
    except OSError as exc:
        raise CliError(f"cannot read spec file {printable(path)}: {exc.strerror or exc}") from None
    if len(data) > most:
        raise CliError(f"spec file {printable(path)} is over {most:,} bytes; a spec has at most "
                       f"{DEFAULT_LIMITS.max_chars:,} characters")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"spec file {printable(path)} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                       f"{exc.start:,}); a spec is plain text") from None


# ---------------------------------------------------------------- commands


def cmd_list(args: argparse.Namespace) -> int:
    from explorer.zoo import list_models

    models = list_models(family=args.family, name_contains=args.contains)
    if args.json:
        for m in models:
            options = [{"name": o.name, "kind": o.kind.value if o.kind else None, "default": o.default,
                        "minimum": o.minimum, "maximum": o.maximum, "choices": list(o.choices), "help": o.help}
                       for o in m.options]
            print(json.dumps({"name": m.name, "family": m.family.value, "input": "x".join(map(str, m.input_size)),
                              "paper": m.paper, "options": options}, ensure_ascii=False))
        return 0
    rows = [("name", "family", "default input", "options (--set KEY=VALUE)")]
    rows += [(m.name, m.family.value, "x".join(map(str, m.input_size)), " ".join(o.summary() for o in m.options))
             for m in models]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    return 0


def _analyze(model: ResolvedModel, args: argparse.Namespace):
    from analyzers import analyze
    from analyzers.devices import Precision

    from analyzers.counting.inputs import with_batch
    from explorer.cli_inputs import parse_input_options

    dtype = Precision(args.dtype).torch_dtype
    device = getattr(args, "device", "meta")
    given = parse_input_options(getattr(args, "inputs", None), parse_input_size).inputs
    if given is not None:
        if args.batch != 1:
            raise CliError("with NAME=DTYPE:SHAPE inputs the batch is in each shape; leave out --batch")
        return analyze(model.module, inputs=given, dtype=dtype, model_name=model.name, device=device)
    if model.inputs is not None:
        return analyze(model.module, inputs=with_batch(model.inputs, args.batch), dtype=dtype,
                       model_name=model.name, device=device)
    if model.input_size is None:
        raise CliError(f"{model.name}: give the input size with --input CxHxW")
    return analyze(model.module, model.input_size, args.batch, dtype=dtype, model_name=model.name, device=device)


def _roofline(analysis: Any, args: argparse.Namespace):
    """The per-layer roofline on the spec-sheet device named by --roofline, or None without it."""
    if not args.roofline:
        return None
    from analyzers.devices import lookup_peak, spec_devices
    from analyzers.predict.roofline import model_bound

    peak = lookup_peak(args.roofline)
    if peak.tflops(args.dtype) is None or peak.memory_gb_per_s is None:
        known = ", ".join(device.name.removeprefix("NVIDIA ") for device in spec_devices())
        raise CliError(f"--roofline {args.roofline!r}: no spec-sheet peak for that device; known: {known}")
    return model_bound(analysis, peak, args.dtype)


def _summary_line(model: ResolvedModel, args: argparse.Namespace) -> dict[str, Any]:
    from analyzers.reports.summary import summary_dict

    analysis = _analyze(model, args)
    summary = summary_dict(analysis)
    bound = _roofline(analysis, args)
    if bound is not None:
        summary.update(roofline_device=args.roofline, roofline_ms=bound.bound_ms,
                       arithmetic_intensity=bound.arithmetic_intensity,
                       memory_bound_layers=sum(1 for layer in bound.layers if layer.memory_bound))
    if args.crosscheck == "fvcore":
        from analyzers.reports.crosscheck import fvcore_crosscheck

        check = fvcore_crosscheck(model.module, model.input_size, args.batch, analysis)
        summary.update(fvcore_macs=check.fvcore_macs, fvcore_total=check.fvcore_total,
                       fvcore_other=check.fvcore_other, crosscheck=check.explanation())
    return summary


def _limited(args: argparse.Namespace, name: str, work: Callable[[], T]) -> T:
    """`work()` stopped after `--timeout` seconds with a one-line error naming the model."""
    from explorer.run_limits import TimeLimitExceeded, time_limit

    try:
        with time_limit(args.timeout):
            return work()
    except TimeLimitExceeded as exc:
        raise CliError(f"{name}: stopped after {exc.seconds:g} s (--timeout); its import, build or forward did not "
                       "finish") from None


def cmd_summary(args: argparse.Namespace) -> int:
    options = parse_options(args.set)
    size = parse_input_size(args.input) if args.input else None
    if args.all:
        if args.name or args.spec:
            raise CliError("summary --all takes no model name")
        from explorer.zoo import list_models

        return _summary_all(args, size)
    if not args.name and not args.spec:
        raise CliError("summary needs a model name, --spec FILE or --all (see `python -m explorer list`)")
    summary = _limited(args, args.name or args.spec, lambda: _summary_line(
        resolve_model(args.name, args.spec, options, size, args.build_device), args))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(_format_summary(summary))
    return 0


def _summary_all(args: argparse.Namespace, size: tuple[int, ...] | None) -> int:
    """One JSON line per zoo model on stdout; a model that fails (e.g. cannot take --input) gets one line on stderr,
    naming it and why, and the sweep goes on. Exit status 1 when any failed (2 stays for a bad command line)."""
    from explorer.user_errors import USER_ERRORS
    from explorer.zoo import list_models

    models = list_models(family=args.family)
    failed = 0
    for info in models:
        try:
            summary = _limited(args, info.name, lambda: _summary_line(resolve_model(info.name, None, {}, size), args))
        except (CliError, *USER_ERRORS()) as exc:
            failed += 1
            reason = first_line(exc)
            if not reason.startswith(f"{info.name}: "):  # e.g. a timeout names the model already
                reason = f"{info.name}: {reason}"
            print(f"error: {printable(reason)}", file=sys.stderr, flush=True)
            continue
        _print_line(json.dumps(summary, ensure_ascii=False))
    if failed:
        print(f"error: {failed} of {len(models)} models could not be analysed (each named above); the others were",
              file=sys.stderr)
        return EXIT_SOME_FAILED
    return 0


def _print_line(text: str) -> None:
    """One write and a flush per line, so a Ctrl-C between lines never leaves half a line on stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"{printable(s['name'])}  input {s['input']}  batch {s['batch']}  {s['dtype']}",
        f"  params            {s['params']:>18,}  (trainable {s['trainable_params']:,}; {s['param_bytes']:,} bytes)",
        f"  MACs              {s['macs']:>18,}  (FLOPs = 2 × MACs = {s['flops']:,})",
        f"  element-wise ops  {s['elementwise_ops']:>18,}  (norms, activations, pooling, adds)",
        f"  activations       {s['activation_bytes']:>18,}  bytes ({s['activation_elements']:,} elements)",
        f"  weight depth      {s['weight_depth']:>18,}  (conv/linear layers on the longest path, as papers count)",
        f"  leaf modules      {s['layers']:>18,}  (module nesting depth {s['depth']})",
        f"  uncounted ops     {s['uncounted_ops']:>18,}",
    ]
    if s.get("caveat"):
        lines.insert(1, f"  {s['caveat']} (on the {s['measured_on']}; another input may cost differently)")
    for layer, ops in s["uncounted_by_layer"].items():
        lines.append(f"    {printable(layer) if layer else '(model)'}: {', '.join(ops)}")
    if "roofline_ms" in s:
        lines.append(f"  roofline bound    {s['roofline_ms']:>18.4f}  ms on {s['roofline_device']} "
                     f"({s['arithmetic_intensity']:.1f} FLOP/byte; {s['memory_bound_layers']} of {s['layers']} "
                     f"layers memory-bound)")
    if "crosscheck" in s:
        lines.append(f"  fvcore            {s['fvcore_macs']:>18,}  {s['crosscheck']}")
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace) -> int:
    if not args.name and not args.spec:
        raise CliError("report needs a model name or --spec FILE (see `python -m explorer list`)")
    size = parse_input_size(args.input) if args.input else None
    options = parse_options(args.set)

    def resolve_and_analyze() -> tuple[ResolvedModel, Any]:
        model = resolve_model(args.name, args.spec, options, size, args.build_device)
        return model, _analyze(model, args)

    model, analysis = _limited(args, args.name or args.spec, resolve_and_analyze)
    bound = _roofline(analysis, args)
    wrote = False
    if args.csv:
        from analyzers.reports.table import to_csv

        _write(args.csv, lambda path: to_csv(analysis, path, args.depth, bound))
        wrote = True
    if args.json:
        from analyzers.reports.table import to_json

        _write(args.json, lambda path: to_json(analysis, path, args.depth))
        wrote = True
    if args.markdown:
        from analyzers.reports.table import to_markdown

        print(to_markdown(analysis, args.depth))
    elif not wrote:
        from explorer.text_table import layer_table

        print(layer_table(analysis, args.depth, bound))
    return 0


def _write(path: str, writer: Any) -> None:
    target = Path(path)
    if target.is_dir():
        raise CliError(f"cannot write {path}: it is a directory")
    try:
        writer(target)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------- parser and entry point


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="zoo name, torchvision:NAME, timm:NAME or package.module:factory")
    parser.add_argument("--spec", metavar="FILE", help="an architecture spec file instead of a name")
    from explorer.cli_inputs import InputAction

    parser.add_argument("--input", metavar="CxHxW", action=InputAction,
                        help="input size without batch, e.g. 3x224x224; or, repeated, named inputs with their dtype "
                        "and batch: --input input_ids=int64:1x128 --input attention_mask=int64:1x128")
    parser.add_argument("--device", choices=("meta", "cpu"), default="meta",
                        help="meta (default): count from shapes alone; cpu: run once on random data, for models "
                        "whose work depends on it (detection); every number is then labelled data-dependent")
    parser.add_argument("--batch", type=_positive_int, default=1, help="batch size (default 1)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="zoo builder option, e.g. width_mult=0.75 (repeatable); `python -m explorer list` shows "
                        "each model's options and their ranges")
    parser.add_argument("--dtype", choices=("fp32", "tf32", "bf16", "fp16"), default="fp32",
                        help="storage dtype for bytes (counts do not change); default fp32")
    parser.add_argument("--roofline", metavar="DEVICE",
                        help="add the roofline lower bound per layer on a spec-sheet GPU, e.g. H200, A100 80GB, L4")
    parser.add_argument("--timeout", type=_timeout_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"stop a model whose import, build or forward runs longer (default {DEFAULT_TIMEOUT_S}; "
                        "0: no limit)")
    parser.add_argument("--build-device", choices=("meta", "cpu"), default="meta",
                        help="device to build torchvision:, timm: and user factories on (default meta: no weights "
                        "allocated; cpu for a factory that needs real tensors while it builds)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m explorer",
                     description="Per-layer cost analysis of CNN architectures: params, MACs, memory, formulas.")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    listing = commands.add_parser("list", help="registered model names with family and default input")
    listing.add_argument("--family", help="only this family (e.g. resnet, inception)")
    listing.add_argument("--contains", help="only names containing this text")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=cmd_list)

    summary = commands.add_parser("summary", help="whole-model totals")
    _add_model_arguments(summary)
    summary.add_argument("--all", action="store_true", help="every registered model, one JSON line each")
    summary.add_argument("--family", help="with --all: only this family")
    summary.add_argument("--crosscheck", choices=["fvcore"], help="add fvcore's count and explain the difference")
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.set_defaults(run=cmd_summary)

    report = commands.add_parser("report", help="the per-layer table")
    _add_model_arguments(report)
    report.add_argument("--depth", type=_non_negative_int, help="show records down to this depth")
    report.add_argument("--csv", metavar="FILE", help="write the table as CSV")
    report.add_argument("--json", metavar="FILE", help="write totals and table as JSON")
    report.add_argument("--markdown", action="store_true", help="print a Markdown table")
    report.set_defaults(run=cmd_report)
    from explorer import cli_training

    cli_training.install(summary, report)  # --train [--optimizer] [--freeze] [--freeze-stages]

    from explorer import cli_atlas

    cli_atlas.add_parser(commands)
    try:
        from explorer import cli_bench
    except ImportError:  # the benchmark command is optional until its module exists
        cli_bench = None
    if cli_bench is not None:
        cli_bench.add_parser(commands)
    from explorer import cli_ensemble, cli_gradients

    cli_gradients.add_parser(commands)
    cli_ensemble.add_parser(commands)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> list[str]:
    """The subcommands, as registered (each command module adds its own)."""
    return [name for action in parser._subparsers._group_actions for name in action.choices]


def main(argv: Sequence[str] | None = None) -> int:
    from explorer.run_limits import Interrupted, ctrl_c_as_interrupted
    from explorer.user_errors import USER_ERRORS

    try:
        with ctrl_c_as_interrupted():
            parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "command", None):
                raise CliError(f"give a command: {', '.join(_command_names(parser))} "
                               "(see `python -m explorer --help`)")
            _refuse_empty_values(args)
            return _run_command(args)
    except (CliError, *USER_ERRORS()) as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)  # one line, whatever user text it quotes
        return EXIT_USAGE
    except Interrupted:
        print("interrupted: stopped at Ctrl-C; rows already printed or written are kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


def _refuse_empty_values(args: argparse.Namespace) -> None:
    """`--csv ''` or `--input ''` would otherwise read as "not given" and be ignored without a word."""
    for dest, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and not v.strip() for v in values):
            what = "the model name" if dest in ("name", "models") else "--" + dest.replace("_", "-")
            raise CliError(f"{what} needs a value, got an empty string")


def _run_command(args: argparse.Namespace) -> int:
    """The command's own exit status; a KeyboardInterrupt or SystemExit that user code raised is a one-line error."""
    from explorer.run_limits import Interrupted

    try:
        if hasattr(args, "run"):
            return int(args.run(args) or 0)
        from explorer import cli_bench

        return int(cli_bench.run(args) or 0)
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise CliError("the model's code raised KeyboardInterrupt") from None
    except SystemExit as exc:
        raise CliError(f"the model's code called sys.exit({exc.code!r}); a model must not end the program") from None
