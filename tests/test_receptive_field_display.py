"""Receptive fields that never mislead (issue 25): attention covers the whole input, a field is never claimed from
one operand of an add whose other operand is not tracked, local response norm keeps its field, and a field larger
than the input is shown clipped to it with the theoretical size beside it, labelled.

Hand derivations: a CIFAR ResNet with n basic blocks per stage grows the field by 2·jump per 3×3 conv: 3 after the
stem; stage 1 (jump 1) + 4 per block; stage 2 opens with a stride-2 conv (+2, jump 2) then +4, +8 per further block;
stage 3 likewise (+4, jump 4, +8, +16 per block). n = 18 (ResNet-110): 3 + 72 = 75; 77, 81, + 17·8 → 217;
221, 229, + 17·16 → 501. n = 200 (ResNet-1202): 803; 805, 809, + 199·8 → 2401; 2405, 2413, + 199·16 → 5597.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analyzers import analyze
from explorer.figures.receptive_field import receptive_field_chart
from explorer.ui.selection import selected_key
from explorer.zoo import build_model

PAGES = Path(__file__).resolve().parents[1] / "explorer" / "pages"


def library(ref: str):
    pytest.importorskip("timm")
    from explorer.catalogue import build

    model = build(ref)
    return analyze(model.module, inputs=model.inputs)


@pytest.mark.parametrize("ref", ["torchvision:vit_b_16", "timm:vit_small_patch16_224"])
def test_a_vit_block_sees_the_whole_input_after_self_attention(ref: str) -> None:
    """The patch embedding sees its 16×16 patch; every encoder block after self-attention sees the whole input."""
    a = library(ref)
    patch = next(r for r in a.leaves() if r.conv is not None)
    assert patch.receptive_field.size == (16, 16)
    blocks = [r for r in a.records if not r.is_leaf and r.type in ("EncoderBlock", "Block")]
    assert len(blocks) == 12
    assert all(b.receptive_field is not None and b.receptive_field.covers_input for b in blocks)


def test_window_attention_claims_no_field_rather_than_the_patch() -> None:
    """Swin's window partition is a reshape the engine cannot follow: a block claims nothing (it used to claim the
    4-pixel patch of its shortcut)."""
    a = library("torchvision:swin_t")
    block = a.record("features.1.0")
    assert block.receptive_field is None


def test_local_response_norm_keeps_the_field() -> None:
    """AlexNet's LRN pools across channels only: conv1's 11 px stays 11 px, pool1 then makes it 11 + 2·4 = 19."""
    model = build_model("alexnet_2012", device="meta")
    a = analyze(model.module, model.input_size)
    assert a.record("norm1").receptive_field.size == (11, 11)
    assert a.record("pool1").receptive_field.size == (19, 19)


def test_a_field_past_the_input_is_clipped_with_the_theoretical_size_beside_it() -> None:
    """ResNet-1202's last conv on a 32×32 CIFAR image: theoretical 5597 px (docstring), shown as 32×32 clipped."""
    at = AppTest.from_file(str(PAGES / "architecture.py"), default_timeout=240)
    at.query_params.update(model="resnet1202_cifar")
    at.run()
    at.session_state[selected_key("arch_resnet1202_cifar")] = "layer3.199.conv2"
    at.run()
    assert not at.exception
    panel = "\n".join(m.value for m in at.markdown).replace("\\", "")
    assert ("Receptive field: **32×32 input pixels (clipped to the 32×32 input; theoretical 5597×5597), jump 4**"
            in panel)


def test_the_table_shows_the_clipped_field_and_the_theoretical_one() -> None:
    from explorer.figures.field_text import field_cell

    assert field_cell("501", (32, 32)) == "32 (theoretical 501)"
    assert field_cell("11", (224, 224)) == "11"
    assert field_cell("whole input", (32, 32)) == "whole input"


def test_the_chart_clips_to_the_input_and_marks_the_attention_that_covers_it() -> None:
    """ResNet-110 on CIFAR: no point above the input's 32 px, the last conv's hollow (clipped); a ViT gets its
    patch conv and a 'whole input' star per attention, on whole-number ticks."""
    model = build_model("resnet110_cifar", device="meta")
    fig = receptive_field_chart(analyze(model.module, model.input_size))
    conv = next(t for t in fig.data if t.name == "conv")
    assert max(conv.y) == 32 and conv.marker.symbol[-1] == "circle-open"
    assert "theoretical 501 px" in conv.hovertext[-1]
    vit = receptive_field_chart(library("torchvision:vit_b_16"))
    (patch,) = [t for t in vit.data if t.name == "conv"]
    whole = next(t for t in vit.data if t.name == "whole input")
    assert list(patch.y) == [16] and len(whole.x) == 12 and set(whole.y) == {224}
    assert vit.layout.xaxis.tickformat == "d"  # whole layers only
    lenet = build_model("lenet5", device="meta")
    assert receptive_field_chart(analyze(lenet.module, lenet.input_size)).layout.xaxis.dtick == 1  # no 0.5 ticks
