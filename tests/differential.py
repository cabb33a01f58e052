"""The harness of the differential tests (tests/test_fast_shapes_differential.py for the forward stand-ins,
tests/test_backward_shapes_differential.py for the backward ones): test tensors in every memory layout, what a call
returned or refused, and `drive`, which runs a family's random cases, its explicit examples, and then checks that
every stand-in answered and that every line of it ran.

Why the line check and the examples: random cases reach a stand-in's rare branches rarely. A mutation that made
`cat` ignore channels-last survived the 150 random cases and was caught only at 3,000, because two or three
channels-last 4-d operands of one dtype and rank are a small share of what the strategy draws. Each branch is
forced instead: a line that never ran fails the test, and a branch inside one line (`a if c else b`) gets an
explicit example.
"""

from __future__ import annotations

import contextlib
import linecache
import sys
from dataclasses import dataclass
from enum import Enum
from types import CodeType, FrameType
from typing import Any, Callable, ContextManager, Iterable, Iterator

import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from torch.utils._python_dispatch import TorchDispatchMode

from analyzers.errors import first_line

__all__ = ["DIFFERENTIAL", "FLOATS", "BareMode", "Case", "Layout", "Outcome", "Spec", "drive", "layout_strides",
           "layouts", "mostly", "outcome", "recording", "small_shapes", "under_bare_mode"]

DIFFERENTIAL = settings(max_examples=150, derandomize=True, deadline=None, database=None, print_blob=False,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                               HealthCheck.filter_too_much])

FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


class Layout(Enum):
    """How a test tensor's elements sit in memory: the cases whose strides a stand-in must reproduce."""

    CONTIGUOUS = "contiguous"
    CHANNELS_LAST = "channels_last"  # 4-d and 5-d tensors; contiguous otherwise
    TRANSPOSED = "transposed"  # the last two dims swapped: dense but permuted
    SLICED = "sliced"  # every other element of the last dim: not dense
    EXPANDED = "expanded"  # the first dim broadcast from size 1 (stride 0): overlapping


@dataclass(frozen=True)
class Spec:
    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    layout: Layout = Layout.CONTIGUOUS

    def build(self, device: str) -> torch.Tensor:
        shape, kind = self.shape, self.layout
        options = {"dtype": self.dtype, "device": device}
        if kind is Layout.CHANNELS_LAST and len(shape) in (4, 5):
            fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
            t = torch.empty(shape, memory_format=fmt, **options)
        elif kind is Layout.TRANSPOSED and len(shape) >= 2:
            t = torch.empty((*shape[:-2], shape[-1], shape[-2]), **options).transpose(-1, -2)
        elif kind is Layout.SLICED and len(shape) >= 1:
            t = torch.empty((*shape[:-1], 2 * shape[-1]), **options)[..., ::2]
        elif kind is Layout.EXPANDED and len(shape) >= 1:
            t = torch.empty((1, *shape[1:]), **options).expand(shape)
        else:
            t = torch.empty(shape, **options)
        if device == "cpu":
            (t if kind is not Layout.EXPANDED or not len(shape) else t[:1]).fill_(
                True if self.dtype is torch.bool else 1 if not self.dtype.is_floating_point else 0.5)
        return t


@dataclass(frozen=True)
class Case:
    """One call: `op(*tensors built from specs)`; `label` says what it is when the test fails."""

    label: str
    op: Callable[..., Any]
    specs: tuple[Spec, ...]
    meta_differs: frozenset[str] = frozenset()  # the documented meta/CPU differences this case may show
    cpu_crashes: bool = False  # torch's CPU kernel crashes the process on this call: compare with meta alone

    def tensors(self, device: str) -> list[torch.Tensor]:
        return [s.build(device) for s in self.specs]

    def __repr__(self) -> str:
        return f"{self.label} on {[(s.shape, str(s.dtype), s.layout.value) for s in self.specs]}"


@dataclass(frozen=True)
class Outcome:
    error: str | None
    tensors: tuple[tuple[tuple[int, ...], torch.dtype, tuple[int, ...], str], ...] = ()
    aliases_first_input: bool = False

    def key(self, with_device: bool = False) -> tuple:
        tensors = self.tensors if with_device else tuple(t[:3] for t in self.tensors)
        return self.error is not None, tensors, self.aliases_first_input


def layout_strides(t: torch.Tensor) -> tuple[int | None, ...] | None:
    """The strides that place elements in memory: none for a tensor with no elements, and none on size-1 dims
    (they address nothing; torch's own kernels disagree about them from backend to backend)."""
    if not t.numel():
        return None
    return tuple(stride if size != 1 else None for size, stride in zip(t.shape, t.stride()))


def outcome(run: Callable[..., Any], tensors: list[torch.Tensor]) -> Outcome:
    try:
        result = run(*tensors)
    except Exception as exc:  # any refusal counts; its text is only for the failure report
        return Outcome(error=f"{type(exc).__name__}: {first_line(exc)}")
    results = result if isinstance(result, (tuple, list)) else (result,)
    described = tuple((tuple(t.shape), t.dtype, layout_strides(t), t.device.type) for t in results
                      if isinstance(t, torch.Tensor))
    return Outcome(None, described, bool(tensors) and result is tensors[0])


class BareMode(TorchDispatchMode):
    """A dispatch mode that only runs each op: some composite ops take another path under any mode (max_pool1d)."""

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        return func(*args, **(kwargs or {}))


def under_bare_mode(op: Callable[..., Any]) -> Callable[..., Any]:
    def run(*tensors: torch.Tensor) -> Any:
        with BareMode():
            return op(*tensors)

    return run


# ---------------------------------------------------------------- strategies shared by the families

layouts = st.sampled_from(list(Layout))


def mostly(value: Any, other: st.SearchStrategy, often: int = 4) -> st.SearchStrategy:
    """`value` most of the time, otherwise something drawn from `other` (usually a value torch refuses)."""
    return st.one_of(*[st.just(value)] * often, other)


def small_shapes(min_dims: int = 0, max_dims: int = 4, max_size: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(0, max_size), min_size=min_dims, max_size=max_dims).map(tuple)


# ---------------------------------------------------------------- driving a family


StandIn = Callable[[tuple, dict], Any]


@contextlib.contextmanager
def recording(table: dict[Any, StandIn], install: Callable[[dict[Any, StandIn]], ContextManager[Any]],
              on_answer: Callable[[Any], None] = lambda packet: None) -> Iterator[set]:
    """`install` a copy of the stand-in `table` whose entries note which stand-ins answered (returned a result):
    a stand-in that always declines would pass the comparison vacuously."""
    answered: set = set()

    def recorder(packet: Any, fn: StandIn) -> StandIn:
        def record(args: tuple, kwargs: dict) -> Any:
            result = fn(args, kwargs)
            if result is not None:
                answered.add(packet)
                on_answer(packet)
            return result

        return record

    with install({packet: recorder(packet, fn) for packet, fn in table.items()}):
        yield answered


def drive(strategy: st.SearchStrategy[Case], packets: set, *, check: Callable[[Case], None],
          table: dict[Any, StandIn], answers: Callable[[], ContextManager[set]],
          max_examples: int = DIFFERENTIAL.max_examples, examples: Iterable[Case] = (),
          lines_elsewhere: frozenset = frozenset()) -> None:
    """Check every case hypothesis draws from `strategy` and every explicit example; then that each stand-in of
    `packets` (from `table`) answered at least once and that every line of it that can answer ran (except for those
    in `lines_elsewhere`, which another family drives through all their lines)."""

    @settings(DIFFERENTIAL, max_examples=max_examples)
    @given(strategy)
    def run(case: Case) -> None:
        check(case)

    for case in examples:
        run = example(case)(run)
    codes = {_code(table[packet]) for packet in packets - lines_elsewhere}
    with answers() as answered, _lines_run(codes) as ran:
        run()
    assert packets <= answered, f"never answered: {packets - answered}"
    missed = {f"{code.co_name} ({code.co_filename.rpartition('/')[2]})": sorted(_lines(code) - ran[code])
              for code in codes if _lines(code) - ran[code]}
    assert not missed, f"lines of stand-ins that never ran (add a case that reaches them): {missed}"


def _code(fn: Callable[..., Any]) -> CodeType:
    """The stand-in's own code (the function it wraps, where a decorator or factory made it)."""
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn.__code__


def _lines(code: CodeType) -> set[int]:
    """The lines of `code` that must run: its statements (a docstring is a constant, not a line; the `def` line only
    sets up the frame), less those that decline (`return None`): torch's own kernel answers then, so a decline
    cannot be wrong, while an answer can."""
    return {line for _, _, line in code.co_lines() if line is not None and line != code.co_firstlineno
            and linecache.getline(code.co_filename, line).strip() != "return None"}


@contextlib.contextmanager
def _lines_run(codes: set[CodeType]) -> Iterator[dict[CodeType, set[int]]]:
    """The lines of each of `codes` that ran while the block ran (a line tracer on those frames only)."""
    ran: dict[CodeType, set[int]] = {code: set() for code in codes}

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            ran[frame.f_code].add(frame.f_lineno)
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return local if event == "call" and frame.f_code in ran else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        yield ran
    finally:
        sys.settrace(previous)
