"""Named example specs for the docs and the Design page; each one is a zoo entry written as text.

The tests check that each example reproduces its zoo twin's parameters, shapes and MACs exactly, so the
examples double as proof that the language can say what the zoo's code says.
"""

from __future__ import annotations

__all__ = [
    "ALEXNET_2012", "DEPTHWISE_SEPARABLE", "EXAMPLES", "FRACTAL_BLOCK", "INCEPTION_MODULE", "LENET5",
    "MOBILENET_V2_BOTTLENECK", "RESIDUAL_BLOCK", "RESIDUAL_BLOCK_PROJECTION", "VGG16", "ZOO_TWINS", "ZOO_TWIN_OPTIONS",
]

LENET5 = """\
name LeNet-5
# the notes' modern LeNet-5 (zoo: lenet5), with the softmax they draw at the output
input 32x32x1
conv 6 5x5 s1 valid relu   # 32 → 28
avgpool 2 s2               # 28 → 14
conv 16 5x5 relu           # 14 → 10
avgpool 2 s2               # 10 → 5
flatten                    # 5·5·16 = 400
fc 120 relu
fc 84 relu
fc 10 softmax
"""

ALEXNET_2012 = """\
name AlexNet (2012)
# the paper's network on one GPU at the seeds' 227×227×3 (zoo: alexnet_2012), with local response
# normalization after the first two convolutions (§3.3: n = 5, α = 1e-4, β = 0.75, k = 2)
input 227x227x3
conv 96 11x11 s4 relu          # (227 − 11)/4 + 1 = 55
lrn 5 alpha=1e-4 beta=0.75 k=2
maxpool 3 s2                   # (55 − 3)/2 + 1 = 27
conv 256 5x5 same relu
lrn
maxpool 3 s2                   # 27 → 13
conv 384 3x3 same relu
conv 384 3x3 same relu
conv 256 3x3 same relu
maxpool 3 s2                   # 13 → 6
flatten                        # 6·6·256 = 9,216
fc 4096 relu
dropout 0.5
fc 4096 relu
dropout 0.5
fc 1000
"""

VGG16 = """\
name VGG-16
# 3×3 same convolutions and 2×2 max pools throughout (zoo: vgg16); CONV64 ×2 is written x2
input 224x224x3
conv 64 3x3 same relu x2
maxpool 2 s2               # 224 → 112
conv 128 3x3 same relu x2
maxpool 2 s2               # 112 → 56
conv 256 3x3 same relu x3
maxpool 2 s2               # 56 → 28
conv 512 3x3 same relu x3
maxpool 2 s2               # 28 → 14
conv 512 3x3 same relu x3
maxpool 2 s2               # 14 → 7
flatten                    # 7·7·512 = 25,088
fc 4096 relu
dropout 0.5
fc 4096 relu
dropout 0.5
fc 1000 softmax
"""

INCEPTION_MODULE = """\
name Inception module
# the notes' module with bottlenecks, GoogLeNet's 3a (zoo: inception_module): 28×28×192 → 28×28×256
input 28x28x192
branch
  path
    conv 64 1x1 relu
  path
    conv 96 1x1 relu         # bottleneck before the 3×3
    conv 128 3x3 same relu
  path
    conv 16 1x1 relu         # bottleneck before the 5×5
    conv 32 5x5 same relu
  path
    maxpool 3x3 s1 same      # keeps 28×28×192 ...
    conv 32 1x1 relu         # ... so a 1×1 shrinks it to 32 channels
concat                       # 64 + 128 + 32 + 32 = 256 channels
"""

RESIDUAL_BLOCK = """\
name Residual block
# a ResNet-18 basic block with an identity shortcut (zoo: residual_block): a[l+2] = relu(z[l+2] + a[l])
input 56x56x64
residual
  conv 64 3x3 same nobias bn relu
  conv 64 3x3 same nobias bn
add relu
"""

RESIDUAL_BLOCK_PROJECTION = """\
name Residual block with projection
# halves the map and doubles the channels, so the shortcut needs the notes' W_s (zoo: residual_block_projection)
input 56x56x64
residual
  conv 128 3x3 s2 same nobias bn relu    # 56 → 28
  conv 128 3x3 same nobias bn
shortcut
  conv 128 1x1 s2 nobias bn              # W_s: 56×56×64 → 28×28×128
add relu
"""

DEPTHWISE_SEPARABLE = """\
name Depthwise-separable block
# the notes' MobileNet example (zoo: depthwise_separable_block): 432 + 240 = 672 multiplications instead of 2,160
input 6x6x3
conv 3 3x3 depthwise nobias bn relu      # one 3×3 filter per channel: 6×6×3 → 4×4×3
conv 5 1x1 nobias bn relu                # pointwise: 4×4×3 → 4×4×5
"""

MOBILENET_V2_BOTTLENECK = """\
name MobileNet v2 bottleneck
# expansion ×6, depthwise, projection, and the residual connection (zoo: mobilenet_v2_block)
input 6x6x3
residual
  conv 18 1x1 nobias bn relu6               # expansion: n×n×3 → n×n×18
  conv 18 3x3 same depthwise nobias bn relu6
  conv 3 1x1 nobias bn                       # projection back to n×n×3, no activation
add
"""

FRACTAL_BLOCK = """\
name FractalNet block
# the expansion rule once, f_2(z) = join(conv(conv(z)), conv(z)), with the join an element-wise mean
# (zoo: fractalnet with columns=2 blocks=1)
input 32x32x3
branch
  path                                # the deep column: two 3×3 conv–BN–ReLU
    conv 64 3x3 same nobias bn relu
    conv 64 3x3 same nobias bn relu
  path                                # the shallow column: one
    conv 64 3x3 same nobias bn relu
mean                                  # (deep + shallow) / 2: both paths give 32×32×64
maxpool 2 s2                          # 32 → 16
globalavgpool
flatten
fc 10
"""

EXAMPLES: dict[str, str] = {
    "LeNet-5": LENET5,
    "AlexNet (2012)": ALEXNET_2012,
    "VGG-16": VGG16,
    "Inception module": INCEPTION_MODULE,
    "Residual block": RESIDUAL_BLOCK,
    "Residual block with projection": RESIDUAL_BLOCK_PROJECTION,
    "Depthwise-separable block": DEPTHWISE_SEPARABLE,
    "MobileNet v2 bottleneck": MOBILENET_V2_BOTTLENECK,
    "FractalNet block": FRACTAL_BLOCK,
}

# The zoo entry each example reproduces (checked by tests/test_spec.py).
ZOO_TWINS: dict[str, str] = {
    "LeNet-5": "lenet5",
    "AlexNet (2012)": "alexnet_2012",
    "VGG-16": "vgg16",
    "Inception module": "inception_module",
    "Residual block": "residual_block",
    "Residual block with projection": "residual_block_projection",
    "Depthwise-separable block": "depthwise_separable_block",
    "MobileNet v2 bottleneck": "mobilenet_v2_block",
    "FractalNet block": "fractalnet",
}
# Options for a twin built away from its defaults.
ZOO_TWIN_OPTIONS: dict[str, dict[str, int]] = {"FractalNet block": {"columns": 2, "blocks": 1}}
