"""Every view for every source the picker offers (issue 25): a torchvision / timm model on the Architecture page gets
an input size, a precision, the Training view and the fvcore check like a zoo model; the Transfer page offers every
model; builder options out of range are said, never a traceback. Streamlit AppTest, no browser.

Expected numbers come from the libraries themselves (FlopCounterMode on the real timm model, parameter counts).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch.utils.flop_counter import FlopCounterMode

from analyzers import analyze
from explorer.zoo import build_model

pytest.importorskip("timm")
PAGES = Path(__file__).resolve().parents[1] / "explorer" / "pages"
TIMEOUT_S = 240


def architecture(**query: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / "architecture.py"), default_timeout=TIMEOUT_S)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def real_macs(model: torch.nn.Module, size: tuple[int, ...]) -> int:
    """MACs of a real forward as torch counts them (FLOPs / 2), no weights trained: the library's own model."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, *size))
    return counter.get_total_flops() // 2


def test_a_timm_model_from_the_address_gets_an_input_size() -> None:
    """`?model=timm:resnet18` opens the timm source on that model; 3×128×128 typed into H and W is analysed:
    the MACs equal torch's FlopCounterMode on timm's own resnet18 at 128×128 (it has no attention)."""
    import timm

    at = architecture(model="timm:resnet18")
    assert at.title[0].value == "timm:resnet18"
    assert at.radio(key="arch_source").value == "timm"
    at.text_input(key="arch_timm:resnet18_224_h").input("128").run()
    at.text_input(key="arch_timm:resnet18_224_w").input("128").run()
    assert not at.exception
    expected = real_macs(timm.create_model("resnet18", pretrained=False), (3, 128, 128))
    assert f"**{expected:,}** MACs" in captions(at)
    assert "input 128×128×3, batch 1, float32" in captions(at)


def test_precision_sets_the_activation_and_weight_bytes() -> None:
    """VGG-16 in bf16: every activation and weight takes 2 bytes, half of fp32's 4; counts do not change."""
    at = architecture(model="vgg16")
    at.selectbox(key="arch_dtype").select("bf16").run()
    assert not at.exception
    model = build_model("vgg16", device="meta")
    fp32 = analyze(model.module, (3, 224, 224)).totals
    cards = {m.label: m for m in at.metric}
    assert f"{2 * fp32.activation_elements:,} bytes" in cards["Activations, MiB"].proto.help
    assert f"**{fp32.macs:,}** MACs" in captions(at) and "bfloat16" in captions(at)
    assert "MiB of weights (bfloat16)" in cards["Parameters"].proto.help


def test_a_library_model_gets_the_training_view_and_the_fvcore_check() -> None:
    """timm:resnet18 at 64×64: the Training view counts its 11,689,512 parameters (timm's own count) as trainable;
    the fvcore button is on, and its count of conv and linear MACs equals FlopCounterMode's on timm's model."""
    import timm

    reference = timm.create_model("resnet18", pretrained=False)
    at = architecture(model="timm:resnet18")
    at.text_input(key="arch_timm:resnet18_224_h").input("64").run()
    at.text_input(key="arch_timm:resnet18_224_w").input("64").run()
    next(t for t in at.toggle if "training step" in t.label).set_value(True).run()
    assert not at.exception
    trainable = {m.label: m for m in at.metric}["Trainable params"]
    assert trainable.proto.help == f"{sum(p.numel() for p in reference.parameters()):,} of 11,689,512"
    at.button(key="arch_timm:resnet18_fvcore").click().run()
    assert not at.exception
    fvcore = {m.label: m.value for m in at.metric}["fvcore conv/linear/matmul"]
    assert fvcore == f"{real_macs(reference, (3, 64, 64)):,}"


def test_transfer_offers_library_models() -> None:
    """timm:resnet18 frozen through its last stage: only the head trains, 512·1000 + 1000 = 513,000 parameters."""
    at = AppTest.from_file(str(PAGES / "transfer.py"), default_timeout=TIMEOUT_S).run()
    at.radio(key="transfer_source").set_value("timm").run()
    at.selectbox(key="transfer_timm_All families_model").select("resnet18").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="transfer_classes").disabled  # a library model keeps its own head
    assert {m.label: m for m in at.metric}["Trainable params"].proto.help.startswith("513,000 of ")


@pytest.mark.parametrize(("text", "message"), [
    ("100", "phi = 100 is out of range (a number from 0 to 7)"),
    ("x", "phi = 'x' is not a number (a number from 0 to 7)")])
def test_an_out_of_range_builder_option_is_said_not_raised(text: str, message: str) -> None:
    """EfficientNet's φ is 0–7 (φ = 100 would ask for 8·10⁷× B0's depth): said once, nothing analysed."""
    at = architecture(model="efficientnet")
    at.text_input(key="arch_efficientnet_phi").input(text).run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"{message}. Nothing is analysed until it is."]
    assert not at.metric and not at.get("plotly_chart")


def test_transfer_entries_over_the_limit_show_no_old_numbers() -> None:
    """A batch of 5,000 (over 4,096) is said, and no metric computed for the previous batch stays beside it."""
    at = AppTest.from_file(str(PAGES / "transfer.py"), default_timeout=TIMEOUT_S).run()
    assert at.metric
    at.text_input(key="transfer_batch").input("5000").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Batch = 5,000 is out of range (allowed: whole numbers 1–4,096). Nothing is analysed until it is."]
    assert not at.metric


def test_a_data_dependent_model_offers_the_cpu_run_as_a_button() -> None:
    """Faster R-CNN keeps the boxes that score highest, so meta (shapes only) cannot count it: the page says so in
    its own words (no command-line flag) and offers one CPU run on random data, whose numbers are labelled."""
    at = architecture(model="torchvision:fasterrcnn_mobilenet_v3_large_320_fpn")
    (error,) = at.error
    assert "--device" not in error.value and "cannot count it" in error.value
    at.button(key="arch_torchvision:fasterrcnn_mobilenet_v3_large_320_fpn_on_cpu_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert any("data-dependent: measured on one random input" in w.value for w in at.warning)
    assert at.metric
