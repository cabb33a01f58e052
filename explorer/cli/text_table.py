"""The per-layer report as an aligned plain-text table for the terminal (no pandas needed).

Names and types can come from a user's factory, so control characters in them are printed as escapes.
"""

from __future__ import annotations

from analyzers.numbers import volume
from analyzers.records import Analysis
from analyzers.counting.formula_text import receptive_field_text
from analyzers.predict.roofline import ModelBound
from analyzers.safe_text import printable
from analyzers.counting.formula_text import layer_formula

__all__ = ["layer_table"]


def layer_table(analysis: Analysis, max_depth: int | None = None, roofline: ModelBound | None = None) -> str:
    """Indented records with their numbers and formulas; with a roofline, each leaf's bound and what limits it."""
    bounds = {b.name: b for b in roofline.layers} if roofline else {}
    rows = [("layer", "type", "output", "params", "MACs", "elementwise", "RF", "formula")]
    for r in analysis.records:
        if max_depth is not None and r.depth > max_depth:
            continue
        name = "  " * r.depth + (r.name.rsplit(".", 1)[-1] if r.depth > 1 and r.is_leaf else r.name or analysis.model_name)
        if r.name.endswith("(functional)"):
            name = "  " * r.depth + "(functional)"
        output = "; ".join(volume(s) for s in r.output_shapes)
        formula = layer_formula(r) if r.is_leaf else ""
        if r.name in bounds:
            b = bounds[r.name]
            limit = "memory" if b.memory_bound else "compute"
            formula = f"[{b.bound_ms:.4f} ms, {b.arithmetic_intensity:.1f} FLOP/B, {limit}-bound] {formula}"
        rows.append((printable(name), printable(r.type), output, f"{r.params:,}", f"{r.macs:,}", f"{r.elementwise_ops:,}",
                     receptive_field_text(r.receptive_field), formula))
    widths = [max(len(row[i]) for row in rows) for i in range(7)]
    right = {3, 4, 5, 6}
    lines = []
    for row in rows:
        cells = [row[i].rjust(widths[i]) if i in right else row[i].ljust(widths[i]) for i in range(7)]
        lines.append("  ".join(cells) + "  " + row[7])
    t = analysis.totals
    if roofline is not None:
        lines.append(f"roofline bound: {roofline.bound_ms:.4f} ms ({roofline.peak_tflops:g} TFLOP/s, "
                     f"{roofline.memory_gb_per_s:g} GB/s; ridge point {roofline.ridge_point:.0f} FLOP/byte)")
    lines.append(f"total: {t.params:,} params, {t.macs:,} MACs ({t.flops:,} FLOPs), {t.elementwise_ops:,} element-wise "
                 f"ops, {t.activation_bytes:,} activation bytes, {t.uncounted_ops} uncounted ops")
    return "\n".join(lines)
