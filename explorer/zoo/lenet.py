"""LeNet-5: the seeds' modern reading (`lenet5`) and the network of the 1998 paper (`lenet5_1998`).

The paper version keeps every detail that makes its parameter count differ from the modern one: trainable
subsampling layers, C3's partial connection table, the scaled-tanh squashing function and the fixed RBF output.
Its trainable parameters come out exactly as the paper counts them: 156 + 12 + 1,516 + 32 + 48,120 + 10,164 = 60,000.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

import torch
from torch import nn

from explorer.zoo.registry import Family, register_model

__all__ = [
    "C3_CONNECTIONS", "EuclideanRBF", "LeNet5", "LeNet5Paper", "PartiallyConnectedConv2d", "ScaledTanh", "Subsampling",
    "lenet5", "lenet5_1998",
]

_PAPER = "LeCun, Bottou, Bengio & Haffner, 1998"

# LeCun et al. 1998, Table I: the S2 maps (0–5) that each of C3's 16 maps reads. The first six read three contiguous
# maps, the next six four contiguous maps, the next three four non-contiguous maps, and the last one all six.
C3_CONNECTIONS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


class ScaledTanh(nn.Module):
    """The paper's squashing function f(a) = A·tanh(S·a), A = 1.7159, S = 2/3 (LeCun et al. 1998, Appendix A)."""

    def __init__(self, amplitude: float = 1.7159, slope: float = 2 / 3) -> None:
        super().__init__()
        self.amplitude = amplitude
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)

    def extra_repr(self) -> str:
        return f"amplitude={self.amplitude}, slope={self.slope:.4f}"


class Subsampling(nn.Sequential):
    """S2 / S4: each map sums its 2×2 blocks, times one trainable coefficient plus one trainable bias per map.

    The coefficient and bias are a depthwise 1×1 convolution, so a map costs exactly 2 parameters.
    """

    def __init__(self, channels: int) -> None:
        super().__init__(
            OrderedDict(
                sum=nn.AvgPool2d(kernel_size=2, stride=2, divisor_override=1),  # the sum of the four inputs
                scale=nn.Conv2d(channels, channels, kernel_size=1, groups=channels),
            )
        )


class PartiallyConnectedConv2d(nn.Module):
    """A convolution where each output map reads only the input maps its connection table lists.

    Consecutive output maps with the same number of inputs become one grouped convolution over their gathered
    inputs, so the module holds exactly the weights the table asks for (no masked dense weight).
    """

    def __init__(self, connections: tuple[tuple[int, ...], ...], kernel_size: int) -> None:
        super().__init__()
        self.connections = connections
        self.run_names: list[str] = []
        first = 0
        for fan_in, grouped in itertools.groupby(connections, key=len):
            run = list(grouped)
            maps = len(run)
            name = f"maps_{first}_{first + maps - 1}" if maps > 1 else f"map_{first}"
            self.add_module(name, nn.Conv2d(fan_in * maps, maps, kernel_size=kernel_size, groups=maps))
            gathered = [i for inputs in run for i in inputs]
            self.register_buffer(f"{name}_inputs", torch.tensor(gathered, dtype=torch.long), persistent=False)
            self.run_names.append(name)
            first += maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [
            self._modules[name](torch.index_select(x, 1, getattr(self, f"{name}_inputs"))) for name in self.run_names
        ]
        return torch.cat(outputs, dim=1)


class EuclideanRBF(nn.Module):
    """The paper's output layer: y_i = Σ_j (x_j − w_ij)², one unit per class, with fixed (untrained) centres w_i.

    The paper draws each centre as a 7×12 bitmap of ±1 values; we use a fixed, seeded ±1 code of the same size.
    The centres are parameters with `requires_grad=False`: counted as parameters, never as trainable ones.
    """

    def __init__(self, in_features: int = 84, classes: int = 10) -> None:
        super().__init__()
        self.centers = nn.Parameter(torch.empty(classes, in_features), requires_grad=False)
        code = torch.randint(0, 2, (classes, in_features), generator=torch.Generator().manual_seed(1998), device="cpu")
        with torch.no_grad():
            self.centers.copy_(code * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.unsqueeze(1) - self.centers).pow(2).sum(dim=-1)


class LeNet5(nn.Sequential):
    """The seeds' LeNet-5 with modern choices: ReLU, average pooling, a softmax-ready 10-way linear output."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__(
            OrderedDict(
                conv1=nn.Conv2d(1, 6, kernel_size=5),  # 32 → 28, valid
                relu1=nn.ReLU(inplace=True),
                pool1=nn.AvgPool2d(kernel_size=2, stride=2),  # 28 → 14
                conv2=nn.Conv2d(6, 16, kernel_size=5),  # 14 → 10
                relu2=nn.ReLU(inplace=True),
                pool2=nn.AvgPool2d(kernel_size=2, stride=2),  # 10 → 5
                flatten=nn.Flatten(),  # 5·5·16 = 400
                fc1=nn.Linear(400, 120),
                relu3=nn.ReLU(inplace=True),
                fc2=nn.Linear(120, 84),
                relu4=nn.ReLU(inplace=True),
                fc3=nn.Linear(84, num_classes),
            )
        )


class LeNet5Paper(nn.Sequential):
    """LeNet-5 as LeCun et al. 1998 built it (Section II.B): every layer up to F6 is followed by the scaled tanh."""

    def __init__(self) -> None:
        super().__init__(
            OrderedDict(
                c1=nn.Conv2d(1, 6, kernel_size=5),  # (5·5+1)·6 = 156
                c1_squash=ScaledTanh(),
                s2=Subsampling(6),  # 2·6 = 12
                s2_squash=ScaledTanh(),
                c3=PartiallyConnectedConv2d(C3_CONNECTIONS, kernel_size=5),  # 6·76 + 9·101 + 151 = 1,516
                c3_squash=ScaledTanh(),
                s4=Subsampling(16),  # 2·16 = 32
                s4_squash=ScaledTanh(),
                c5=nn.Conv2d(16, 120, kernel_size=5),  # (5·5·16+1)·120 = 48,120
                c5_squash=ScaledTanh(),
                flatten=nn.Flatten(),
                f6=nn.Linear(120, 84),  # (120+1)·84 = 10,164
                f6_squash=ScaledTanh(),
                output=EuclideanRBF(84, 10),  # 840 fixed, untrained
            )
        )


@register_model(
    "lenet5",
    family=Family.LENET,
    input_size=(1, 32, 32),
    paper=_PAPER,
    description="The seeds' modern LeNet-5 for 32×32×1 digits: 6 then 16 valid 5×5 filters, each followed by 2×2 "
    "average pooling (32→28→14→10→5), then 400→120→84 fully connected units and a 10-way softmax; about 60 "
    "thousand parameters, while height and width shrink and channels grow.",
)
def lenet5(*, num_classes: int = 10) -> nn.Module:
    return LeNet5(num_classes=num_classes)


@register_model(
    "lenet5_1998",
    family=Family.LENET,
    input_size=(1, 32, 32),
    paper=_PAPER,
    description="LeNet-5 as the 1998 paper wired it, with the quirks the seeds call funny by modern standards: "
    "tanh-type squashing after every layer (including the subsampling ones, which have a trainable coefficient and "
    "bias per map), C3 maps that each look at only some of S2's maps, and a fixed Euclidean RBF output; exactly "
    "60,000 trainable parameters.",
)
def lenet5_1998() -> nn.Module:
    return LeNet5Paper()
