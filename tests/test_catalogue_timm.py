"""timm's catalogue for real (timm 1.0.31): architectures built on meta at their pretrained_cfg input, counted
against torch's FlopCounterMode (FLOPs ÷ 2: it counts the same conv / matmul / attention products
independently) and against the parameter counts timm publishes for each default pretrained tag. A sample across
families, including the ops that needed new formulas (as_strided_, linalg_vector_norm, eye); the whole
catalogue goes to the atlas."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from analyzers import analyze
from explorer.catalogue import Catalogue, CatalogueError, build, family, names

timm = pytest.importorskip("timm")
RESULTS = Path(__file__).resolve().parent.parent / "assets" / "atlas" / "timm-results-imagenet.csv"

SAMPLE = [
    "resnet18", "efficientnet_b0", "vit_tiny_patch16_224", "swin_tiny_patch4_window7_224", "levit_128s",
    "regnety_002", "convnext_femto",  # convnext: as_strided_
    "convnextv2_atto",  # GRN: linalg_vector_norm
    "bat_resnext26ts",  # eye
]


def flop_counter_macs(module: torch.nn.Module, shape: tuple[int, ...]) -> int:
    module.eval()  # as our analysis runs it (batch norm of one sample refuses training mode)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.empty(shape, device="meta"))
    return counter.get_total_flops() // 2


def published_params_m() -> dict[str, float]:
    import csv

    with open(RESULTS, encoding="utf-8") as file:
        return {row["model"]: float(row["param_count"].replace(",", "")) for row in csv.DictReader(file)}


@pytest.mark.parametrize("name", SAMPLE)
def test_macs_equal_flop_counter_and_nothing_is_uncounted(name: str) -> None:
    model = build(f"timm:{name}")
    config = model.module.pretrained_cfg
    assert model.input_size == tuple(config["input_size"])  # the default input is timm's own
    a = analyze(model.module, inputs=model.inputs)
    assert a.totals.macs == flop_counter_macs(model.module, (1, *model.input_size))
    assert a.totals.uncounted_ops == 0, a.uncounted
    assert a.totals.params == sum(p.numel() for p in model.module.parameters())
    published = published_params_m().get(f"{name}.{config['tag']}")
    if published is not None:  # timm's results table, in millions with two decimals
        assert round(a.totals.params / 1e6, 2) == published


def test_a_larger_default_input_comes_from_pretrained_cfg() -> None:
    model = build("timm:vit_base_patch16_384")
    assert model.input_size == (3, 384, 384)
    a = analyze(model.module, inputs=model.inputs)
    # patch embedding: (384/16)² = 576 patches · 768 · (16·16·3) = 339,738,624 MACs
    assert a.record("patch_embed.proj").macs == 576 * 768 * 16 * 16 * 3 == 339_738_624


def test_every_listed_name_is_known_with_its_module_as_family() -> None:
    listed = names(Catalogue.TIMM)
    assert listed == timm.list_models() and len(listed) > 1_000
    assert family(Catalogue.TIMM, "resnet50") == "resnet"
    assert family(Catalogue.TIMM, "vit_base_patch16_224") == "vision_transformer"
    with pytest.raises(CatalogueError, match="^timm has no model 'resnet51'; did you mean "):
        build("timm:resnet51")
