"""`python -m explorer ensemble a,b,c --crops 10`: the per-image cost of an ensemble and test-time crops.

A sub-command of its own rather than a flag on `summary`: its input is a set of models, not one, and its answer is
one combined record. The arithmetic is `explorer.ensemble`.
"""

from __future__ import annotations

import argparse
import json

from explorer.ensemble import (EnsembleCost, batch1_latencies, ensemble_cost, measured_latency_ms, parse_crops,
                               parse_members, zoo_member_costs)

__all__ = ["add_parser", "format_cost", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the `ensemble` sub-command."""
    parser = subparsers.add_parser(
        "ensemble",
        help="per-image cost of averaging several models over N test-time crops (10-crop, GoogLeNet's 144)",
        description="Every crop runs through every model: MACs multiply by models × crops, weights add up over "
        "the models (crops share them), activations are per crop, or × crops when the crops run as one batch.",
    )
    parser.add_argument("members", metavar="NAME[,NAME…]",
                        help="zoo models, comma-separated; NAME*K for K independently trained copies")
    parser.add_argument("--crops", default="1", help="crops per image: a number, 10crop or googlenet (144); default 1")
    parser.add_argument("--dtype", choices=("fp32", "bf16", "fp16"), default="fp32",
                        help="storage dtype for weight and activation bytes (default fp32)")
    parser.add_argument("--results", metavar="CSV",
                        help="benchmark results (python -m explorer bench …): adds the measured latency per image "
                        "from each model's batch-1 p50, crops × Σ models")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from analyzers.devices import Precision

    names = parse_members(args.members)
    crops = parse_crops(args.crops)
    cost = ensemble_cost(zoo_member_costs(names, dtype=Precision(args.dtype).torch_dtype), crops)
    latency = None
    if args.results:
        from analyzers.bench.schema import load_results

        latency = measured_latency_ms(cost, batch1_latencies(load_results(args.results)))
    record = {**cost.as_dict(), "latency_ms_per_image": latency}
    print(json.dumps(record, ensure_ascii=False) if args.json else format_cost(cost, latency, bool(args.results)))
    return 0


def format_cost(cost: EnsembleCost, latency_ms: float | None = None, asked: bool = False) -> str:
    first = cost.members[0]
    width = max(len(m.name) for m in cost.members)
    lines = [f"ensemble of {cost.models} model(s) × {cost.crops} crop(s), per image"]
    for m in cost.members:
        size = "×".join(map(str, m.input_size[1:])) + "×" + str(m.input_size[0])
        lines.append(f"  {m.name:<{width}}  {size:>11}  {m.params:>13,} params  {m.macs:>16,} MACs per crop")
    lines += [
        f"  MACs per image      {cost.macs_per_image:>18,}  (= {cost.crops} crop(s) × {cost.macs_per_crop:,}; "
        f"FLOPs = 2 × MACs = {cost.flops_per_image:,})",
        f"  cost multiplier     {cost.cost_multiplier:>18.1f}×  (vs {first.name} on one crop)",
        f"  weights             {cost.weight_bytes:>18,}  bytes ({cost.params:,} params: every model's own; "
        "crops share them)",
        f"  activations         {cost.activation_bytes_per_crop:>18,}  bytes per crop (largest member, one model "
        "at a time)",
        f"  activations batched {cost.activation_bytes_batched:>18,}  bytes ({cost.crops} crops as one batch)",
    ]
    if latency_ms is not None:
        lines.append(f"  measured latency    {latency_ms:>18,.1f}  ms per image ({cost.crops} crop(s) × Σ measured "
                     "batch-1 p50, one after another)")
    elif asked:
        lines.append("  measured latency    not every member has a batch-1 result in that file")
    return "\n".join(lines)
