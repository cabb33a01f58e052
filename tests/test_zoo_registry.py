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


# --- typed, bounded options ------------------------------------------------------------------------------------

from explorer.zoo.build_options import Bounds, Option, OptionKind, options_of  # noqa: E402
from explorer.zoo.registry import option_specs  # noqa: E402


@pytest.mark.parametrize("name", ALL)
def test_every_option_of_every_entry_is_typed_and_bounded(name):
    for option in get_model_info(name).options:
        assert option.kind is not None, f"{name}: declare {option.name}'s range with register_model(bounds=...)"
        if option.kind in (OptionKind.INT, OptionKind.FLOAT):
            assert option.minimum is not None and option.maximum is not None and option.minimum <= option.maximum


@pytest.mark.parametrize(
    ("name", "option", "value", "message"),
    [
        ("efficientnet", "phi", "100", "efficientnet: phi must be a number from 0 to 7, got '100'"),
        ("efficientnet", "phi", "1e308", "efficientnet: phi must be a number from 0 to 7, got '1e308'"),
        ("efficientnet", "phi", "-1", "efficientnet: phi must be a number from 0 to 7, got '-1'"),
        ("mobilenet_v1", "width_mult", "inf", "mobilenet_v1: width_mult must be a number from 0.05 to 4, got 'inf'"),
        ("mobilenet_v1", "width_mult", "1e308", "mobilenet_v1: width_mult must be a number from 0.05 to 4, got "
         "'1e308'"),
        ("mobilenet_v1", "width_mult", "true", "mobilenet_v1: width_mult must be a number from 0.05 to 4, got 'true'"),
        ("mobilenet_v1", "width_mult", True, "mobilenet_v1: width_mult must be a number from 0.05 to 4, got True"),
        ("mobilenet_v2", "width_mult", float("nan"), "mobilenet_v2: width_mult must be a number from 0.05 to 4, got "
         "nan"),
        ("vgg16", "resolution", "abc", "vgg16: resolution must be a whole number from 1 to 2,048, got 'abc'"),
        ("vgg16", "resolution", "inf", "vgg16: resolution must be a whole number from 1 to 2,048, got 'inf'"),
        ("vgg16", "resolution", "nan", "vgg16: resolution must be a whole number from 1 to 2,048, got 'nan'"),
        ("vgg16", "resolution", "1.5", "vgg16: resolution must be a whole number from 1 to 2,048, got '1.5'"),
        ("vgg16", "resolution", 1.5, "vgg16: resolution must be a whole number from 1 to 2,048, got 1.5"),
        ("vgg16", "resolution", "4096", "vgg16: resolution must be a whole number from 1 to 2,048, got '4096'"),
        ("vgg16", "num_classes", "99999999999999999999999", "vgg16: num_classes must be a whole number from 1 to "
         "100,000, got '99999999999999999999999'"),
        ("vgg16", "num_classes", "0", "vgg16: num_classes must be a whole number from 1 to 100,000, got '0'"),
        ("googlenet", "aux_logits", "maybe", "googlenet: aux_logits must be true or false, got 'maybe'"),
        ("googlenet", "aux_logits", 1, "googlenet: aux_logits must be true or false, got 1"),
        ("vgg16", "num_classes", "\x1b[31m1", "vgg16: num_classes must be a whole number from 1 to 100,000, got "
         "'\\x1b[31m1'"),  # escaped, so a terminal never sees the control sequence
        ("vgg16", "width_mult", "2", "vgg16 does not take option(s) width_mult; allowed: num_classes, resolution"),
    ],
)
def test_bad_option_values_are_refused_in_one_line(name, option, value, message):
    with pytest.raises(BuildOptionError) as caught:
        build_model(name, **{option: value})
    assert str(caught.value) == message


def test_option_text_and_typed_values_are_converted_to_the_declared_type():
    # text from the command line and typed values from the app reach the builder as the same thing
    assert build_model("mobilenet_v1", width_mult="0.5").options == {"width_mult": 0.5}
    assert build_model("mobilenet_v1", width_mult=1).options == {"width_mult": 1.0}
    assert build_model("googlenet", aux_logits="TRUE").options == {"aux_logits": True}
    assert build_model("vgg16", num_classes="10", resolution=" 32 ").input_size == (3, 32, 32)
    # the bounds themselves are allowed: φ = 7 is B7's scale; round(224 · 1.15^7) = round(595.9) = 596
    assert build_model("efficientnet", phi="7").input_size == (3, 596, 596)


def test_option_specs_give_the_app_kinds_defaults_and_maxima():
    knobs = ("depth_mult", "width_mult")  # EfficientNet's one-dimension-at-a-time options, tested in test_scaling_knobs
    phi, num_classes, resolution = (o for o in option_specs("efficientnet") if o.name not in knobs)
    assert phi == Option("phi", OptionKind.FLOAT, 0.0, phi.help, 0.0, 7.0)
    assert (num_classes.kind, num_classes.default, num_classes.maximum) == (OptionKind.INT, 1000, 100_000)
    assert (resolution.name, resolution.default, resolution.maximum) == ("resolution", None, 2_048)
    assert [o.summary() for o in option_specs("googlenet")] == [
        "num_classes=1..100,000", "aux_logits=true|false", "resolution=1..2,048"]


def test_an_undeclared_option_is_fixed_at_its_default_and_cannot_be_set():
    def builder(*, depth_mult: float = 1.0, mode: str = "x", flag: bool = False) -> nn.Module:
        return nn.Identity()

    depth_mult, mode, flag, _ = options_of("demo", builder)
    assert depth_mult.kind is None and mode.kind is None  # no range / no choices declared: fixed
    assert flag.kind is OptionKind.BOOL  # true or false is bounded by its kind
    with pytest.raises(BuildOptionError, match="depth_mult cannot be set: it must be left at its default"):
        depth_mult.check("2")
    declared = options_of("demo", builder, {"depth_mult": Bounds("depth", 0.5, 2.0), "mode": Bounds("m", choices=("x", "y"))})
    assert declared[0].check("2") == 2.0 and declared[1].check("Y") == "y"


def largest_options(name: str) -> dict[str, object]:
    """Every option at the end of its range that makes the model biggest: numbers at their maximum, flags on."""
    largest: dict[str, object] = {}
    for option in option_specs(name):
        if option.kind in (OptionKind.INT, OptionKind.FLOAT):
            largest[option.name] = option.maximum
        elif option.kind is OptionKind.BOOL:
            largest[option.name] = not option.default if option.name == "plain" else True
        elif option.kind is OptionKind.CHOICE:
            largest[option.name] = option.choices[-1]
    return largest


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_the_largest_option_set_of_every_entry_builds_and_analyses_in_seconds(name):
    import time

    from analyzers.errors import UserError

    started = time.perf_counter()
    try:  # a model with a fixed-size classifier cannot take 2,048×2,048: that is a one-line error, also fine
        model = build_model(name, **largest_options(name))
        assert analyze(model.module, model.input_size).totals.params > 0
    except UserError as error:
        assert "\n" not in str(error)
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"{name} at {largest_options(name)} took {elapsed:.1f} s"  # ~5 s measured at worst
