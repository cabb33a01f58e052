"""Differential test of the shape stand-ins (`analyzers.shapes.forward`) and the checks run before them
(`analyzers.counting.size_checks`): random calls go through the counting mode's own path (check, then stand-in, else torch's
meta kernel) and must be accepted or refused exactly as torch's CPU kernel does, with the same output shapes, dtypes
and strides; and as torch's meta kernel does, except where meta and CPU disagree (then we follow the CPU; every such
case is written down in `META_DIFFERS_FROM_CPU` below, and an undocumented difference fails the test).

Shapes are kept small (sizes ≤ 8) so that every case also runs on the CPU in microseconds. Hypothesis runs a fixed
number of examples, derandomized, so CI sees the same cases every run.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from analyzers.counting import mode as counting_mode
from analyzers.counting.mode import CountingMode, ModuleTracker
from analyzers.shapes.forward import FAST_RESULTS
from tests import differential
from tests.differential import (DIFFERENTIAL, FLOATS, Case, Layout, Spec, layouts, mostly, outcome, recording,
                                small_shapes, under_bare_mode)

aten = torch.ops.aten


def through_counting_mode(op: Callable[..., Any]) -> Callable[..., Any]:
    """`op` as the analyzer runs it: under the counting mode (size checks, then a stand-in, else torch)."""

    def run(*tensors: torch.Tensor) -> Any:
        tracker = ModuleTracker([])
        with CountingMode(tracker):
            return op(*tensors)

    return run


# Where torch's meta kernels answer differently from its CPU kernels (torch 2.14.1). We follow the CPU in each.
META_DIFFERS_FROM_CPU = {
    "conv_layout": "a 2-d convolution: meta always returns a contiguous result; the CPU returns channels-last when "
                   "the input or the weight suggests it",
    "conv_bias": "meta convolution accepts a bias whose size does not match the output channels; the CPU refuses",
    "conv_dtype": "meta convolution accepts an input and weight of different dtypes; the CPU refuses",
    "conv_args": "meta convolution accepts a negative padding (and, transposed, a zero stride); the CPU refuses",
    "conv_transpose_channels": "meta transposed convolution does not check the input's channels against the "
                               "weight; the CPU refuses a mismatch",
    "conv_transpose_args": "meta transposed convolution accepts an output padding ≥ both stride and dilation; the "
                           "CPU refuses",
    "in_place_overlap": "meta lets an in-place op write to an expanded tensor (elements sharing memory); the CPU "
                        "refuses",
    "bn_layout": "meta batch norm keeps the input's strides; the CPU returns its suggested memory format "
                 "(contiguous or channels-last)",
    "layer_norm_stats_dtype": "meta layer norm of a float16/bfloat16 input returns float32 mean and rstd; the CPU "
                              "returns them in the input's dtype",
    "bn_eval_stats": "meta batch norm in eval mode returns (C,) saved statistics; the CPU returns empty (0,) ones",
    "grouped_mm_dtype": "meta _grouped_mm copies the CUDA kernel's checks and refuses float32 (and float16 without "
                        "cuBLASLt); the CPU kernel takes float32, bfloat16 and float16",
}


# Where we follow meta rather than the CPU: the CPU's answer comes from one backend's choice or limitation, not from
# the op (other devices, and the CPU itself under autograd, answer as meta does).
FOLLOW_META = {
    "conv_transpose_empty": "a transposed convolution whose output has a zero-sized dim: the CPU returns the empty "
                            "tensor for a batch of 2 but refuses a batch of 1 (different backends); meta refuses",
    "conv3d_layout": "a 3-d convolution of non-contiguous operands: the CPU returns channels-last 3-d or "
                     "contiguous depending on the backend it picks for the sizes; meta returns contiguous",
    "conv1d_layout": "a 1-d convolution (plain or transposed) of non-contiguous operands: the CPU views them as "
                     "(N, C, 1, L) and returns a channels-last or a contiguous result depending on the backend it "
                     "picks for the sizes (seen: a transposed-layout (1, 1, 2) input with a (2, 1, 1) weight, plain "
                     "and transposed); meta returns contiguous",
    "conv_bias_dtype": "a convolution whose bias has another dtype than its input: the CPU casts it or refuses "
                       "depending on the backend it picks; meta accepts",
    "max_pool1d_cpu_kernel": "max_pool1d without indices and without autograd has a CPU-only kernel with a contiguous "
                             "result; elsewhere it is max_pool2d_with_indices on an unsqueezed view, whose result "
                             "keeps the input's dim order",
    "dtype_support": "which dtypes a kernel is built for is the backend's choice (the CPU has no integer "
                     "hardsigmoid, …); meta accepts them all. The stand-ins answer floating dtypes only",
    "bn_dtype": "batch norm with parameters of another dtype than its input: the CPU kernel accepts only a "
                "bfloat16/float16 input with float32 parameters (\"mixed dtype (CPU)\"); meta accepts any",
    "layer_norm_mixed_dtype": "layer norm with a weight or bias of another dtype than its input: the CPU kernel "
                              "accepts only a bfloat16/float16 input with float32 parameters; meta accepts any",
    "softmax_half_to_float": "softmax of a float16 input with half_to_float=True: only CUDA supports it, the CPU "
                             "refuses; meta accepts",
    "roll_empty": "roll of a tensor with no elements: meta returns a copy whatever the shifts and dims; the CPU "
                  "refuses misaligned ones (the stand-in declines empty tensors)",
    "bernoulli_p": "bernoulli_ with p outside [0, 1]: meta accepts, the CPU refuses (the stand-in declines it)",
    "bernoulli_overlap": "bernoulli_ on an expanded tensor (elements sharing memory): meta accepts, the CPU refuses "
                         "(the stand-in declines it; the size checks cover only the in-place activations and "
                         "arithmetic)",
    "index_bounds": "index_put with an index out of range: which indices are in range is data the meta device has "
                    "not got (meta accepts; the CPU refuses)",
    "index_put_values": "index_put of values that do not broadcast to the indexed shape: meta accepts some, the CPU "
                        "refuses (the stand-in declines them)",
    "grouped_mm_layout": "_grouped_mm of an expanded, sliced or transposed operand: which strides the CPU kernel "
                         "takes is its own rule (it takes a stride-0 group dim, refuses a stride-0 row); the "
                         "stand-in declines them and meta answers (refusing float32, as it always does)",
    "pool3d_unbatched_channels_last": "a 3-d pool of an unbatched 4-d input whose strides look channels-last: the "
                                      "CPU kernel refuses that memory format; meta accepts",
}


def check(case: Case) -> None:
    ours = outcome(through_counting_mode(case.op), case.tensors("meta"))
    meta = outcome(case.op, case.tensors("meta"))
    if case.cpu_crashes:
        assert ours.key() == meta.key(), f"differs from the meta kernel\n{case!r}\n  ours: {ours}\n  meta: {meta}"
        return
    cpu = outcome(case.op, case.tensors("cpu"))
    cpu_counted = outcome(through_counting_mode(case.op), case.tensors("cpu"))
    cpu_under_a_mode = outcome(under_bare_mode(case.op), case.tensors("cpu"))
    report = f"{case!r}\n  ours: {ours}\n  meta: {meta}\n  cpu:  {cpu}\n  cpu counted: {cpu_counted}"
    # CPU operands (index arithmetic a model does on the side) must get torch's own answer, never a stand-in's.
    assert cpu_counted.key(with_device=True) == cpu_under_a_mode.key(with_device=True), (
        "CPU operands must reach torch\n" + report)
    if case.meta_differs & FOLLOW_META.keys() and ours.key() == meta.key():
        return
    assert ours.key() == cpu.key(), "differs from the CPU kernel\n" + report
    if meta.key() != cpu.key():
        differs = set(case.meta_differs)
        assert differs and differs <= META_DIFFERS_FROM_CPU.keys() | FOLLOW_META.keys(), (
            "undocumented meta/CPU difference\n" + report)


@contextlib.contextmanager
def stand_ins_replaced(table: dict) -> Iterator[None]:
    """Give the counting mode another stand-in table, forgetting the per-op plans it has cached from the real one."""
    original = counting_mode.FAST_RESULTS
    plans = getattr(counting_mode, "_SHARED_PLANS", {})
    counting_mode.FAST_RESULTS = table
    plans.clear()
    try:
        yield
    finally:
        counting_mode.FAST_RESULTS = original
        plans.clear()


def recording_answers() -> contextlib.AbstractContextManager[set]:
    """The counting mode's stand-in table, noting which stand-ins answered."""
    return recording(FAST_RESULTS, stand_ins_replaced)


def drive(strategy: st.SearchStrategy[Case], packets: set, max_examples: int = DIFFERENTIAL.max_examples,
          examples: tuple[Case, ...] = (), lines_elsewhere: frozenset = frozenset()) -> None:
    """`tests.differential.drive` for the forward stand-ins: every case checked, every stand-in of `packets`
    answering, every line of it run."""
    differential.drive(strategy, packets, check=check, table=FAST_RESULTS, answers=recording_answers,
                       max_examples=max_examples, examples=examples, lines_elsewhere=lines_elsewhere)


# ---------------------------------------------------------------- convolution


@st.composite
def convolutions(draw: st.DrawFn) -> Case:
    nd = draw(st.sampled_from((1, 2, 2, 3)))
    groups = draw(st.sampled_from((1, 1, 2, 3)))
    cin, cout = draw(st.integers(1, 3)) * groups, draw(st.integers(1, 3)) * groups
    transposed = draw(st.booleans()) and draw(st.booleans())
    max_size = 4 if nd == 3 else 7
    kernel = tuple(draw(st.integers(1, 4 if nd < 3 else 3)) for _ in range(nd))
    spatial = tuple(draw(st.integers(1, max_size)) for _ in range(nd))
    stride = draw(mostly(1, st.integers(0, 3), often=2))
    dilation = draw(mostly(1, st.integers(1, 2)))
    x_channels = draw(mostly(cin, st.integers(1, 6), often=6))
    batch = draw(st.sampled_from((1, 2, None)))  # None: an unbatched input
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    w_dtype = draw(mostly(dtype, st.sampled_from(FLOATS), often=8))
    w_shape = (cin, cout // groups, *kernel) if transposed else (cout, cin // groups, *kernel)
    x_shape = (x_channels, *spatial) if batch is None else (batch, x_channels, *spatial)
    bias_size = draw(st.one_of(st.none(), st.just(cout), st.just(cout), st.integers(1, 6)))
    specs = [Spec(x_shape, dtype, draw(layouts)), Spec(w_shape, w_dtype, draw(layouts))]
    if bias_size is not None:
        specs.append(Spec((bias_size,), draw(mostly(dtype, st.sampled_from(FLOATS), often=8))))
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    if transposed:
        output_padding = draw(mostly(0, st.integers(0, 2), often=2))
        padding = draw(st.integers(0, 2))
        conv_t = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
        op = lambda x, w, b=None: conv_t(x, w, b, stride, padding, output_padding, groups, dilation)  # noqa: E731
        label = f"conv_transpose{nd}d(stride={stride}, padding={padding}, output_padding={output_padding}, " \
                f"groups={groups}, dilation={dilation})"
    else:
        padding = draw(st.one_of(st.integers(0, 2), st.integers(-1, 2), st.sampled_from(("same", "valid"))))
        op = lambda x, w, b=None: conv(x, w, b, stride, padding, dilation, groups)  # noqa: E731
        label = f"conv{nd}d(stride={stride}, padding={padding!r}, dilation={dilation}, groups={groups})"
    differs = set()
    if {specs[0].layout, specs[1].layout} != {Layout.CONTIGUOUS}:
        differs.add({1: "conv1d_layout", 2: "conv_layout", 3: "conv3d_layout"}[nd])
    if transposed and x_channels != cin:
        differs.add("conv_transpose_channels")
    if transposed and any((n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1 <= 0
                          for n, k in zip(spatial, kernel)):
        differs.add("conv_transpose_empty")
    if transposed and output_padding >= stride and output_padding >= dilation:
        differs.add("conv_transpose_args")
    if bias_size is not None and bias_size != cout:
        differs.add("conv_bias")
    if w_dtype != dtype:
        differs.add("conv_dtype")
    if bias_size is not None and specs[2].dtype != dtype:
        differs.add("conv_bias_dtype")
    if padding == -1 or stride == 0:
        differs.add("conv_args")
    return Case(label, op, tuple(specs), meta_differs=frozenset(differs))


CONVOLUTION_EXAMPLES = (  # a 2-d convolution is channels-last when its input or its weight suggests it
    Case("conv2d()", lambda x, w: F.conv2d(x, w), (Spec((1, 3, 5, 5), layout=Layout.CHANNELS_LAST), Spec((4, 3, 3, 3))),
         meta_differs=frozenset({"conv_layout"})),
    Case("conv2d()", lambda x, w: F.conv2d(x, w), (Spec((1, 3, 5, 5)), Spec((4, 3, 3, 3), layout=Layout.CHANNELS_LAST)),
         meta_differs=frozenset({"conv_layout"})),
)


def test_convolution_matches_torch():
    drive(convolutions(), {aten.convolution}, max_examples=100,  # the slowest family: real CPU convolutions
          examples=CONVOLUTION_EXAMPLES)


# ---------------------------------------------------------------- pooling


@st.composite
def poolings(draw: st.DrawFn) -> Case:
    nd = draw(st.sampled_from((1, 2, 2, 2, 3)))
    is_max = draw(st.booleans())
    batched = draw(mostly(True, st.just(False)))
    sizes = tuple(draw(st.integers(1, 4 if nd == 3 else 8)) for _ in range(nd))
    channels = draw(st.integers(1, 3))
    shape = ((draw(st.integers(1, 2)),) if batched else ()) + (channels, *sizes)
    kernel = draw(st.integers(1, 5))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.integers(0, 3)))
    padding = draw(st.integers(0, 3))
    dilation = draw(mostly(1, st.integers(1, 3)))
    ceil = draw(st.booleans())
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    spec = Spec(shape, dtype, draw(layouts))
    if is_max:
        pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
        indices = draw(st.booleans())
        op = lambda x: pool(x, kernel, stride, padding, dilation, ceil, indices)  # noqa: E731
        label = f"max_pool{nd}d(kernel={kernel}, stride={stride}, padding={padding}, dilation={dilation}, " \
                f"ceil_mode={ceil}, return_indices={indices})"
    else:
        pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[nd]
        include_pad = draw(st.booleans())
        divisor = draw(st.one_of(st.none(), st.none(), st.integers(0, 3))) if nd > 1 else None
        extra = () if nd == 1 else (divisor,)
        op = lambda x: pool(x, kernel, stride, padding, ceil, include_pad, *extra)  # noqa: E731
        label = f"avg_pool{nd}d(kernel={kernel}, stride={stride}, padding={padding}, ceil_mode={ceil}, " \
                f"count_include_pad={include_pad}, divisor_override={divisor})"
    differs = set()
    if nd == 1 and is_max and not indices:
        differs.add("max_pool1d_cpu_kernel")
    if nd == 3 and not batched and spec.layout is Layout.CHANNELS_LAST:
        differs.add("pool3d_unbatched_channels_last")
    return Case(label, op, (spec,), meta_differs=frozenset(differs))


POOLING_EXAMPLES = (  # a batched 4-d input keeps its memory format; an unbatched 3-d one is contiguous
    Case("max_pool2d(kernel=2, return_indices=True)", lambda x: F.max_pool2d(x, 2, return_indices=True),
         (Spec((2, 3, 4, 4), layout=Layout.CHANNELS_LAST),)),
    Case("avg_pool2d(kernel=2)", lambda x: F.avg_pool2d(x, 2), (Spec((2, 3, 4, 4), layout=Layout.CHANNELS_LAST),)),
    Case("avg_pool2d(kernel=2)", lambda x: F.avg_pool2d(x, 2), (Spec((3, 4, 4), layout=Layout.TRANSPOSED),)),
)


def test_pooling_matches_torch():
    drive(poolings(), {aten.max_pool2d_with_indices, aten.avg_pool2d}, examples=POOLING_EXAMPLES)


@st.composite
def adaptive_poolings(draw: st.DrawFn) -> Case:
    shape = tuple(draw(st.integers(1, 7)) for _ in range(draw(st.sampled_from((3, 4, 4)))))
    size = (draw(st.integers(0, 5)), draw(st.integers(1, 5)))
    spec = Spec(shape, draw(st.sampled_from((torch.float32, torch.float64))), draw(layouts))
    if draw(st.booleans()):  # the aten op itself: F.adaptive_avg_pool2d turns a 1×1 output into a mean
        return Case(f"_adaptive_avg_pool2d({size})", lambda x: aten._adaptive_avg_pool2d(x, list(size)), (spec,))
    return Case(f"adaptive_avg_pool2d({size})", lambda x: F.adaptive_avg_pool2d(x, size), (spec,))


def test_adaptive_pooling_matches_torch():
    channels_last = Case("_adaptive_avg_pool2d([2, 2])", lambda x: aten._adaptive_avg_pool2d(x, [2, 2]),
                         (Spec((2, 3, 5, 5), layout=Layout.CHANNELS_LAST),))
    drive(adaptive_poolings(), {aten._adaptive_avg_pool2d, aten.mean}, lines_elsewhere=frozenset({aten.mean}),
          examples=(channels_last,))


# ---------------------------------------------------------------- activations

ANY_DTYPE = st.sampled_from((*FLOATS, *FLOATS, torch.int64, torch.bool))



UNARY = {
    aten.relu: 0, aten.gelu: 0, aten.silu: 0, aten.sigmoid: 0, aten.tanh: 0, aten.hardswish: 0,
    aten.hardsigmoid: 0, aten.mish: 0, aten.hardtanh: 2, aten.leaky_relu: 1, aten.elu: 3,
}


@st.composite
def unary_calls(draw: st.DrawFn) -> Case:
    packet = draw(st.sampled_from(sorted(UNARY, key=str)))
    if draw(st.booleans()):
        packet = getattr(aten, packet.__name__ + "_")
    spec = Spec(draw(small_shapes()), draw(mostly(torch.float32, ANY_DTYPE, often=2)), draw(layouts))
    numbers = draw(st.lists(st.sampled_from((-1.0, 0.0, 0.5, 2, 1e-2)), max_size=UNARY.get(packet, UNARY.get(
        getattr(aten, packet.__name__.rstrip("_")), 0))))
    kwargs = {}
    if packet in (aten.gelu, aten.gelu_):
        kwargs = draw(st.sampled_from(({}, {"approximate": "tanh"}, {"approximate": "none"}, {"approximate": "x"})))
    differs = set() if spec.dtype.is_floating_point else {"dtype_support"}
    if packet.__name__.endswith("_") and spec.layout is Layout.EXPANDED:
        differs.add("in_place_overlap")
    return Case(f"{packet.__name__}(x, *{numbers}, **{kwargs})", lambda x: packet(x, *numbers, **kwargs), (spec,),
                meta_differs=frozenset(differs))


def test_unary_activations_match_torch():
    packets = set(UNARY) | {getattr(aten, p.__name__ + "_") for p in UNARY}
    drive(unary_calls(), packets)


# ---------------------------------------------------------------- broadcasting arithmetic

BINARY = (aten.add, aten.sub, aten.mul, aten.div, aten.pow)
BINARY_IN_PLACE = (aten.add_, aten.sub_, aten.mul_, aten.div_)


@st.composite
def broadcast_partner(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts with `shape` (a trailing part of it, some dims set to 1), or now and then not."""
    keep = draw(st.integers(0, len(shape)))
    partner = [1 if draw(st.booleans()) else n for n in shape[len(shape) - keep:]]
    if draw(st.integers(0, 9)) == 0:
        partner = [draw(st.integers(0, 3)) for _ in partner]
    if draw(st.integers(0, 5)) == 0:
        partner = [draw(st.integers(1, 2))] + partner
    return tuple(partner)


@st.composite
def binary_calls(draw: st.DrawFn) -> Case:
    packet = draw(st.sampled_from(BINARY + BINARY_IN_PLACE))
    shape = draw(small_shapes())
    a = Spec(shape, draw(mostly(torch.float32, ANY_DTYPE, often=2)), draw(layouts))
    specs = [a]
    if draw(st.integers(0, 2)) == 0:
        # Not drawn: `True`, which meta accepts in sub and the CPU refuses (no stand-in answers a bool), and a
        # complex number in place, which meta accepts and the CPU cannot cast back (no stand-in answers complex).
        numbers = (2, -1, 0.5, 3.0) if packet in BINARY_IN_PLACE else (2, -1, 0.5, 3.0, 1j)
        other: Any = draw(st.sampled_from(numbers))
    else:
        same = draw(st.integers(0, 3)) > 0
        specs.append(Spec(draw(broadcast_partner(shape)), a.dtype if same else draw(ANY_DTYPE), draw(layouts)))
        other = None
    # Not drawn: alpha=True, which meta accepts and the CPU refuses for non-bool results; no stand-in answers it
    # (it reaches torch's meta kernel), and the size checks do not cover add.
    kwargs = draw(st.sampled_from(({}, {}, {"alpha": 2}, {"alpha": 0.5})))

    def op(x: torch.Tensor, y: torch.Tensor | None = None) -> Any:
        return packet(x, y if other is None else other, **kwargs)

    differs = set() if all(s.dtype.is_floating_point for s in specs) else {"dtype_support"}
    if packet in BINARY_IN_PLACE and a.layout is Layout.EXPANDED:
        differs.add("in_place_overlap")
    return Case(f"{packet.__name__}(a, {'b' if other is None else other!r}, **{kwargs})", op, tuple(specs),
                meta_differs=frozenset(differs))


def test_broadcasting_arithmetic_matches_torch():
    drive(binary_calls(), set(BINARY) | set(BINARY_IN_PLACE))


# ---------------------------------------------------------------- batch norm


@st.composite
def batch_norms(draw: st.DrawFn) -> Case:
    shape = (draw(st.integers(1, 3)), *[draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 3)))])
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    channels = shape[1]
    x = Spec(shape, dtype, draw(layouts))

    def vector() -> Spec | None:
        size = draw(mostly(channels, st.integers(1, 4), often=10))
        return None if draw(st.integers(0, 9)) == 0 else Spec((size,), draw(mostly(dtype, st.sampled_from(FLOATS),
                                                                                  often=8)))

    weight, bias, mean, var = vector(), vector(), vector(), vector()
    # Not drawn: one running statistic without the other, which the CPU refuses and meta accepts (no stand-in
    # answers it; the size checks do not cover batch norm).
    if (mean is None) != (var is None):
        mean = var = None
    training = draw(st.booleans())
    legit = not training and draw(st.booleans())
    if legit and draw(mostly(True, st.just(False))):  # mostly with running statistics of the right size
        mean, var = Spec((channels,), dtype), Spec((channels,), dtype)
    present = [v is not None for v in (weight, bias, mean, var)]
    specs = [x, *[v for v in (weight, bias, mean, var) if v is not None]]

    def op(x: torch.Tensor, *given: torch.Tensor) -> Any:
        values = iter(given)
        w, b, m, v = (next(values) if p else None for p in present)
        if legit:
            return aten._native_batch_norm_legit_no_training(x, w, b, m, v, 0.1, 1e-5)
        return aten.native_batch_norm(x, w, b, m, v, training, 0.1, 1e-5)

    differs = {"bn_eval_stats"} if not training else set()
    if x.layout is not Layout.CONTIGUOUS:
        differs.add("bn_layout")
    vectors = [v for v in (weight, bias, mean, var) if v is not None]
    if any(v.dtype != dtype for v in vectors):
        differs.add("bn_dtype")
    name = "_native_batch_norm_legit_no_training" if legit else f"native_batch_norm(training={training})"
    # torch 2.14.1's CPU batch norm crashes the process (segmentation fault) on a weight, bias or running statistic
    # shorter than the channels, and in eval mode without running statistics: such calls are compared with meta.
    crashes = any(v.shape != (channels,) for v in vectors) or (not training and not (present[2] and present[3]))
    return Case(name, op, tuple(specs), meta_differs=frozenset(differs), cpu_crashes=crashes)


BATCH_NORM_EXAMPLES = (  # the result takes the input's suggested memory format, 4-d and 5-d alike
    Case("native_batch_norm(training=True)", lambda x, w, b: aten.native_batch_norm(x, w, b, None, None, True, 0.1,
                                                                                    1e-5),
         (Spec((2, 3, 2, 2), layout=Layout.CHANNELS_LAST), Spec((3,)), Spec((3,))),
         meta_differs=frozenset({"bn_layout"})),
    Case("native_batch_norm(training=True)", lambda x: aten.native_batch_norm(x, None, None, None, None, True, 0.1,
                                                                              1e-5),
         (Spec((2, 3, 2, 2, 2), layout=Layout.CHANNELS_LAST),), meta_differs=frozenset({"bn_layout"})),
    Case("_native_batch_norm_legit_no_training", lambda x, m, v: aten._native_batch_norm_legit_no_training(
        x, None, None, m, v, 0.1, 1e-5), (Spec((2, 3, 2, 2), layout=Layout.CHANNELS_LAST), Spec((3,)), Spec((3,))),
         meta_differs=frozenset({"bn_layout", "bn_eval_stats"})),
)


def test_batch_norm_matches_torch():
    drive(batch_norms(), {aten.native_batch_norm, aten._native_batch_norm_legit_no_training},
          examples=BATCH_NORM_EXAMPLES)


@st.composite
def layer_norms(draw: st.DrawFn) -> Case:
    shape = draw(small_shapes(min_dims=1))
    dtype = draw(st.sampled_from(FLOATS))
    count = draw(st.integers(1, len(shape)))
    normalized = list(shape[len(shape) - count:])
    if draw(st.integers(0, 7)) == 0:
        normalized = [draw(st.integers(0, 4)) for _ in range(draw(st.integers(0, 3)))]
    specs = [Spec(shape, dtype, draw(layouts))]
    present = []
    for _ in ("weight", "bias"):
        present.append(draw(st.booleans()))
        if present[-1]:
            param_shape = tuple(normalized) if draw(st.integers(0, 7)) else tuple(draw(small_shapes(1, 2)))
            specs.append(Spec(param_shape, draw(mostly(dtype, st.sampled_from(FLOATS), often=6))))

    def op(x: torch.Tensor, *given: torch.Tensor) -> Any:
        values = iter(given)
        weight, bias = (next(values) if p else None for p in present)
        return aten.native_layer_norm(x, normalized, weight, bias, 1e-5)

    differs = set()
    if any(s.dtype != dtype for s in specs):
        differs.add("layer_norm_mixed_dtype")
    if dtype in (torch.float16, torch.bfloat16):
        differs.add("layer_norm_stats_dtype")
    return Case(f"native_layer_norm({normalized})", op, tuple(specs), meta_differs=frozenset(differs))


def test_layer_norm_matches_torch():
    drive(layer_norms(), {aten.native_layer_norm})


@st.composite
def softmaxes(draw: st.DrawFn) -> Case:
    shape = draw(small_shapes())
    dtype = draw(st.sampled_from(FLOATS))
    spec = Spec(shape, dtype, draw(layouts))
    # Not drawn: an out-of-range dim, which meta's softmax accepts on a tensor of at most one element and the CPU
    # refuses (no stand-in answers it).
    dim = draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    kind = draw(st.sampled_from(("_softmax", "_log_softmax", "_safe_softmax")))
    if kind == "_safe_softmax":
        extra = draw(st.sampled_from(((), (None,), (dtype,), (torch.float64,))))
    else:
        extra = (draw(mostly(False, st.just(True))),)
    packet = getattr(aten, kind)
    differs = set()
    if extra == (True,):
        differs.add("softmax_half_to_float")
    return Case(f"{kind}(dim={dim}, *{extra})", lambda x: packet(x, dim, *extra), (spec,),
                meta_differs=frozenset(differs))


def test_softmax_matches_torch():
    drive(softmaxes(), {aten._softmax, aten._log_softmax, aten._safe_softmax})


# ---------------------------------------------------------------- reductions, concatenation, matrix products


@st.composite
def reductions(draw: st.DrawFn) -> Case:
    packet = draw(st.sampled_from((aten.mean, aten.sum)))
    shape = draw(small_shapes())
    spec = Spec(shape, draw(ANY_DTYPE), draw(layouts))
    dims = draw(st.one_of(st.none(), st.lists(st.integers(-len(shape) - 1, len(shape)), max_size=3)))
    keepdim = draw(st.booleans())
    args = () if dims is None and draw(st.booleans()) else (dims, keepdim)
    differs = frozenset() if spec.dtype.is_floating_point else frozenset({"dtype_support"})
    return Case(f"{packet.__name__}(x, *{args})", lambda x: packet(x, *args), (spec,), meta_differs=differs)


def test_mean_and_sum_match_torch():
    drive(reductions(), {aten.mean, aten.sum})


@st.composite
def concatenations(draw: st.DrawFn) -> Case:
    shape = draw(small_shapes(min_dims=0))
    dim = draw(st.integers(-len(shape) - 1, len(shape)))
    specs = []
    for _ in range(draw(st.integers(1, 3))):
        other = list(shape)
        if shape and -len(shape) <= dim < len(shape):
            other[dim] = draw(st.integers(0, 3))
        if draw(st.integers(0, 7)) == 0:
            other = list(draw(small_shapes()))
        specs.append(Spec(tuple(other), draw(mostly(torch.float32, ANY_DTYPE)), draw(layouts)))
    differs = frozenset() if all(s.dtype == specs[0].dtype for s in specs) else frozenset({"dtype_support"})
    return Case(f"cat(dim={dim})", lambda *ts: torch.cat(ts, dim), tuple(specs), meta_differs=differs)


def _cat(dim: int, *specs: Spec) -> Case:
    return Case(f"cat(dim={dim})", lambda *ts: torch.cat(ts, dim), specs)


CL = CL3 = Layout.CHANNELS_LAST  # channels_last for a 4-d spec, channels_last_3d for a 5-d one
CAT_EXAMPLES = (  # the result keeps the operands' one memory format, else is contiguous
    _cat(1, Spec((1, 3, 2, 2), layout=CL), Spec((1, 2, 2, 2), layout=CL)),
    _cat(0, Spec((1, 2, 2, 3, 2), layout=CL3), Spec((2, 2, 2, 3, 2), layout=CL3)),
    _cat(1, Spec((1, 3, 2, 2), layout=CL), Spec((1, 2, 2, 2))),
)


def test_cat_matches_torch():
    drive(concatenations(), {aten.cat}, examples=CAT_EXAMPLES)


@st.composite
def matrix_products(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(("mm", "addmm", "bmm")))
    n, k, p, batch = (draw(st.integers(0, 4)) for _ in range(4))
    k2 = draw(mostly(k, st.integers(0, 4)))
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    other_dtype = draw(mostly(dtype, st.sampled_from(FLOATS), often=6))
    lead = (batch,) if kind == "bmm" else ()
    b_lead = (draw(mostly(batch, st.integers(0, 3))),) if kind == "bmm" else ()
    specs = [Spec((*lead, n, k), dtype, draw(layouts)), Spec((*b_lead, k2, p), other_dtype, draw(layouts))]
    kwargs = {}
    if kind == "addmm":
        # Not drawn: a 3-d bias, which meta accepts when n or p is 0 and the CPU refuses (no stand-in answers it).
        bias_shape = draw(st.sampled_from(((p,), (1, p), (n, p), (n, 1), (), (p + 1,))))
        specs.insert(0, Spec(bias_shape, draw(mostly(dtype, st.sampled_from(FLOATS), often=6))))
        kwargs = draw(st.sampled_from(({}, {"beta": 0.5}, {"alpha": 2, "beta": 0})))
    packet = getattr(aten, kind)
    differs = frozenset() if all(s.dtype == dtype for s in specs) else frozenset({"dtype_support"})
    return Case(f"{kind}(**{kwargs})", lambda *ts: packet(*ts, **kwargs), tuple(specs), meta_differs=differs)


def test_matrix_products_match_torch():
    drive(matrix_products(), {aten.mm, aten.addmm, aten.bmm})


@st.composite
def grouped_products(draw: st.DrawFn) -> Case:
    """aten._grouped_mm, a mixture of experts' expert layers: 2-d tokens @ 3-d experts (the forward), 2-d @ 2-d and
    3-d @ 2-d (the gradients), 3-d @ 3-d; sizes mostly multiples of 8 so that the CPU kernel's 16-byte stride rule
    holds, the offsets built on the operands' device (valid ones on the CPU: the jagged dim cut evenly)."""
    kind = draw(st.sampled_from(("2d3d", "2d3d", "2d2d", "3d2d", "3d3d")))
    size = lambda: draw(mostly(8, st.sampled_from((4, 16, 6, 2)), often=3))  # noqa: E731
    groups, m, k, n = draw(st.integers(1, 3)), size(), size(), size()
    dtype = draw(st.sampled_from((torch.float32, torch.bfloat16, torch.float16)))
    other = draw(mostly(dtype, st.sampled_from(FLOATS), often=6))
    shapes = {"2d3d": ((m, k), (groups, draw(mostly(k, st.just(k + 8))), n)), "2d2d": ((m, k), (k, n)),
              "3d2d": ((groups, m, k), (k, n)), "3d3d": ((groups, m, k), (draw(mostly(groups, st.just(groups + 1))),
                                                                         k, n))}[kind]
    jagged = {"2d3d": m, "2d2d": k, "3d2d": n, "3d3d": 0}[kind]
    offsets = draw(st.sampled_from(("even", "even", "even", "int64", "short", "none"))) if kind != "3d3d" else \
        draw(mostly("none", st.just("even")))
    specs = (Spec(shapes[0], dtype, draw(mostly(Layout.CONTIGUOUS, layouts))),
             Spec(shapes[1], other, draw(mostly(Layout.CONTIGUOUS, layouts))))

    def op(a: torch.Tensor, b: torch.Tensor) -> Any:
        if offsets == "none":
            return aten._grouped_mm(a, b)
        count = groups + 1 if offsets == "short" else groups
        values = [jagged * (g + 1) // count for g in range(count)]
        offs = torch.tensor(values, dtype=torch.int64 if offsets == "int64" else torch.int32, device=a.device)
        return aten._grouped_mm(a, b, offs)

    differs = {"grouped_mm_dtype"} if dtype is not torch.bfloat16 else set()
    if {specs[0].layout, specs[1].layout} != {Layout.CONTIGUOUS}:
        differs.add("grouped_mm_layout")
    if other != dtype:
        differs.add("dtype_support")
    return Case(f"_grouped_mm[{kind}, offsets {offsets}]", op, specs, meta_differs=frozenset(differs))


def test_grouped_matrix_products_match_torch():
    drive(grouped_products(), {aten._grouped_mm})


# ---------------------------------------------------------------- copies: stack, roll, clone, empty_like, bernoulli_


@st.composite
def stacks(draw: st.DrawFn) -> Case:
    shape = draw(small_shapes())
    dim = draw(st.integers(-len(shape) - 2, len(shape) + 1))
    specs = [Spec(draw(mostly(shape, small_shapes(), often=8)), draw(mostly(torch.float32, ANY_DTYPE, often=6)),
                  draw(layouts)) for _ in range(draw(st.integers(1, 3)))]
    differs = frozenset() if all(s.dtype == specs[0].dtype for s in specs) else frozenset({"dtype_support"})
    return Case(f"stack(dim={dim})", lambda *ts: torch.stack(ts, dim), tuple(specs), meta_differs=differs)


def test_stack_matches_torch():
    drive(stacks(), {aten.stack})


@st.composite
def rolls(draw: st.DrawFn) -> Case:
    shape = draw(small_shapes())
    count = draw(st.integers(0, 3))
    length = draw(mostly(max(count, 1), st.integers(0, 3)))
    shifts = draw(st.lists(st.integers(-5, 5), min_size=length, max_size=length))
    dims = draw(st.lists(st.integers(-len(shape) - 1, len(shape)), min_size=count, max_size=count))
    spec = Spec(shape, draw(mostly(torch.float32, ANY_DTYPE, often=6)), draw(layouts))
    differs = set() if spec.dtype.is_floating_point else {"dtype_support"}
    if 0 in shape:
        differs.add("roll_empty")
    return Case(f"roll(shifts={shifts}, dims={dims})", lambda x: torch.roll(x, shifts, dims), (spec,),
                meta_differs=frozenset(differs))


def test_roll_matches_torch():
    drive(rolls(), {aten.roll})


MEMORY_FORMATS = (None, torch.preserve_format, torch.contiguous_format, torch.channels_last)


@st.composite
def likes(draw: st.DrawFn) -> Case:
    """clone, empty_like and bernoulli_ (F.dropout's pieces in training: empty_like → bernoulli_ → div_ → mul)."""
    kind = draw(st.sampled_from(("clone", "empty_like", "bernoulli_")))
    spec = Spec(draw(small_shapes()), draw(mostly(torch.float32, ANY_DTYPE, often=6)), draw(layouts))
    differs = set() if spec.dtype.is_floating_point else {"dtype_support"}
    if kind == "bernoulli_":
        p = draw(st.sampled_from((0.5, 0.0, 1.0, 0.9, 1.5, -0.1)))
        if spec.layout is Layout.EXPANDED:
            differs.add("bernoulli_overlap")
        if not 0 <= p <= 1:
            differs.add("bernoulli_p")
        return Case(f"bernoulli_({p})", lambda x: x.bernoulli_(p), (spec,), meta_differs=frozenset(differs))
    kwargs: dict[str, Any] = {}
    memory_format = draw(st.sampled_from(MEMORY_FORMATS))
    if memory_format is not None:
        kwargs["memory_format"] = memory_format
    if kind == "empty_like" and draw(st.booleans()):
        kwargs["dtype"] = draw(st.sampled_from((torch.float64, torch.float16, torch.int64)))
    packet = aten.clone if kind == "clone" else aten.empty_like
    return Case(f"{kind}(**{kwargs})", lambda x: packet(x, **kwargs), (spec,), meta_differs=frozenset(differs))


def test_clone_empty_like_and_bernoulli_match_torch():
    drive(likes(), {aten.clone, aten.empty_like, aten.bernoulli_})


@st.composite
def new_tensors(draw: st.DrawFn) -> Case:
    """new_zeros and new_empty_strided, as backwards of indexing and of as_strided allocate."""
    spec = Spec(draw(small_shapes(max_dims=2)), draw(mostly(torch.float32, ANY_DTYPE, often=6)), draw(layouts))
    size = draw(small_shapes())
    kwargs = draw(st.sampled_from(({}, {}, {"dtype": torch.float64}, {"dtype": torch.int64})))
    differs = frozenset() if spec.dtype.is_floating_point else frozenset({"dtype_support"})
    if draw(st.booleans()):
        return Case(f"new_zeros({size}, **{kwargs})", lambda x: x.new_zeros(size, **kwargs), (spec,),
                    meta_differs=differs)
    stride = draw(mostly([draw(st.integers(0, 6)) for _ in size], small_shapes()))
    return Case(f"new_empty_strided({size}, {stride}, **{kwargs})",
                lambda x: x.new_empty_strided(size, stride, **kwargs), (spec,), meta_differs=differs)


def test_new_zeros_and_new_empty_strided_match_torch():
    drive(new_tensors(), {aten.new_zeros, aten.new_empty_strided})


@st.composite
def index_puts(draw: st.DrawFn) -> Case:
    """index_put, the backward of indexing by integer tensors (Swin's relative position bias)."""
    shape = draw(small_shapes(min_dims=1))
    count = draw(st.integers(1, len(shape)))
    index_shape = draw(small_shapes(max_dims=2))
    # Not drawn: floating index tensors, which meta accepts and the CPU refuses (no stand-in answers them).
    index_specs = [Spec(draw(mostly(index_shape, small_shapes(max_dims=2), often=8)),
                        draw(mostly(torch.int64, st.just(torch.int32))),
                        draw(layouts)) for _ in range(count)]
    target = (*index_shape, *shape[count:])
    values_shape = draw(mostly(target[len(target) - draw(st.integers(0, len(target))):], small_shapes()))
    dtype = draw(mostly(torch.float32, st.sampled_from(FLOATS), often=2))
    specs = (Spec(shape, dtype, draw(layouts)), Spec(values_shape, other := draw(mostly(dtype, ANY_DTYPE)),
                                                     draw(layouts)), *index_specs)
    accumulate = draw(st.booleans())
    differs = set() if other == dtype else {"dtype_support"}
    if any(shape[i] < 2 for i in range(count)):  # the indices hold 1
        differs.add("index_bounds")
    try:  # the indexed shape: the indices broadcast together, then the dims they leave
        indexed = (*torch.broadcast_shapes(*[s.shape for s in index_specs]), *shape[count:])
        if len(values_shape) > len(indexed) or torch.broadcast_shapes(values_shape, indexed) != indexed:
            differs.add("index_put_values")
    except RuntimeError:
        differs.add("index_put_values")

    def op(x: torch.Tensor, values: torch.Tensor, *indices: torch.Tensor) -> Any:
        return aten.index_put(x, list(indices), values, accumulate)

    return Case(f"index_put(accumulate={accumulate})", op, specs, meta_differs=frozenset(differs))


def test_index_put_matches_torch():
    drive(index_puts(), {aten.index_put})


def test_every_stand_in_is_driven_by_a_family():
    families = ({aten.convolution, aten.max_pool2d_with_indices, aten.avg_pool2d, aten._adaptive_avg_pool2d,
                 aten.mean, aten.sum, aten.cat, aten.mm, aten.addmm, aten.bmm, aten.native_batch_norm,
                 aten._native_batch_norm_legit_no_training, aten.native_layer_norm, aten._softmax,
                 aten._log_softmax, aten._safe_softmax, aten.stack, aten.roll, aten.clone, aten.empty_like,
                 aten.bernoulli_, aten.new_zeros, aten.new_empty_strided, aten.index_put, aten._grouped_mm}
                | set(UNARY) | {getattr(aten, p.__name__ + "_") for p in UNARY}
                | set(BINARY) | set(BINARY_IN_PLACE))
    assert set(FAST_RESULTS) == families
