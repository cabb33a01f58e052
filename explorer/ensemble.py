"""What one prediction costs with an ensemble of models and N test-time crops (notes 001: "ensembling" and
"multi-crop at test time", the benchmark tricks the notes advise against in production).

Every crop goes through every model and the outputs are averaged (the averaging itself is negligible and not
counted). So per image: MACs = crops × Σ models' MACs; weight memory = Σ models' weights, since crops share one set
of weights per model (an ensemble must keep every network around, the notes' point about memory); activations:
one crop through one model at a time needs the largest member's, a batch of N crops needs N times that.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:
    import pandas

from analyzers.errors import UserError

__all__ = [
    "CropScheme", "EnsembleCost", "MAX_CROPS", "MAX_MEMBERS", "MemberCost", "batch1_latencies", "ensemble_cost",
    "measured_latency_ms", "parse_crops", "parse_members", "zoo_member_costs",
]

MAX_CROPS = 1_000
MAX_MEMBERS = 64


class CropScheme(int, enum.Enum):
    """Named test-time crop counts."""

    SINGLE = 1  # the centre crop only
    TEN_CROP = 10  # centre + 4 corners, and the same 5 of the mirrored image (AlexNet, the notes)
    GOOGLENET = 144  # 4 scales × 3 squares × (4 corners + centre + the whole square resized) × 2 mirrors (Szegedy 2014)


@dataclass(frozen=True)
class MemberCost:
    """One model's cost for one crop at batch 1, as the analyzer counts it."""

    name: str
    input_size: tuple[int, ...]
    params: int
    param_bytes: int
    macs: int
    activation_bytes: int  # every layer's newly allocated output for one crop (the analyzer's activation_bytes)


@dataclass(frozen=True)
class EnsembleCost:
    """The per-image cost of running `members` on `crops` crops and averaging the predictions."""

    members: tuple[MemberCost, ...]
    crops: int

    @property
    def models(self) -> int:
        return len(self.members)

    @property
    def macs_per_crop(self) -> int:
        """One crop through every model."""
        return sum(m.macs for m in self.members)

    @property
    def macs_per_image(self) -> int:
        return self.crops * self.macs_per_crop

    @property
    def flops_per_image(self) -> int:
        return 2 * self.macs_per_image

    @property
    def params(self) -> int:
        """Every model's own weights; the crops reuse them."""
        return sum(m.params for m in self.members)

    @property
    def weight_bytes(self) -> int:
        return sum(m.param_bytes for m in self.members)

    @property
    def activation_bytes_per_crop(self) -> int:
        """One crop through one model at a time: the largest member's activations."""
        return max(m.activation_bytes for m in self.members)

    @property
    def activation_bytes_batched(self) -> int:
        """All crops as one batch through one model at a time: N × the largest member's."""
        return self.crops * self.activation_bytes_per_crop

    @property
    def cost_multiplier(self) -> float:
        """MACs per image over the first model's on a single crop: models × crops for identical members."""
        return self.macs_per_image / self.members[0].macs

    def as_dict(self) -> dict[str, object]:
        """A flat, JSON-ready record; every field names its unit."""
        return {
            "members": [m.name for m in self.members],
            "models": self.models,
            "crops": self.crops,
            "params": self.params,
            "weight_bytes": self.weight_bytes,
            "macs_per_crop": self.macs_per_crop,
            "macs_per_image": self.macs_per_image,
            "flops_per_image": self.flops_per_image,
            "activation_bytes_per_crop": self.activation_bytes_per_crop,
            "activation_bytes_batched": self.activation_bytes_batched,
            "cost_multiplier": self.cost_multiplier,
        }


def measured_latency_ms(cost: EnsembleCost, latency_ms: Mapping[str, float]) -> float | None:
    """One image's latency from measured single-crop latencies (batch 1, per model): every crop through every model
    one after another, crops × Σ members. None when a member has no measurement (never a guess)."""
    if any(m.name not in latency_ms for m in cost.members):
        return None
    return cost.crops * sum(latency_ms[m.name] for m in cost.members)


def batch1_latencies(results: "pandas.DataFrame") -> dict[str, float]:
    """Model → the fastest measured p50 latency at batch 1 in a benchmark results table (ok rows only)."""
    rows = results[(results["status"] == "ok") & (results["batch"] == 1)]
    return {str(k): float(v) for k, v in rows.groupby("model")["latency_ms_p50"].min().items()}


def ensemble_cost(members: Sequence[MemberCost], crops: int) -> EnsembleCost:
    """Combine member costs; `crops` is any count from 1 to MAX_CROPS (see `CropScheme` for the usual ones)."""
    if not members:
        raise UserError("an ensemble needs at least one model")
    if len(members) > MAX_MEMBERS:
        raise UserError(f"an ensemble of at most {MAX_MEMBERS} models, got {len(members)}")
    if isinstance(crops, bool) or not isinstance(crops, int) or not 1 <= crops <= MAX_CROPS:
        raise UserError(f"crops must be a whole number from 1 to {MAX_CROPS} (10-crop: 10, GoogLeNet: 144), "
                        f"got {crops!r}")
    return EnsembleCost(tuple(members), crops)


_MEMBER = re.compile(r"^\s*([A-Za-z0-9_.:-]+)\s*(?:[*×x]\s*([0-9]{1,3}))?\s*$")


def parse_members(text: str) -> list[str]:
    """'resnet50*3,vgg16' → ['resnet50', 'resnet50', 'resnet50', 'vgg16']: comma-separated names, `*K` repeats
    one (K independently trained copies: K sets of weights)."""
    names: list[str] = []
    for part in text.split(","):
        match = _MEMBER.match(part)
        if match is None or not part.strip():
            raise UserError(f"ensemble members are comma-separated names, optionally NAME*K (e.g. "
                            f"resnet50*3,vgg16); cannot read {part.strip()!r}")
        count = int(match.group(2) or 1)
        if count < 1:
            raise UserError(f"{match.group(1)}*{count}: K must be at least 1")
        names += [match.group(1)] * count
    if len(names) > MAX_MEMBERS:
        raise UserError(f"an ensemble of at most {MAX_MEMBERS} models, got {len(names)}")
    return names


def parse_crops(text: str) -> int:
    """'10', '144', '10crop', 'ten_crop', 'googlenet' → the crop count."""
    key = text.strip().lower().replace("-", "_")
    named = {"single": 1, "10crop": 10, "10_crop": 10, "ten_crop": 10, "googlenet": 144, "144crop": 144}
    if key in named:
        return named[key]
    if re.fullmatch(r"[0-9]{1,4}", key) and 1 <= int(key) <= MAX_CROPS:
        return int(key)
    raise UserError(f"--crops must be a whole number from 1 to {MAX_CROPS}, or 10crop / googlenet (144); "
                    f"got {text!r}")


def zoo_member_costs(names: Sequence[str], *, dtype: object = None) -> list[MemberCost]:
    """Analyse each zoo model once (repeated names share the analysis) at its default input, batch 1."""
    from analyzers import analyze
    from explorer.zoo import build_model

    cache: dict[str, MemberCost] = {}
    for name in dict.fromkeys(names):
        model = build_model(name)
        kwargs = {"dtype": dtype} if dtype is not None else {}
        totals = analyze(model.module, model.input_size, 1, model_name=name, **kwargs).totals
        cache[name] = MemberCost(name, tuple(model.input_size), totals.params, totals.param_bytes, totals.macs,
                                 totals.activation_bytes)
    return [cache[name] for name in names]
