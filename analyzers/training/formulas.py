"""Shape-only cost formulas for the aten ops autograd runs in a backward pass.

Why a table of its own: a backward op computes gradients of different things, and users ask about them apart —
the gradient of a layer's input (needed by every layer after the first trainable one) and the gradient of its
weight (needed only by trainable layers; a frozen layer skips it). Each formula returns a `BackwardCost` with the
two MAC columns split, plus element-wise work in its own column, as in the forward.

Conventions (see README, "Training"):
- convolution_backward: grad_input is a transposed convolution of grad_output with the weight and grad_weight a
  correlation of the input with grad_output; each costs exactly the forward's MACs,
  N·out_spatial·C_out·k·(C_in/groups) — groups, depthwise, dilation (which spreads the taps, not their number) and
  transposed convs included. torch 2.14.1's FlopCounterMode drops `groups` from the grad_weight term. A grad_bias
  is a sum over grad_output: element-wise, one op per grad_output element. `output_mask` says which ran.
- mm / bmm / addmm: MACs rows·inner·cols as in the forward. Which column they land in is decided by the caller,
  who knows whether the product involves a weight (`BackwardCost.split`).
- fused attention backward (flash / efficient / CPU flash): the kernels recompute QKᵀ, then form dP = dO·Vᵀ,
  dV = Pᵀ·dO, dQ = dS·K and dK = dSᵀ·Q: heads·q·kv·(3·d + 2·d_v) MACs, all input gradients (as FlopCounterMode).
- element-wise backward, per element of the gradient produced: ReLU/threshold, hardtanh, leaky ReLU, hardsigmoid
  1 (a compare-and-select), sigmoid/tanh/hardswish/ELU 2 (derivative, multiply), SiLU/softplus 3, GELU/mish 4,
  dropout 2 (mask, scale), softmax 4 (y·dy, row sum, subtract, scale by y), log-softmax 3, batch/layer/group norm 7
  (Σdy, Σdy·x̂ with x̂ recomputed, then dx = γ·σ⁻¹·(dy − Σdy/N − x̂·Σdy·x̂/N)); max pool 1 per grad_output element
  (a scatter), avg pool one per window element per grad_output element, adaptive avg pool 1 per input element,
  index_add (an index_select's gradient) 1 per source element.
- Other ops autograd runs (add, mul, sum, …) use the forward table's formula; views, `*_backward` scatters of
  slices/selects and zero-fills are data movement. Anything else is reported as uncounted, never as zero.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import torch

from analyzers.counting.formulas import FORMULAS, data_movement
from analyzers.numbers import pool_window, product
from analyzers.ops import ADAPTIVE_POOL_BACKWARD, AVG_POOL_BACKWARD, FUSED_ATTENTION_BACKWARD, MAX_POOL_BACKWARD
from analyzers.records import OpCategory, OpCost, OpKind

__all__ = [
    "BACKWARD_FORMULAS", "BackwardCost", "BackwardFormula", "attention_backward", "avg_pool_backward", "backward_cost",
    "conv_backward_macs", "convolution_backward", "index_add", "interpolation_backward", "register",
]

aten = torch.ops.aten


@dataclass(frozen=True)
class BackwardCost:
    """One backward op call: MACs of input gradients, MACs of weight gradients, element-wise ops."""

    op: str
    category: OpCategory
    input_macs: int = 0
    weight_macs: int = 0
    elementwise_ops: int = 0
    label: str = ""
    splittable: bool = False  # a matrix product whose MACs belong to the weight column when it makes a weight grad

    @property
    def macs(self) -> int:
        return self.input_macs + self.weight_macs

    @property
    def kind(self) -> OpKind:
        if self.category is OpCategory.UNCOUNTED:
            return OpKind.UNCOUNTED
        if self.category is OpCategory.DATA_MOVEMENT:
            return OpKind.DATA
        return OpKind.MAC if self.macs else OpKind.ELEMENTWISE

    def as_weight_gradient(self) -> "BackwardCost":
        """The same product counted as a weight gradient (e.g. grad_outputᵀ · input of a linear layer)."""
        return replace(self, input_macs=0, weight_macs=self.macs)


BackwardFormula = Callable[[Any, tuple, dict, Any], BackwardCost]
BACKWARD_FORMULAS: dict[Any, BackwardFormula] = {}


def register(*packets: Any) -> Callable[[BackwardFormula], BackwardFormula]:
    def decorate(fn: BackwardFormula) -> BackwardFormula:
        for packet in packets:
            if packet in BACKWARD_FORMULAS:
                raise ValueError(f"backward formula for {packet} registered twice")
            BACKWARD_FORMULAS[packet] = fn
        return fn

    return decorate


def _numel(t: Any) -> int:
    return int(t.numel()) if isinstance(t, torch.Tensor) else 0


# ---------------------------------------------------------------- MACs


def conv_backward_macs(grad_output_shape: tuple[int, ...], input_shape: tuple[int, ...],
                       weight_shape: tuple[int, ...], transposed: bool) -> int:
    """MACs of one of grad_input / grad_weight: the forward's count, N·out_spatial·C_out·k·(C_in/groups).

    For a transposed conv the forward's "output" is the gradient's input side: N·in_spatial·C_in·k·(C_out/groups),
    which is what the weight shape (C_in, C_out/groups, k…) times the input's N·spatial gives."""
    kernel = product(weight_shape[2:])
    if transposed:
        return input_shape[0] * product(input_shape[2:]) * weight_shape[0] * weight_shape[1] * kernel
    return grad_output_shape[0] * product(grad_output_shape[2:]) * weight_shape[0] * weight_shape[1] * kernel


@register(aten.convolution_backward)
def convolution_backward(func: Any, args: tuple, kwargs: dict, out: Any) -> BackwardCost:
    grad_output, x, weight = args[0], args[1], args[2]
    transposed = bool(args[7])
    mask = args[10] if len(args) > 10 else kwargs.get("output_mask", (True, True, True))
    macs = conv_backward_macs(tuple(grad_output.shape), tuple(x.shape), tuple(weight.shape), transposed)
    return BackwardCost(
        str(func), OpCategory.CONV,
        input_macs=macs if mask[0] else 0,
        weight_macs=macs if mask[1] else 0,
        elementwise_ops=_numel(grad_output) if mask[2] else 0,
        label="conv backward",
    )


def _from_forward(func: Any, args: tuple, kwargs: dict, out: Any) -> BackwardCost:
    cost: OpCost = FORMULAS[func.overloadpacket](func, args, kwargs, out)
    return BackwardCost(str(func), cost.category, input_macs=cost.macs, elementwise_ops=cost.elementwise_ops,
                        label=cost.label or func.overloadpacket.__name__,
                        splittable=cost.category is OpCategory.MATMUL)


for _packet in (aten.mm, aten.bmm, aten.addmm, aten.baddbmm):  # the products with a forward formula
    register(_packet)(_from_forward)


@register(*FUSED_ATTENTION_BACKWARD)
def attention_backward(func: Any, args: tuple, kwargs: dict, out: Any) -> BackwardCost:
    q, k, v = args[1], args[2], args[3]
    *lead, q_len, head_dim = tuple(q.shape)
    kv_len, v_dim = int(k.shape[-2]), int(v.shape[-1])
    heads = product(lead)
    macs = heads * q_len * kv_len * (3 * head_dim + 2 * v_dim)
    # softmax recomputed (3 per score) and its backward (4 per score)
    return BackwardCost(str(func), OpCategory.ATTENTION, input_macs=macs, elementwise_ops=7 * heads * q_len * kv_len,
                        label="attention backward")


# ---------------------------------------------------------------- element-wise


def _per_element(category: OpCategory, label: str, per_element: int, of: str = "out") -> BackwardFormula:
    def formula(func: Any, args: tuple, kwargs: dict, out: Any) -> BackwardCost:
        tensor = out[0] if isinstance(out, (tuple, list)) else out
        if of == "grad":
            tensor = args[0]
        return BackwardCost(str(func), category, elementwise_ops=per_element * _numel(tensor), label=label)

    return formula


_ACTIVATION_BACKWARD = {
    aten.threshold_backward: ("ReLU backward", 1),
    aten.hardtanh_backward: ("ReLU6/hardtanh backward", 1),
    aten.leaky_relu_backward: ("leaky ReLU backward", 1),
    aten.hardsigmoid_backward: ("hardsigmoid backward", 1),
    aten.sigmoid_backward: ("sigmoid backward", 2),
    aten.tanh_backward: ("tanh backward", 2),
    aten.hardswish_backward: ("hardswish backward", 2),
    aten.elu_backward: ("ELU backward", 2),
    aten.silu_backward: ("SiLU backward", 3),
    aten.softplus_backward: ("softplus backward", 3),
    aten.gelu_backward: ("GELU backward", 4),
    aten.mish_backward: ("mish backward", 4),
}
for _packet, (_label, _per) in _ACTIVATION_BACKWARD.items():
    register(_packet)(_per_element(OpCategory.ACTIVATION, _label, _per))

register(aten.native_dropout_backward)(_per_element(OpCategory.ELEMENTWISE, "dropout backward", 2))
register(aten._softmax_backward_data)(_per_element(OpCategory.ACTIVATION, "softmax backward", 4))
register(aten._log_softmax_backward_data)(_per_element(OpCategory.ACTIVATION, "log-softmax backward", 3))
register(aten.native_batch_norm_backward, aten.native_layer_norm_backward, aten.native_group_norm_backward)(
    _per_element(OpCategory.NORM, "norm backward", 7))
register(*MAX_POOL_BACKWARD)(
    _per_element(OpCategory.POOLING, "max pool backward", 1, of="grad"))
register(*ADAPTIVE_POOL_BACKWARD)(_per_element(OpCategory.POOLING, "adaptive pool backward", 1))
register(aten.embedding_dense_backward)(_per_element(OpCategory.ELEMENTWISE, "embedding backward", 1, of="grad"))


@register(aten.index_add)
def index_add(func: Any, args: tuple, kwargs: dict, out: Any) -> BackwardCost:
    """The gradient of an index_select: one add per source element scattered back."""
    return BackwardCost(str(func), OpCategory.ELEMENTWISE, elementwise_ops=_numel(args[3]), label="index add")


@register(*AVG_POOL_BACKWARD)
def avg_pool_backward(func: Any, args: tuple, kwargs: dict, out: Any) -> BackwardCost:
    grad_output = args[0]
    kernel, _, _, _ = pool_window(args[1:], max(grad_output.dim() - 2, 1), dilation_index=None)
    return BackwardCost(str(func), OpCategory.POOLING, elementwise_ops=_numel(grad_output) * product(kernel),
                        label="avg pool backward")


@register(aten.upsample_bilinear2d_backward, aten.upsample_linear1d_backward, aten.upsample_trilinear3d_backward,
          aten.upsample_bicubic2d_backward)
def interpolation_backward(func: Any, args: tuple, kwargs: dict, out: Any) -> BackwardCost:
    name = func.overloadpacket.__name__
    taps = {"upsample_linear1d_backward": 2, "upsample_bilinear2d_backward": 4,
            "upsample_trilinear3d_backward": 8}.get(name, 16)
    return BackwardCost(str(func), OpCategory.ELEMENTWISE, elementwise_ops=taps * _numel(args[0]),
                        label=name.removeprefix("upsample_"))


_DATA_BACKWARD = (
    aten.select_backward, aten.slice_backward, aten.as_strided_backward if hasattr(aten, "as_strided_backward")
    else aten.as_strided, aten.index_put, aten.index_put_, aten.new_zeros, aten.upsample_nearest2d_backward,
    aten.upsample_nearest1d_backward, aten.upsample_nearest3d_backward, aten.unfold_backward, aten.diagonal_backward,
    aten.index_select_backward if hasattr(aten, "index_select_backward") else aten.index_select,
)


def _data(func: Any, args: tuple, kwargs: dict, out: Any) -> BackwardCost:
    return BackwardCost(str(func), OpCategory.DATA_MOVEMENT)


for _packet in _DATA_BACKWARD:
    if _packet not in BACKWARD_FORMULAS and FORMULAS.get(_packet) is not data_movement:
        register(_packet)(_data)


def backward_cost(func: Any, args: tuple, kwargs: dict, out: Any) -> BackwardCost:
    """The cost of one backward op: its own formula, else the forward table's, else uncounted (never zero)."""
    packet = func.overloadpacket
    formula = BACKWARD_FORMULAS.get(packet)
    if formula is not None:
        return formula(func, args, kwargs, out)
    forward = FORMULAS.get(packet)
    if forward is data_movement:
        return BackwardCost(str(func), OpCategory.DATA_MOVEMENT)
    if forward is not None:
        return _from_forward(func, args, kwargs, out)
    return BackwardCost(str(func), OpCategory.UNCOUNTED, label=packet.__name__)
