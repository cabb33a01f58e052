"""The Architecture page's receptive-field chart reads the typed analysis: one point per conv / pooling layer."""

from analyzers import analyze
from explorer.figures.receptive_field import receptive_field_chart
from explorer.zoo import build_model


def chart(name: str):
    model = build_model(name)
    return receptive_field_chart(analyze(model.module, model.input_size))


def test_vgg16_points_are_the_fields_of_its_13_convs():
    fig = chart("vgg16")
    conv = next(t for t in fig.data if t.name == "conv")
    # stage by stage, + 2·jump per 3×3 conv (see test_engine_v2): 3, 5 | 10, 14 | 24, 32, 40 | 60, 76, 92 | 132, 164, 196
    assert list(conv.y) == [3, 5, 10, 14, 24, 32, 40, 60, 76, 92, 132, 164, 196]
    assert list(conv.x) == list(range(1, 14))  # the k-th conv is the k-th weight layer
    assert fig.layout.yaxis.type == "log"


def test_global_pooling_is_marked_as_seeing_the_whole_input():
    fig = chart("resnet50")
    whole = next(t for t in fig.data if t.name == "whole input")
    assert list(whole.customdata) == ["avgpool"]
    assert list(whole.y) == [224]
