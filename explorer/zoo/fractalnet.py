"""FractalNet (Larsson, Maire, Shakhnarovich 2016): ultra-deep networks without residual connections.

A fractal block is defined by its expansion rule (the paper's Eq. 1): f_1(z) = conv(z) and
f_{C+1}(z) = join(f_C(f_C(z)), conv(z)), where conv is 3×3 conv–BN–ReLU and join is the element-wise mean of its
inputs. Unrolled, a block of C columns has columns of 1, 2, 4, …, 2^(C−1) convolutions side by side (the deepest
path has 2^(C−1), the block 2^C − 1 in all), and the joins sit wherever two or more columns end at the same depth.
The notes' point: shallow and deep paths to the output, no identity shortcuts, and the network still trains.

CIFAR layout (§4): B = 5 blocks with 64, 128, 256, 512 and 512 filters, each followed by 2×2 max pooling; on a 32×32
input the last map is 1×1, then the classifier. Dropout and drop-path only act in training and cost nothing at
inference, so they are left out. Our 20-layer count is 33.7M parameters; the paper's Table 1 quotes 38.6M for its
20-layer net without saying what the difference is (conv biases would add only 10k).
"""

from __future__ import annotations

from torch import Tensor, nn

from explorer.zoo.build_options import Bounds
from explorer.zoo.layers import ConvNormActivation
from explorer.zoo.registry import Family, register_model

__all__ = ["CIFAR_CHANNELS", "FRACTAL_BOUNDS", "FractalBlock", "FractalNet", "Join", "deepest_path", "fractalnet"]

_LARSSON_2016 = "Larsson, Maire, Shakhnarovich, 2016"
CIFAR_CHANNELS = (64, 128, 256, 512, 512)  # Larsson et al. 2016, §4
FRACTAL_BOUNDS = {
    "columns": Bounds("columns C: the deepest path has 2^(C−1) convs per block (the paper uses 3 and 4)", 1, 5),
    "blocks": Bounds("fractal blocks B, each followed by 2×2 max pooling (5 on CIFAR's 32×32)", 1, 5),
}


def deepest_path(columns: int) -> int:
    """Convolutions on the longest path through one block: 2^(C−1)."""
    return 2 ** (columns - 1)


class Join(nn.Module):
    """The element-wise mean of its inputs (the paper's join layer), at inference with every path present.

    Written as k − 1 additions and one division per element rather than `stack(...).mean(0)`: the same numbers,
    no stacked copy of the inputs, and ops the analyzer's fast shape path knows.
    """

    def forward(self, *inputs: Tensor) -> Tensor:
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total / len(inputs)


class FractalBlock(nn.Module):
    """C columns of 1, 2, …, 2^(C−1) convs, joined wherever columns end together.

    Column j (0 = the shortest) has 2^j convs, each spanning 2^(C−1−j) of the deepest column's steps. Stepping
    through the deepest column's depth, every conv that ends at a step is computed; if several end there, they
    are joined and the mean feeds every one of those columns onward: exactly the expansion rule, unrolled.
    """

    def __init__(self, in_channels: int, out_channels: int, columns: int) -> None:
        super().__init__()
        if columns < 1:
            raise ValueError(f"columns must be at least 1, got {columns}")
        self.num_columns = columns
        self.depth = deepest_path(columns)
        self.columns = nn.ModuleList(
            nn.Sequential(*(ConvNormActivation(in_channels if i == 0 else out_channels, out_channels) for i in range(2**j)))
            for j in range(columns)
        )
        joins = sum(1 for step in range(1, self.depth + 1) if len(self._ending(step)) > 1)
        self.joins = nn.ModuleList(Join() for _ in range(joins))

    def _ending(self, step: int) -> list[int]:
        """Columns whose conv ends at this step (1-based) of the deepest column."""
        return [j for j in range(self.num_columns) if step % (self.depth // 2**j) == 0]

    def forward(self, x: Tensor) -> Tensor:
        inputs = [x] * self.num_columns  # what each column's next conv reads
        joins = iter(self.joins)
        for step in range(1, self.depth + 1):
            ending = self._ending(step)
            outputs = [self.columns[j][step // (self.depth // 2**j) - 1](inputs[j]) for j in ending]
            merged = outputs[0] if len(outputs) == 1 else next(joins)(*outputs)
            for j in ending:
                inputs[j] = merged
        return inputs[0]


class FractalNet(nn.Module):
    """B fractal blocks, each followed by 2×2 max pooling, then global average pooling and a linear classifier.

    On 32×32 inputs with B = 5 the last map is already 1×1, so the global pool only makes other resolutions work.
    """

    def __init__(self, *, blocks: int = 5, columns: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        if not 1 <= blocks <= len(CIFAR_CHANNELS):
            raise ValueError(f"blocks must be 1 to {len(CIFAR_CHANNELS)} (channels {CIFAR_CHANNELS}), got {blocks}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        layers: list[nn.Module] = []
        channels = 3
        for width in CIFAR_CHANNELS[:blocks]:
            layers += [FractalBlock(channels, width, columns), nn.MaxPool2d(2)]
            channels = width
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.flatten(self.avgpool(self.features(x))))


@register_model(
    "fractalnet",
    family=Family.FRACTALNET,
    input_size=(3, 32, 32),
    paper=_LARSSON_2016,
    description="FractalNet with both knobs: C columns per block (the deepest path 2^(C−1) convs, joined by "
    "element-wise means) and B blocks with 64, 128, 256, 512, 512 filters, each followed by max pooling. "
    "No residual connections anywhere.",
    bounds=FRACTAL_BOUNDS,
)
def fractalnet(*, columns: int = 3, blocks: int = 5, num_classes: int = 10) -> nn.Module:
    return FractalNet(blocks=blocks, columns=columns, num_classes=num_classes)


def _register(columns: int) -> None:
    layers = 5 * deepest_path(columns)

    def build(*, num_classes: int = 10) -> nn.Module:
        return FractalNet(blocks=5, columns=columns, num_classes=num_classes)

    build.__name__ = build.__qualname__ = f"fractalnet{layers}_cifar"
    register_model(
        build.__name__,
        family=Family.FRACTALNET,
        input_size=(3, 32, 32),
        paper=_LARSSON_2016,
        description=f"The paper's {layers}-layer CIFAR FractalNet: 5 blocks of C = {columns} columns "
        f"({2**columns - 1} convs per block, {deepest_path(columns)} on the deepest path), shallow and deep "
        "paths averaged at the joins instead of residual additions.",
    )(build)


for _columns in (3, 4):
    _register(_columns)
