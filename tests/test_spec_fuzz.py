"""Property: any text either builds a model that runs (with the shape the builder inferred) or raises `SpecError`.

Three generators feed it, over 10,000 texts in all: well-formed specs from a small grammar (most of them build,
some hit shape errors), token soup (keywords, options and junk in random order), and mutations of both and of
the shipped examples (lines dropped, duplicated, swapped, tokens replaced, characters inserted). Everything is
built on the meta device, so no size allocates memory and a forward pass costs microseconds.
"""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from explorer.spec import DEFAULT_LIMITS, EXAMPLES, SpecError, load_spec, parse_spec
from explorer.spec.module_count import module_count

# --- well-formed specs ------------------------------------------------------------------------------------------
# Lines are drawn whole from pools (one draw per line keeps generation cheap). The generator tracks the channel
# count so that most blocks line up (and build), while a share of free-form lines still trips shape errors.

ACTIVATIONS = ["relu", "relu6", "tanh", "sigmoid", "silu", "gelu", "softmax"]
CONV_TAILS = ["", "s2", "same", "p1", "s2 same", "d2", "nobias bn relu", "relu6 x2", "silu", "valid ×2", "g=2"]
FREE_LINES = [
    f"conv {f} {k} {tail}".strip()
    for f in (1, 4, 8, 12)
    for k in ("1x1", "3x3", "5x5", "1x3", "2x2")
    for tail in CONV_TAILS
] + [
    "maxpool 2", "maxpool 3 s1 same", "avgpool 2 s2", "maxpool 3 s2", "avgpool 3 s1 p1", "maxpool 1x3 s1",
    "avgpool 2x2 s1 relu", "bn", "dropout", "dropout 0.2", *ACTIVATIONS,
]  # fmt: skip
HEADS = [["flatten"], ["globalavgpool", "flatten"], ["globalmaxpool", "flatten"], ["flatten", "bn"]]
FC_LINES = ["fc 10", "fc 8 relu", "fc 4 bn relu x2", "fc 3 softmax", "fc 6 nobias", "fc 5 gelu", "dropout 0.1"]


def keeping_shape(c: int) -> list[str]:
    """Lines that keep an H×W×c volume as it is: what residual bodies and branch paths are mostly made of."""
    lines = [f"conv {c} 3x3 same", f"conv {c} 1x1 relu", f"conv {c} 3x3 same depthwise nobias", "bn", "relu",
             f"conv {c} 5x5 same relu6", "maxpool 3 s1 same", "avgpool 3x3 s1 same", "dropout", "sigmoid",
             f"conv {c} 1x1 s1 valid", f"conv {c} 3x3 p1 d1 tanh", "lrn", "lrn 3 alpha=1e-3 beta=0.5 k=1"]  # fmt: skip
    return lines + ([f"conv {c} 3x3 same g=2 relu"] if c % 2 == 0 else [])


@st.composite
def sequence(draw: st.DrawFn, c: int, depth: int, keep_shape: bool) -> tuple[list[str], int]:
    """Lines for an H×W×c input, and the channels they end with."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 2 if depth else 3))):
        kind = draw(st.sampled_from(["keep", "keep", "free", "widen", "block"] if depth < 2 else ["keep", "free"]))
        if kind == "keep" or (kind == "free" and keep_shape and draw(st.integers(0, 9))):
            lines.append(draw(st.sampled_from(keeping_shape(c))))
        elif kind == "free":
            line = draw(st.sampled_from(FREE_LINES))
            lines.append(line)
            if line.startswith("conv"):
                c = int(line.split()[1])
        elif kind == "widen":
            c = draw(st.sampled_from([4, 6, 8, 16]))
            shape = "3x3 same" if keep_shape else draw(st.sampled_from(["3x3", "1x1 s2", "3x3 s2 same"]))
            lines.append(f"conv {c} {shape}")
        elif draw(st.booleans()):
            paths = [draw(sequence(c, depth + 1, keep_shape=True)) for _ in range(draw(st.integers(1, 2)))]
            paths += [([], c)] if draw(st.integers(0, 4)) == 0 else []  # an identity path
            lines += ["branch", *(line for path, _ in paths for line in ["path", *path])]
            join = draw(st.sampled_from(["concat", "concat relu", "mean", "mean relu"]))
            lines.append(join)
            c = sum(channels for _, channels in paths) if join.startswith("concat") else paths[0][1]
        else:
            body, body_c = draw(sequence(c, depth + 1, keep_shape=True))
            lines += [draw(st.sampled_from(["residual", "residual x2"])), *body]
            if body_c != c or draw(st.integers(0, 3)) == 0:
                lines += ["shortcut", f"conv {body_c} 1x1 {draw(st.sampled_from(['', 'nobias bn']))}".strip()]
            lines.append(draw(st.sampled_from(["add", "add relu"])))
            c = body_c
    return lines, c


@st.composite
def well_formed(draw: st.DrawFn) -> str:
    c = draw(st.sampled_from([1, 3, 4, 8]))
    size = draw(st.integers(1, 40))
    width = size if draw(st.integers(0, 3)) else draw(st.integers(1, 40))
    lines = [f"input {size}x{width}x{c}", *draw(sequence(c, 0, keep_shape=False))[0]]
    if draw(st.booleans()):
        lines += draw(st.sampled_from(HEADS))
        lines += draw(st.lists(st.sampled_from(FC_LINES), max_size=3))
    indent = draw(st.sampled_from(["", "  ", "\t"]))
    return "\n".join(indent * (i % 2) + line for i, line in enumerate(lines))


# --- token soup -----------------------------------------------------------------------------------------------

TOKENS = [
    "input", "name", "conv", "maxpool", "avgpool", "globalavgpool", "globalmaxpool", "fc", "bn", "dropout",
    "flatten", "branch", "path", "concat", "mean", "residual", "shortcut", "add", "lrn", *ACTIVATIONS,
    "alpha=1e-4", "beta=0.75", "k=2", "k=", "alpha=1e999",
    "same", "valid", "p0", "p1", "p9", "s0", "s1", "s2", "d0", "d1", "d3", "g=0", "g=1", "g=4", "groups=2",
    "depthwise", "nobias", "x0", "x1", "x2", "×2", "1x1", "3x3", "5×5", "0x3", "8x8x3", "32x32x1", "1x1x1",
    "0", "1", "2", "7", "16", "0.5", "1.5", ".3", "-1", "1e3", "nan", "4096", "65537", "9" * 30, "#", "=",
    "x", "3x", "x3x", "Conv", "RELU", "ıi", "٣", "²", "\u00a0", "",
]  # fmt: skip

soup_line = st.lists(st.sampled_from(TOKENS), max_size=6).map(" ".join)
soup = st.lists(soup_line, max_size=10).map(lambda lines: "\n".join(["input 16x16x3", *lines]))
unicode_noise = st.text(max_size=200)

# --- mutations ------------------------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    lines = draw(base).split("\n")
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "duplicate", "swap", "replace_token", "insert_char", "truncate"]))
        if action == "drop":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "replace_token":
            tokens = lines[i].split() or [""]
            tokens[draw(st.integers(0, len(tokens) - 1))] = draw(st.sampled_from(TOKENS))
            lines[i] = " ".join(tokens)
        elif action == "insert_char":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.characters()) + lines[i][at:]
        else:
            lines = lines[: i + 1]
    return "\n".join(lines)


examples = st.sampled_from(sorted(EXAMPLES.values()))
any_spec = st.one_of(  # listed twice: drawn twice as often
    well_formed(),
    mutated(well_formed()),
    mutated(well_formed()),
    mutated(examples),
    mutated(examples),
    soup,
    soup,
    unicode_noise,
)

# --- the property ---------------------------------------------------------------------------------------------


def builds_and_runs_or_spec_error(text: str) -> bool:
    """True when the text built and ran, False when it raised SpecError; anything else propagates and fails."""
    try:
        with torch.device("meta"):
            model = load_spec(text)
    except SpecError as error:
        assert str(error) and "\n" not in str(error)
        return False
    modules = len(list(model.module.modules()))
    assert modules <= DEFAULT_LIMITS.max_modules  # the work is bounded, containers and Identity paths included
    assert modules == module_count(parse_spec(text))  # what the limit was checked against, before building
    out = model.module(torch.empty((1, *model.input_size), device="meta"))
    assert tuple(out.shape) == (1, *model.output_shape)
    return True


OUTCOMES: dict[bool, int] = {True: 0, False: 0}

# Seed cases: texts that once got past the limits. 256 residuals around a branch of 1,000 empty paths built
# 257,024 modules (22 s, 1.44 GB) because an empty path's nn.Identity was not counted.
IDENTITY_BOMB = "input 1x1x1\nresidual x256\nbranch\n" + "path\n" * 1000 + "concat\nconv 1 1x1\nadd\n"


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(any_spec)
@example(IDENTITY_BOMB)
def test_any_text_builds_and_runs_or_raises_spec_error(text: str) -> None:
    OUTCOMES[builds_and_runs_or_spec_error(text)] += 1


def test_fuzzing_reaches_both_outcomes() -> None:
    # guards against a generator that only ever produces errors (or only valid specs)
    if OUTCOMES[True] + OUTCOMES[False] == 0:
        test_any_text_builds_and_runs_or_raises_spec_error()
    assert OUTCOMES[True] >= 1_000 and OUTCOMES[False] >= 1_000, OUTCOMES
