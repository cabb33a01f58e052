"""Kernel work of one training step: the forward's kernels, each layer's backward kernels, the optimizer step.

The training analysis (`analyzers.training.analyze`) gives each layer's backward MACs split into input gradients
and weight gradients, and its backward element-wise ops. Here they become kernels with the forward kernel's kind
and shape: a convolution or linear layer launches an input-gradient kernel and a weight-gradient kernel, each
reading and writing about what the forward kernel did (the gradient of the output in place of the output, the
weight gradient written beside the weights read); an element-wise op's backward reads the output gradient and the
saved tensor and writes the input gradient (1.5 x the forward's traffic); a copy's backward copies back. The MACs
are the analysis's exact counts, spread over the layer's kernels in proportion to their forward work.

The optimizer step touches every trainable parameter: SGD reads the gradient and reads and writes the weight (3
parameter-sized passes), momentum adds a buffer read and written (5), Adam two (7). Without `foreach` (PyTorch
before 2.0, and its CPU default) each parameter tensor is its own few kernels; with it one kernel covers many tensors.
"""

from __future__ import annotations

import math

from analyzers.predict.kernels import TENSOR_KINDS, KernelKind, KernelWork, LayerWork, layer_work
from analyzers.records import RecordKind
from analyzers.training.analyze import TrainingAnalysis, TrainingLayer
from analyzers.training.memory import Optimizer

__all__ = ["training_work", "OPTIMIZER_STEP"]

OPTIMIZER_STEP = "(optimizer step)"
_PASSES = {Optimizer.SGD: 3, Optimizer.MOMENTUM: 5, Optimizer.ADAM: 7, Optimizer.ADAMW: 7}  # parameter-sized
_KERNELS_PER_TENSOR = {Optimizer.SGD: 1, Optimizer.MOMENTUM: 3, Optimizer.ADAM: 6, Optimizer.ADAMW: 7}
_TENSORS_PER_FOREACH_KERNEL = 100  # multi-tensor apply packs this many parameter tensors per launch, about


def training_work(training: TrainingAnalysis, *, fused_attention: bool = True, foreach_optimizer: bool = True,
                  autocast: bool = False) -> tuple[LayerWork, ...]:
    """Every leaf layer's forward kernels, then the layers' backward kernels in reverse order, then the optimizer."""
    element = training.forward.dtype.itemsize
    forward, backward = [], []
    param_tensors = trainable_elements = 0
    for layer in training.layers:
        record = layer.record
        if record.kind is RecordKind.CONTAINER:
            continue
        work = layer_work(record, element, fused_attention=fused_attention, autocast=autocast)
        forward.append(work)
        kernels = _backward_kernels(work.kernels, layer)
        if kernels:
            backward.append(LayerWork(f"{record.name} (backward)", record.type, record.category, layer.backward_macs,
                                      tuple(kernels)))
        trainable = [t for t in record.param_tensors if t.trainable]
        param_tensors += len(trainable)
        trainable_elements += layer.trainable_params
    step = _optimizer_kernels(training.optimizer, param_tensors, trainable_elements * element, foreach_optimizer)
    optimizer = [LayerWork(OPTIMIZER_STEP, training.optimizer.value, None, 0, step)] if step else []
    return (*forward, *reversed(backward), *optimizer)


def _backward_kernels(kernels: tuple[KernelWork, ...], layer: TrainingLayer) -> list[KernelWork]:
    mac_kernels = [k for k in kernels if k.kind in TENSOR_KINDS or k.kind is KernelKind.DEPTHWISE_CONV]
    elementwise = [k for k in kernels if k.kind is KernelKind.ELEMENTWISE]
    forward_flops = sum(k.flops for k in mac_kernels)
    made: list[KernelWork] = []
    for k in mac_kernels:
        share = k.flops / forward_flops if forward_flops else 1 / len(mac_kernels)
        input_flops = round(2 * layer.backward_input_macs * share)
        weight_flops = round(2 * layer.backward_weight_macs * share)
        if input_flops:
            made.append(KernelWork(k.kind, input_flops, 0, k.activation_bytes, k.weight_bytes, k.alignment))
        if weight_flops:
            made.append(KernelWork(k.kind, weight_flops, 0, k.activation_bytes, 2 * k.weight_bytes, k.alignment))
    vector_total = sum(k.vector_ops for k in elementwise)
    for k in elementwise:
        share = k.vector_ops / vector_total if vector_total else 1 / len(elementwise)
        made.append(KernelWork(KernelKind.ELEMENTWISE, 0, round(layer.backward_elementwise_ops * share),
                               math.ceil(1.5 * k.activation_bytes), 0))
    made.extend(k for k in kernels if k.kind is KernelKind.COPY)
    return made


def _optimizer_kernels(optimizer: Optimizer, tensors: int, parameter_bytes: int, foreach: bool
                       ) -> tuple[KernelWork, ...]:
    if not tensors:
        return ()
    launches = _KERNELS_PER_TENSOR[optimizer] * (math.ceil(tensors / _TENSORS_PER_FOREACH_KERNEL) if foreach
                                                 else tensors)
    per_launch = KernelWork(KernelKind.ELEMENTWISE, 0, 0, 0, _PASSES[optimizer] * parameter_bytes // launches)
    return (per_launch,) * launches  # its arithmetic (a multiply-add per element and pass) is negligible
