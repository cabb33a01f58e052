"""Several inputs with their own dtypes, list inputs, data-dependent forwards run once on the CPU.

Every count below is worked by hand from the layer sizes (MACs of a linear layer = tokens · in · out, of a 1×1
conv = H·W · C_out · C_in).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from analyzers import analyze
from analyzers.counting.inputs import InputSpec, parse_input_spec
from analyzers.errors import DataDependentError, InputMismatchError, InputSizeError
from analyzers.records import DATA_DEPENDENT


class TokensAndMask(nn.Module):
    """A text model in miniature: token ids (int64) looked up in a table, a float mask, one linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.head = nn.Linear(4, 3)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(input_ids) * attention_mask.unsqueeze(-1))


class ImageList(nn.Module):
    """Takes a list of images of different sizes, as torchvision's detection models do."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1, bias=False)

    def forward(self, images: list[torch.Tensor]) -> list[torch.Tensor]:
        return [self.conv(image.unsqueeze(0)) for image in images]


class KeepsPositive(nn.Module):
    """Its work depends on the data: a boolean mask selects the positive values (a nonzero underneath)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        return y[y > 0]


def test_named_integer_and_float_inputs_keep_the_weights_float() -> None:
    a = analyze(TokensAndMask(), inputs={"input_ids": InputSpec((2, 5), torch.int64),
                                         "attention_mask": InputSpec((2, 5))})
    # linear over 2·5 tokens: 10 · 4 · 3 = 120 MACs
    assert a.totals.macs == 120
    # weights stay float32: (10·4 + 4·3 + 3) = 55 params · 4 bytes
    assert (a.totals.params, a.totals.param_bytes) == (55, 220)
    assert [(i.name, i.shape, i.dtype) for i in a.inputs] == [
        ("input_ids", (2, 5), torch.int64), ("attention_mask", (2, 5), torch.float32)]
    assert (a.batch_size, a.input_size, a.measured_on, a.caveat) == (2, (5,), "meta", None)


def test_an_integer_dtype_in_the_old_api_makes_integer_inputs_not_integer_weights() -> None:
    class Lookup(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.embed(ids)

    a = analyze(Lookup(), (7,), dtype=torch.long)
    assert a.inputs[0].dtype == torch.int64 and a.dtype == torch.float32
    assert a.totals.param_bytes == 10 * 4 * 4  # 40 float32 weights


def test_a_list_of_images_of_different_sizes() -> None:
    a = analyze(ImageList(), inputs=([InputSpec((3, 4, 4)), InputSpec((3, 2, 2))],))
    # 1×1 conv 3 → 2: 4·4·2·3 = 96 plus 2·2·2·3 = 24
    assert a.totals.macs == 120
    assert [i.name for i in a.inputs] == ["images[0]", "images[1]"]


def test_inputs_that_do_not_fit_name_the_forward_parameters() -> None:
    with pytest.raises(InputMismatchError, match=r"TokensAndMask\.forward\(input_ids, attention_mask\)"):
        analyze(TokensAndMask(), inputs={"pixel_values": InputSpec((1, 3, 8, 8))})
    with pytest.raises(InputSizeError, match="either input_size or inputs"):
        analyze(TokensAndMask(), (5,), inputs={"input_ids": InputSpec((1, 5), torch.int64)})


def test_a_float_image_into_a_text_model_names_its_parameters() -> None:
    with pytest.raises(InputMismatchError, match=r"forward\(input_ids, attention_mask\)"):
        analyze(TokensAndMask(), inputs=(InputSpec((1, 5)), InputSpec((1, 5))))  # float ids: embedding refuses


def test_a_data_dependent_forward_says_so_and_runs_on_the_cpu_when_asked() -> None:
    with pytest.raises(DataDependentError, match="--device cpu"):
        analyze(KeepsPositive(), (4,))
    with torch.device("meta"):
        on_meta = KeepsPositive()  # no weights at all: the CPU run makes random ones
    a = analyze(on_meta, (4,), 3, device="cpu")
    assert a.totals.macs == 3 * 4 * 4  # the linear layer, whatever the mask selects afterwards
    assert (a.measured_on, a.data_dependent, a.caveat) == ("cpu", True, DATA_DEPENDENT)
    assert DATA_DEPENDENT == "data-dependent: measured on one random input"
    assert next(on_meta.parameters()).is_meta  # the model is left as it was


def test_receptive_fields_start_at_float_images_only() -> None:
    class Conv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x.float())

    image = analyze(Conv(), (1, 8, 8))
    assert image.record("conv").receptive_field.size == (3, 3)
    labels = analyze(Conv(), inputs=InputSpec((1, 1, 8, 8), torch.int64))  # an integer map is not an image
    assert labels.record("conv").receptive_field is None
    assert labels.record("conv").macs == 6 * 6 * 9


def test_parse_input_spec() -> None:
    assert parse_input_spec("input_ids=int64:1x128") == ("input_ids", InputSpec((1, 128), torch.int64))
    assert parse_input_spec("1x3x224x224") == (None, InputSpec((1, 3, 224, 224)))
    assert parse_input_spec("pixel_values=bf16:2×3×32×32") == ("pixel_values", InputSpec((2, 3, 32, 32),
                                                                                          torch.bfloat16))
    for bad, message in [("ids=int65:1x8", "unknown dtype"), ("ids=int64:1xA", "NAME=DTYPE:SHAPE"),
                         ("2ids=int64:1x8", "not a Python name"), ("ids=int64:0x8", "positive")]:
        with pytest.raises(InputSizeError, match=message):
            parse_input_spec(bad)
