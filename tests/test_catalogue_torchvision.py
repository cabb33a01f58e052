"""torchvision's catalogue for real (torchvision 0.29.1): models built on meta as their default weights describe
them, counted against what torchvision publishes in each weights' meta (`num_params`, `_ops` = conv + linear
GMACs at the eval crop, batch 1). A sample across tasks; the whole catalogue goes to the atlas."""

from __future__ import annotations

import pytest
import torch

from analyzers import analyze
from analyzers.counting.inputs import InputSpec
from analyzers.errors import DataDependentError
from explorer.catalogue import Catalogue, CatalogueError, Task, build, family, inputs_at, names

models = pytest.importorskip("torchvision").models


def published(name: str) -> tuple[int, float]:
    meta = models.get_model_weights(name).DEFAULT.meta
    return meta["num_params"], meta["_ops"]


@pytest.mark.parametrize("name, input_size", [
    ("resnet18", (3, 224, 224)),
    ("inception_v3", (3, 299, 299)),  # Inception_V3_Weights: crop 299
    ("googlenet", (3, 224, 224)),  # built without the aux heads its weights drop: 6,624,904 params
    ("regnet_y_400mf", (3, 224, 224)),  # its builder reads widths back from tensors: built with init skipped
    ("vit_h_14", (3, 518, 518)),  # the SWAG weights' image_size
    ("swin_v2_t", (3, 256, 256)),
    ("r3d_18", (3, 16, 112, 112)),  # a 16-frame clip, C×T×H×W
    ("quantized_mobilenet_v3_large", (3, 224, 224)),
])
def test_params_and_gmacs_equal_the_weights_meta(name: str, input_size: tuple[int, ...]) -> None:
    model = build(f"torchvision:{name}")
    assert model.input_size == input_size
    assert next(model.module.parameters()).is_meta  # no weights were made
    a = analyze(model.module, inputs=model.inputs)
    params, gmacs = published(name)
    assert a.totals.params == params == model.published.params
    assert round(a.totals.macs / 1e9, 3) == gmacs
    assert a.totals.uncounted_ops == 0


def test_segmentation_keeps_the_aux_classifier_its_weights_carry() -> None:
    model = build("torchvision:fcn_resnet50")
    assert model.task is Task.SEGMENTATION and model.input_size == (3, 520, 520)  # resize_size=520
    assert sum(p.numel() for p in model.module.parameters()) == published("fcn_resnet50")[0] == 35_322_218


def test_detection_is_data_dependent_and_runs_once_on_the_cpu() -> None:
    model = build("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn")
    assert model.task is Task.DETECTION and model.data_dependent
    # frozen batch norms in the backbone, as the trained weights have them: num_params matches
    assert sum(p.numel() for p in model.module.parameters()) == published(model.ref.partition(":")[2])[0]
    with pytest.raises(DataDependentError, match=r"torch\.nonzero\(\).*--device cpu"):
        analyze(model.module, inputs=model.inputs)
    model.module.transform.min_size, model.module.transform.max_size = (64,), 64  # a small input keeps this quick
    a = analyze(model.module, inputs=inputs_at(model, (3, 64, 64)), device="cpu")
    assert a.caveat == "data-dependent: measured on one random input" and a.inputs[0].name == "images[0]"
    backbone = analyze(model.module.backbone, inputs=InputSpec((1, 3, 64, 64)))  # what the 64×64 image feeds
    assert a.totals.macs > backbone.totals.macs > 0  # the RPN and box heads add to the backbone
    assert a.totals.uncounted_ops == 0  # nms, roi_align, topk, nonzero all have formulas
    assert next(model.module.parameters()).is_meta  # random CPU stand-ins; the model is untouched


def test_optical_flow_takes_two_frames() -> None:
    model = build("torchvision:raft_small")
    assert model.task is Task.OPTICAL_FLOW and len(model.inputs) == 2
    a = analyze(model.module, inputs=inputs_at(model, (3, 128, 128)))
    assert a.totals.params == published("raft_small")[0] == 990_162
    assert [i.name for i in a.inputs] == ["image1", "image2"] and a.totals.uncounted_ops == 0


def test_every_listed_name_has_a_family_and_unknown_names_are_one_line() -> None:
    listed = names(Catalogue.TORCHVISION)
    assert len(listed) == len(models.list_models()) and "resnet50" in listed
    assert family(Catalogue.TORCHVISION, "fasterrcnn_resnet50_fpn") == "detection.faster_rcnn"
    with pytest.raises(CatalogueError, match="^torchvision has no model 'resnet51'; did you mean resnet50"):
        build("torchvision:resnet51")
    with pytest.raises(CatalogueError, match="needs a model name"):
        build("torchvision:")


def test_a_detection_backbone_is_never_downloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    build("torchvision:fasterrcnn_resnet50_fpn")  # weights_backbone=None
    build("torchvision:fcn_resnet50")
