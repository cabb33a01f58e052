"""Freezing for transfer learning: which parameters a freeze point or a stage count freezes, and what a step costs
once the frozen trunk's features are precomputed (notes 004: "pre-compute that layer's activations … save them
to disk")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from torch import nn

from analyzers.errors import UserError
from analyzers.records import Analysis

if TYPE_CHECKING:
    from analyzers.training.analyze import TrainingAnalysis, TrainingLayer

__all__ = ["IMAGENET_TRAIN_IMAGES", "RemainingCost", "cost_after_cut", "freeze_point",
           "frozen_parameter_names", "precomputed_feature_bytes", "stage_names", "trainable_modules"]

IMAGENET_TRAIN_IMAGES = 1_281_167  # ILSVRC-2012 training set


def stage_names(model: nn.Module) -> list[str]:
    """The model's stages, in order: the blocks of its `features` Sequential that hold parameters (torchvision's
    MobileNets, EfficientNets, VGG, …), else its top-level blocks with parameters (ResNet's layer1–layer4; the stem
    before layer1 freezes with it), else its top-level layers with parameters. The head is never a stage: freezing
    every stage leaves the classifier to train, the notes' "train only the softmax"."""
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential) and len(features) > 1:
        return [f"features.{name}" for name, child in features.named_children() if _has_parameters(child)]
    with_parameters = [(name, child) for name, child in model.named_children()
                       if _has_parameters(child) and not name.lower().startswith("aux")]  # side heads are no stage
    blocks = [name for name, child in with_parameters if any(True for _ in child.children())]
    if blocks:
        return blocks
    return [name for name, _ in with_parameters[:-1]]  # plain layers (LeNet): all but the last, the head


def _has_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def freeze_point(model: nn.Module, *, freeze: str | None = None, freeze_stages: int | None = None) -> str | None:
    """The module name up to which (inclusive) parameters are frozen, from a name or a stage count."""
    if freeze is not None and freeze_stages is not None:
        raise UserError("give either a module to freeze up to or a number of stages, not both")
    if freeze_stages is not None:
        stages = stage_names(model)
        if isinstance(freeze_stages, bool) or not isinstance(freeze_stages, int) or not (
                0 <= freeze_stages <= len(stages)):
            raise UserError(f"--freeze-stages must be 0 to {len(stages)} for this model, got {freeze_stages!r}")
        return stages[freeze_stages - 1] if freeze_stages else None
    if freeze is None or freeze == "":
        return None
    names = {name for name, _ in model.named_modules()}
    if freeze not in names:
        sample = ", ".join(stage_names(model)[:8])
        raise UserError(f"no module named {freeze!r} to freeze up to; stages of this model: {sample}")
    return freeze


def frozen_parameter_names(model: nn.Module, point: str | None) -> set[str]:
    """Every parameter of modules defined before `point` and of `point` itself (definition order)."""
    if point is None:
        return set()
    names = [name for name, _ in model.named_parameters()]
    inside = [i for i, name in enumerate(names) if name.startswith(f"{point}.") or point == ""]
    if not inside:  # a module without parameters: freeze what comes before it
        modules = [name for name, _ in model.named_modules()]
        before = set(modules[: modules.index(point) + 1])
        return {p for p in names if p.rsplit(".", 1)[0] in before}
    return set(names[: inside[-1] + 1])


def precomputed_feature_bytes(analysis: Analysis, cut: str, images: int = IMAGENET_TRAIN_IMAGES) -> tuple[int, int]:
    """(bytes per image, bytes for `images`) of the activation a frozen trunk outputs at module `cut`, stored in the
    analysis dtype: the notes' "pre-compute that layer's activations … save them to disk"."""
    record = analysis.record(cut)
    if not record.output_shapes:
        raise UserError(f"module {cut!r} has no tensor output to cache")
    shape = record.output_shapes[0]
    per_image = 1
    for d in shape[1:]:
        per_image *= d
    itemsize = analysis.dtype.itemsize
    return per_image * itemsize, per_image * itemsize * images


def trainable_modules(layers: Iterable[TrainingLayer]) -> list[str]:
    return [layer.name for layer in layers if layer.is_leaf and layer.trainable_params]


@dataclass(frozen=True)
class RemainingCost:
    """What one training step still costs per batch once the trunk's features at the cut are read from disk."""

    forward_macs: int
    backward_macs: int

    @property
    def step_macs(self) -> int:
        return self.forward_macs + self.backward_macs


def cost_after_cut(analysis: TrainingAnalysis, cut: str) -> RemainingCost:
    """Forward and backward MACs of the leaves that run after module `cut` (the trunk up to it is precomputed)."""
    leaves = analysis.leaves()
    inside = [i for i, layer in enumerate(leaves) if layer.name == cut or layer.name.startswith(f"{cut}.")]
    if not inside:
        raise UserError(f"module {cut!r} ran no layer to cut after")
    rest = leaves[inside[-1] + 1:]
    return RemainingCost(sum(layer.forward_macs for layer in rest), sum(layer.backward_macs for layer in rest))
