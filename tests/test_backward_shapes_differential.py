"""Differential test of the backward stand-ins (`analyzers.shapes.backward`): random backward calls go through the
training mode's own path (`backward_result`: a stand-in, else torch's meta kernel) and must be accepted or refused
exactly as torch's CPU kernel does, with the same output shapes, dtypes and strides (None where the output_mask says
so); and as torch's meta kernel does, except where meta and CPU disagree (then we follow the CPU; every such case is
written down in `BACKWARD_META_DIFFERS_FROM_CPU` below, and an undocumented difference fails the test).

The harness (tensor specs and layouts, outcomes, `drive`) is `tests/differential.py`; the documented differences of
the forward ops these calls may run first are `tests/test_fast_shapes_differential.py`'s.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch
from hypothesis import strategies as st
from torch.utils._python_dispatch import TorchDispatchMode

from analyzers.shapes import backward as backward_shapes
from analyzers.shapes.backward import BACKWARD_RESULTS, backward_result
from tests import differential
from tests.differential import (DIFFERENTIAL, FLOATS, Case, Layout, Spec, layouts, mostly, outcome, recording,
                                small_shapes, under_bare_mode)
from tests.test_fast_shapes_differential import FOLLOW_META, META_DIFFERS_FROM_CPU

aten = torch.ops.aten

# Where torch's meta kernels answer these backward calls differently from its CPU kernels (torch 2.14.1). We
# follow the CPU in each.
BACKWARD_META_DIFFERS_FROM_CPU = {
    "activation_backward_order": "meta hardtanh_backward, hardswish_backward and hardsigmoid_backward lay out "
                                 "their result by self's strides first; the CPU's TensorIterator lists "
                                 "grad_output first (it decides when the two are laid out differently)",
    "group_norm_layout": "meta group norm backward lays grad_input out by the operands' strides (its forward "
                         "returns contiguous); the CPU returns the input's suggested memory format (both)",
    "layer_norm_backward_layout": "meta native_layer_norm_backward (a Python decomposition) lays grad_input out "
                                  "like grad_out when that is dense in another order; the CPU returns it contiguous",
    "softmax_backward_layout": "meta _softmax_backward_data / _log_softmax_backward_data (Python references) lay "
                               "the result out by the operands' strides; the CPU returns it contiguous",
}
DOCUMENTED = META_DIFFERS_FROM_CPU.keys() | FOLLOW_META.keys() | BACKWARD_META_DIFFERS_FROM_CPU.keys()


class StandInMode(TorchDispatchMode):
    """Every op as the training mode runs a backward op: a stand-in's result when one answers, else torch's."""

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        return backward_result(func, args, kwargs or {})


def through_stand_ins(op: Callable[..., Any]) -> Callable[..., Any]:
    def run(*tensors: torch.Tensor) -> Any:
        with StandInMode():
            return op(*tensors)

    return run


ANSWERS: list[Any] = []  # the backward stand-ins that answered, in order (appended while `drive` runs)


def check(case: Case) -> None:
    """Where a backward stand-in answers, the result must be the CPU kernel's (and meta's, or a documented
    difference); where none answers, torch's meta kernel did, on the forward stand-ins' results (the CPU's)."""
    before = len(ANSWERS)
    ours = outcome(through_stand_ins(case.op), case.tensors("meta"))
    answered = len(ANSWERS) > before
    meta = outcome(case.op, case.tensors("meta"))
    if case.cpu_crashes:
        assert ours.key() == meta.key(), f"differs from the meta kernel\n{case!r}\n  ours: {ours}\n  meta: {meta}"
        return
    cpu = outcome(case.op, case.tensors("cpu"))
    cpu_through = outcome(through_stand_ins(case.op), case.tensors("cpu"))
    report = f"{case!r}\n  ours: {ours}\n  meta: {meta}\n  cpu:  {cpu}\n  cpu through: {cpu_through}"
    assert cpu_through.key(with_device=True) == outcome(under_bare_mode(case.op), case.tensors("cpu")).key(
        with_device=True), "CPU operands must reach torch\n" + report
    if not answered:
        assert ours.key() in (meta.key(), cpu.key()), "no stand-in answered, yet the result is neither\n" + report
        return
    assert ours.key() == cpu.key(), "differs from the CPU kernel\n" + report
    if meta.key() != cpu.key():
        assert case.meta_differs and case.meta_differs <= DOCUMENTED, "undocumented meta/CPU difference\n" + report


@contextlib.contextmanager
def _installed(table: dict) -> Iterator[None]:
    """The training mode's backward stand-in table, with `table`'s entries in place of its own."""
    original = dict(BACKWARD_RESULTS)
    backward_shapes.BACKWARD_RESULTS.update(table)
    try:
        yield
    finally:
        backward_shapes.BACKWARD_RESULTS.update(original)


def recording_answers() -> contextlib.AbstractContextManager[set]:
    """The backward stand-ins, noting which answered (in `ANSWERS` too, for `check` to see one case's)."""
    return recording(BACKWARD_RESULTS, _installed, on_answer=ANSWERS.append)


def drive(strategy: st.SearchStrategy[Case], packets: set, max_examples: int = DIFFERENTIAL.max_examples,
          examples: tuple[Case, ...] = (), lines_elsewhere: frozenset = frozenset()) -> None:
    """`tests.differential.drive` for the backward stand-ins."""
    differential.drive(strategy, packets, check=check, table=BACKWARD_RESULTS, answers=recording_answers,
                       max_examples=max_examples, examples=examples, lines_elsewhere=lines_elsewhere)


masks = st.lists(st.booleans(), min_size=3, max_size=3)
dtypes = st.sampled_from(FLOATS)


def other_dtype(draw: st.DrawFn, dtype: torch.dtype, often: int = 6) -> torch.dtype:
    return draw(mostly(dtype, dtypes, often=often))


# ---------------------------------------------------------------- element-wise gradients

ACTIVATION_BACKWARDS: dict[Any, Callable[[st.DrawFn], tuple]] = {
    aten.threshold_backward: lambda draw: (draw(st.sampled_from((0, 0.0, 0.5))),),
    aten.hardtanh_backward: lambda draw: (draw(st.sampled_from((-1.0, 0.0))), draw(st.sampled_from((1.0, 6.0)))),
    aten.leaky_relu_backward: lambda draw: (draw(st.sampled_from((0.01, 0.2, -0.1))), draw(st.booleans())),
    aten.gelu_backward: lambda draw: draw(st.sampled_from(((), ("tanh",), ("none",)))),
    aten.silu_backward: lambda draw: (), aten.sigmoid_backward: lambda draw: (), aten.tanh_backward: lambda draw: (),
    aten.hardswish_backward: lambda draw: (), aten.hardsigmoid_backward: lambda draw: (),
}
SELF_LAYOUT_FIRST_ON_META = {aten.hardtanh_backward, aten.hardswish_backward, aten.hardsigmoid_backward}


@st.composite
def activation_backwards(draw: st.DrawFn) -> Case:
    packet = draw(st.sampled_from(sorted(ACTIVATION_BACKWARDS, key=str)))
    shape = draw(small_shapes())
    dtype = draw(mostly(torch.float32, dtypes, often=2))
    grad_shape = draw(mostly(shape, small_shapes(), often=8))
    specs = (Spec(grad_shape, other_dtype(draw, dtype, often=8), draw(layouts)), Spec(shape, dtype, draw(layouts)))
    extra = ACTIVATION_BACKWARDS[packet](draw)
    kwargs = {}
    if packet is aten.gelu_backward and not extra and draw(st.booleans()):
        kwargs = {"approximate": draw(st.sampled_from(("tanh", "none", "x")))}
    differs = set()
    if packet in SELF_LAYOUT_FIRST_ON_META and specs[0].layout is not specs[1].layout:
        differs.add("activation_backward_order")
    return Case(f"{packet.__name__}(grad, x, *{extra}, **{kwargs})", lambda g, x: packet(g, x, *extra, **kwargs),
                specs, meta_differs=frozenset(differs))


def test_activation_backwards_match_torch():
    drive(activation_backwards(), set(ACTIVATION_BACKWARDS))


# ---------------------------------------------------------------- pooling


def forward_shape(run: Callable[[torch.Tensor], Any], shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape of a forward's (first) result on meta, or None where torch refuses the call."""
    try:
        out = run(torch.empty(shape, device="meta"))
    except Exception:  # an invalid call: the backward gets a gradient of some made-up shape
        return None
    return tuple((out[0] if isinstance(out, tuple) else out).shape)


@st.composite
def pool_backwards(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(("max", "avg", "adaptive")))
    shape = (*((draw(st.integers(1, 2)),) if draw(mostly(True, st.just(False))) else ()), draw(st.integers(1, 3)),
             draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    x = Spec(shape, dtype, draw(layouts))
    kernel = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 2)))]
    stride = draw(st.one_of(st.just([]), st.lists(st.integers(1, 2), min_size=1, max_size=2)))
    padding = draw(st.integers(0, 1))
    ceil = draw(st.booleans())
    if kind == "adaptive":
        size = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
        forward = (lambda t: aten._adaptive_avg_pool2d(t, size))  # noqa: E731
        label = f"_adaptive_avg_pool2d_backward(size={size})"
    elif kind == "max":
        dilation = draw(st.integers(1, 2))

        def forward(t: torch.Tensor) -> Any:
            return aten.max_pool2d_with_indices(t, kernel, stride, padding, dilation, ceil)

        label = f"max_pool2d_with_indices_backward({kernel}, {stride}, {padding}, {dilation}, {ceil})"
    else:
        include_pad, divisor = draw(st.booleans()), draw(st.sampled_from((None, None, 2, 0)))

        def forward(t: torch.Tensor) -> Any:
            return aten.avg_pool2d(t, kernel, stride, padding, ceil, include_pad, divisor)

        label = f"avg_pool2d_backward({kernel}, {stride}, {padding}, {ceil}, {include_pad}, {divisor})"
    if kind == "adaptive":  # any output size; a gradient of another rank now and then (leading dims that do not
        # match crash torch 2.14.1's CPU kernel, so they are not drawn)
        grad_shape = (*shape[:-2], *size) if draw(mostly(True, st.just(False))) else (1, *size)
    else:
        out_shape = forward_shape(forward, shape)
        grad_shape = draw(mostly(out_shape, small_shapes(3, 4), often=8)) if out_shape else draw(small_shapes(3, 4))
    grad = Spec(grad_shape, other_dtype(draw, dtype, often=10), draw(layouts))

    def op(g: torch.Tensor, t: torch.Tensor) -> Any:
        if kind == "adaptive":
            return aten._adaptive_avg_pool2d_backward(g, t)
        if kind == "max":
            indices = forward(t)[1]
            return aten.max_pool2d_with_indices_backward(g, t, kernel, stride, padding, dilation, ceil, indices)
        return aten.avg_pool2d_backward(g, t, kernel, stride, padding, ceil, include_pad, divisor)

    # torch 2.14.1's CPU max pool gives out-of-range indices for a window that lies wholly in the padding (a
    # dilated window over a padded dim of size 1), and its backward then writes out of bounds: compared with meta.
    crashes = kind == "max" and dilation > 1 and padding > 0
    return Case(label, op, (grad, x), cpu_crashes=crashes)


def test_pool_backwards_match_torch():
    drive(pool_backwards(), {aten.max_pool2d_with_indices_backward, aten.avg_pool2d_backward,
                             aten._adaptive_avg_pool2d_backward})


# ---------------------------------------------------------------- normalisation and softmax


@st.composite
def layer_norm_backwards(draw: st.DrawFn) -> Case:
    shape = draw(small_shapes(min_dims=1))
    dtype = draw(mostly(torch.float32, dtypes, often=2))
    normalized = list(shape[len(shape) - draw(st.integers(1, len(shape))):])
    x = Spec(shape, dtype, draw(layouts))
    grad = Spec(draw(mostly(shape, small_shapes(1), often=8)), other_dtype(draw, dtype, often=8), draw(layouts))
    present = [draw(st.booleans()), draw(st.booleans())]
    params = [Spec(tuple(normalized), other_dtype(draw, dtype, often=8)) for p in present if p]
    mask = draw(masks)

    def op(g: torch.Tensor, t: torch.Tensor, *given: torch.Tensor) -> Any:
        values = iter(given)
        weight, bias = (next(values) if p else None for p in present)
        _, mean, rstd = aten.native_layer_norm(t, normalized, weight, bias, 1e-5)
        return aten.native_layer_norm_backward(g, t, normalized, mean, rstd, weight, bias, mask)

    differs = set()
    if any(p.dtype != dtype for p in params):
        differs.add("layer_norm_mixed_dtype")
    if dtype in (torch.float16, torch.bfloat16):
        differs.add("layer_norm_stats_dtype")
    if {grad.layout, x.layout} != {Layout.CONTIGUOUS}:
        differs.add("layer_norm_backward_layout")
    # torch 2.14.1's CPU layer norm backward crashes the process (segmentation fault) on a gradient shaped unlike
    # the input: such calls are compared with meta.
    return Case(f"native_layer_norm_backward({normalized}, weight/bias={present}, mask={mask})", op,
                (grad, x, *params), meta_differs=frozenset(differs), cpu_crashes=grad.shape != shape)


def test_layer_norm_backward_matches_torch():
    drive(layer_norm_backwards(), {aten.native_layer_norm_backward})


@st.composite
def group_norm_backwards(draw: st.DrawFn) -> Case:
    group = draw(st.integers(1, 3))
    c = group * draw(st.integers(1, 2))
    shape = (draw(st.integers(1, 2)), c, *[draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))])
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    x = Spec(shape, dtype, draw(layouts))
    grad = Spec(shape, other_dtype(draw, dtype, often=10), draw(layouts))
    with_weight = draw(st.booleans())
    mask = draw(masks)
    n, hxw = shape[0], int(torch.Size(shape[2:]).numel())

    def op(g: torch.Tensor, t: torch.Tensor, *weight: torch.Tensor) -> Any:
        w = weight[0] if weight else None
        _, mean, rstd = aten.native_group_norm(t, w, w, n, c, hxw, group, 1e-5)
        return aten.native_group_norm_backward(g, t, mean, rstd, w, n, c, hxw, group, mask)

    differs = {"group_norm_layout"} if {x.layout, grad.layout} != {Layout.CONTIGUOUS} else set()
    specs = (grad, x, Spec((c,), dtype)) if with_weight else (grad, x)
    return Case(f"native_group_norm_backward(group={group}, weight={with_weight}, mask={mask})", op, specs,
                meta_differs=frozenset(differs))


def test_group_norm_backward_matches_torch():
    drive(group_norm_backwards(), {aten.native_group_norm_backward}, max_examples=100)


@st.composite
def softmax_backwards(draw: st.DrawFn) -> Case:
    shape = draw(small_shapes())
    dtype = draw(mostly(torch.float32, dtypes, often=2))
    specs = (Spec(draw(mostly(shape, small_shapes(), often=8)), other_dtype(draw, dtype, often=8), draw(layouts)),
             Spec(shape, dtype, draw(layouts)))
    dim = draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    input_dtype = other_dtype(draw, dtype)
    packet = draw(st.sampled_from((aten._softmax_backward_data, aten._log_softmax_backward_data)))
    # torch 2.14.1's CPU (log-)softmax backward can crash the process (floating point exception) on a gradient
    # shaped unlike the output: such calls are compared with meta.
    return Case(f"{packet.__name__}(dim={dim}, input_dtype={input_dtype})",
                lambda g, out: packet(g, out, dim, input_dtype), specs, cpu_crashes=specs[0].shape != shape,
                meta_differs=frozenset({"softmax_backward_layout"} if {s.layout for s in specs} != {
                    Layout.CONTIGUOUS} else ()))


def test_softmax_backward_matches_torch():
    drive(softmax_backwards(), {aten._softmax_backward_data, aten._log_softmax_backward_data})


# ---------------------------------------------------------------- select and slice


@st.composite
def index_backwards(draw: st.DrawFn) -> Case:
    sizes = list(draw(small_shapes(min_dims=1)))
    dim = draw(st.integers(-len(sizes) - 1, len(sizes)))
    inside = -len(sizes) <= dim < len(sizes)
    dtype = draw(dtypes)
    if draw(st.booleans()):
        index = draw(st.integers(-5, 5))
        grad_shape = tuple(s for i, s in enumerate(sizes) if i != dim % len(sizes)) if inside else tuple(sizes)
        grad_shape = draw(mostly(grad_shape, small_shapes(), often=8))
        return Case(f"select_backward({sizes}, dim={dim}, index={index})",
                    lambda g: aten.select_backward(g, sizes, dim, index), (Spec(grad_shape, dtype, draw(layouts)),))
    start, end = draw(st.integers(-6, 6)), draw(st.sampled_from((-6, -1, 0, 1, 3, 6, 2 ** 62)))
    step = draw(mostly(1, st.integers(0, 3), often=2))
    grad_shape = list(sizes)
    if inside and step > 0:
        grad_shape[dim] = len(range(sizes[dim])[start:end:step])
    grad_shape = draw(mostly(tuple(grad_shape), small_shapes(), often=8))
    return Case(f"slice_backward({sizes}, dim={dim}, {start}:{end}:{step})",
                lambda g: aten.slice_backward(g, sizes, dim, start, end, step), (Spec(grad_shape, dtype,
                                                                                      draw(layouts)),))


def test_select_and_slice_backward_match_torch():
    drive(index_backwards(), {aten.select_backward, aten.slice_backward})


def test_every_backward_stand_in_is_driven_by_a_family():
    families = ({aten.convolution_backward, aten.native_batch_norm_backward}  # tests/test_training_formulas.py
                | set(ACTIVATION_BACKWARDS) | {aten.max_pool2d_with_indices_backward, aten.avg_pool2d_backward,
                                              aten._adaptive_avg_pool2d_backward, aten.native_layer_norm_backward,
                                              aten.native_group_norm_backward, aten._softmax_backward_data,
                                              aten._log_softmax_backward_data, aten.select_backward,
                                              aten.slice_backward})
    assert set(BACKWARD_RESULTS) == families
