"""The zoo registry: lookup, filters, options, metadata, loud duplicates, and every entry analysed at its default."""

import pytest
from torch import nn

from analyzers import analyze
from explorer.zoo import BuildOptionError, Family, UnknownModelError, build_model, get_model_info, list_models
from explorer.zoo.registry import register_model

ALL = [m.name for m in list_models()]


@pytest.mark.parametrize("name", ALL)
def test_every_entry_analyses_at_its_default_input_with_nothing_uncounted(name):
    model = build_model(name)
    analysis = analyze(model.module, model.input_size)
    assert analysis.totals.uncounted_ops == 0, analysis.uncounted
    assert analysis.totals.macs > 0 and analysis.totals.params > 0
    assert all(p.is_meta for p in model.module.parameters())  # built without allocating weights


@pytest.mark.parametrize("name", ALL)
def test_every_entry_carries_its_metadata(name):
    info = get_model_info(name)
    assert isinstance(info.family, Family)
    assert info.paper and any(ch.isdigit() for ch in info.paper)  # "Authors, year"
    assert len(info.description) > 40
    assert len(info.input_size) == 3 and all(d > 0 for d in info.input_size)
    if info.top1 is not None:
        assert 50 < info.top1 < 90 and info.top1_source


def test_a_duplicate_name_fails_loudly():
    with pytest.raises(ValueError, match="registered twice"):
        register_model("lenet5", family=Family.LENET, input_size=(1, 32, 32), paper="x, 1998",
                       description="a second lenet5")(lambda: nn.Identity())


def test_filters_by_family_and_name():
    assert {m.name for m in list_models(family="mobilenet")} == {
        "mobilenet_v1", "mobilenet_v2", "depthwise_separable_block", "mobilenet_v2_block"}
    assert [m.name for m in list_models(family=Family.VGG, name_contains="19")] == ["vgg19", "vgg19_bn"]
    assert all(m.family is Family.SEED_BLOCK for m in list_models(family="Seed examples"))


def test_unknown_names_suggest_the_closest():
    with pytest.raises(UnknownModelError, match="did you mean resnet50"):
        get_model_info("resnet5")


def test_options_are_keyword_only_and_checked():
    slim = build_model("mobilenet_v1", width_mult=0.5, resolution=160)
    assert slim.input_size == (3, 160, 160)
    assert build_model("efficientnet", phi=1).input_size == (3, 258, 258)  # round(224 · 1.15)
    assert build_model("vgg16", num_classes=10).module.classifier[-1].out_features == 10
    with pytest.raises(BuildOptionError, match="does not take option"):
        build_model("vgg16", width_mult=2)
