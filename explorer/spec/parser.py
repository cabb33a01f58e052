"""## Architecture specs

One layer per line, in the notation of the course notes: sizes are written **H×W×C** (`x` or `×`), kernels
**H×W**. Keywords are lowercase; `#` starts a comment; blank lines and indentation are ignored. Lines end at a
newline (`\n` or `\r\n`) only; the name may not contain control characters.

```
name LeNet-5              # optional
input 32x32x1             # the input volume, H×W×C (required, first)
conv 6 5x5 s1 valid       # 6 filters of 5×5, stride 1, no padding
avgpool 2 s2
conv 16 5x5
avgpool 2 s2
flatten
fc 120
fc 84
fc 10 softmax
```

| line | meaning |
|---|---|
| `conv F HxW [options]` | convolution with `F` filters |
| `maxpool K [options]`, `avgpool K [options]` | pooling with a `K×K` (or `HxW`) window; stride defaults to `K` |
| `globalavgpool`, `globalmaxpool` | pool each channel to 1×1 |
| `fc N [options]` | fully connected layer with `N` outputs; needs a flat input (`flatten` first) |
| `bn` | batch norm (2-d on volumes, 1-d on flat inputs) |
| `lrn [N] [alpha=A] [beta=B] [k=K]` | local response normalization over `N` neighbouring channels (see below) |
| `relu`, `relu6`, `tanh`, `sigmoid`, `silu`, `gelu`, `softmax` | activation |
| `dropout [P]` | dropout with probability `P` (default 0.5) |
| `flatten` | volume H×W×C → H·W·C features |

`lrn` is AlexNet's (2012, §3.3): each activation is divided by `(k + α·Σa²)^β`, the sum over `N` neighbouring
channels. The defaults are the paper's `N = 5, α = 1e-4, β = 0.75, k = 2`; `α` multiplies the sum as in the paper
(PyTorch's `alpha` is α·N).

Options, in any order after the sizes:

| option | applies to | meaning |
|---|---|---|
| `sN` | conv, pools | stride `N` (conv default 1, pool default its window) |
| `valid`, `same`, `pN` | conv, pools | no padding (default); `(K−1)/2` each side, odd kernels only; `N` each side |
| `dN` | conv | dilation `N` |
| `groups=G` or `g=G` | conv | grouped convolution; `G` must divide the input channels and the filters |
| `depthwise` | conv | one group per input channel (filters a multiple of the input channels) |
| `nobias` | conv, fc | no bias term |
| `bn` | conv, fc | batch norm after the layer |
| an activation | conv, fc, pools, `concat`, `mean`, `add` | applied after the layer (and after `bn`) |
| `xN` or `×N` | conv, fc, pools, `branch`, `residual` | repeat the line (or block) `N` times, as in CONV64 ×2 |

Blocks, closed by a keyword (nesting allowed):

```
branch                    # Inception-style: each path sees the same input,
  path                    # outputs are concatenated on channels
    conv 64 1x1
  path
    conv 96 1x1
    conv 128 3x3 same
  path                    # an empty path passes its input through
concat

branch                    # FractalNet's join: close with 'mean' instead of 'concat'
  path                    # to average the paths element-wise; every path
    conv 64 3x3 same      # must give the same shape
    conv 64 3x3 same
  path
    conv 64 3x3 same
mean relu

residual                  # body, then an optional shortcut, then add
  conv 128 3x3 s2 same
  bn
  relu
  conv 128 3x3 same
  bn
shortcut                  # omitted: the identity
  conv 128 1x1 s2
  bn
add relu                  # body + shortcut, then the activation
```

Output sizes follow PyTorch: `⌊(H + 2P − D·(K−1) − 1) / S⌋ + 1`.
"""

from __future__ import annotations

import difflib
import enum
import re
from dataclasses import dataclass
from typing import Union

from analyzers.numbers import decimal_number
from explorer.spec.errors import SpecError
from explorer.spec.limits import DEFAULT_LIMITS, SpecLimits
from analyzers.safe_text import is_unsafe

__all__ = [
    "Activation", "ActivationLayer", "BatchNorm", "Branch", "Conv", "Dropout", "Flatten", "GlobalPool", "InputSpec",
    "Join", "Layer", "Linear", "LocalResponseNorm", "PadMode", "Padding", "Pair", "Pool", "PoolKind", "Residual",
    "SYNTAX_HELP", "Spec", "parse_spec", "spec_lines",
]

SYNTAX_HELP = (__doc__ or "").strip()  # the docstring above is the user-facing grammar


class Activation(str, enum.Enum):
    RELU = "relu"
    RELU6 = "relu6"
    TANH = "tanh"
    SIGMOID = "sigmoid"
    SILU = "silu"
    GELU = "gelu"
    SOFTMAX = "softmax"


class Join(str, enum.Enum):
    """How a branch combines its paths: concatenated on channels (Inception) or averaged (FractalNet)."""

    CONCAT = "concat"
    MEAN = "mean"


class PoolKind(str, enum.Enum):
    MAX = "max"
    AVG = "avg"


class PadMode(str, enum.Enum):
    VALID = "valid"
    SAME = "same"  # (K−1)/2 on each side
    EXPLICIT = "explicit"  # `amount` on each side


@dataclass(frozen=True)
class Padding:
    mode: PadMode = PadMode.VALID
    amount: int = 0  # only for EXPLICIT


Pair = tuple[int, int]  # height, width


@dataclass(frozen=True)
class InputSpec:
    line: int
    height: int
    width: int
    channels: int


@dataclass(frozen=True)
class Conv:
    line: int
    filters: int
    kernel: Pair
    stride: int = 1
    padding: Padding = Padding()
    dilation: int = 1
    groups: int = 1
    depthwise: bool = False  # groups = the input channels, known only when the shape is
    bias: bool = True
    batchnorm: bool = False
    activation: Activation | None = None
    repeat: int = 1


@dataclass(frozen=True)
class Pool:
    line: int
    kind: PoolKind
    kernel: Pair
    stride: Pair  # defaults to the window, as in PyTorch
    padding: Padding = Padding()
    activation: Activation | None = None
    repeat: int = 1


@dataclass(frozen=True)
class GlobalPool:
    line: int
    kind: PoolKind


@dataclass(frozen=True)
class Linear:
    line: int
    features: int
    bias: bool = True
    batchnorm: bool = False
    activation: Activation | None = None
    repeat: int = 1


@dataclass(frozen=True)
class BatchNorm:
    line: int


@dataclass(frozen=True)
class LocalResponseNorm:
    """AlexNet's normalization across `size` neighbouring channels, with the paper's α (it multiplies the sum)."""

    line: int
    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 2.0


@dataclass(frozen=True)
class ActivationLayer:
    line: int
    activation: Activation


@dataclass(frozen=True)
class Dropout:
    line: int
    probability: float = 0.5


@dataclass(frozen=True)
class Flatten:
    line: int


@dataclass(frozen=True)
class Branch:
    """Paths that all see the block's input; at `end_line` their outputs are concatenated on channels, or averaged."""

    line: int
    end_line: int
    paths: tuple[tuple["Layer", ...], ...]
    activation: Activation | None = None
    repeat: int = 1
    join: Join = Join.CONCAT


@dataclass(frozen=True)
class Residual:
    """`body(x) + shortcut(x)` at `end_line`; an empty shortcut is the identity."""

    line: int
    end_line: int
    body: tuple["Layer", ...]
    shortcut: tuple["Layer", ...] = ()
    activation: Activation | None = None
    repeat: int = 1


Layer = Union[
    Conv, Pool, GlobalPool, Linear, BatchNorm, LocalResponseNorm, ActivationLayer, Dropout, Flatten, Branch, Residual
]


@dataclass(frozen=True)
class Spec:
    name: str | None
    input: InputSpec
    layers: tuple[Layer, ...]


# --- tokens -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    text: str  # lowercased
    raw: str
    line: int
    column: int  # 1-based

    def error(self, message: str) -> SpecError:
        return SpecError(message, self.line, self.column)


_NUMBER = re.compile(r"[0-9]+", re.ASCII)
_PAIR = re.compile(r"([0-9]+)[x×]([0-9]+)", re.ASCII)
_VOLUME = re.compile(r"([0-9]+)[x×]([0-9]+)[x×]([0-9]+)", re.ASCII)
_REPEAT = re.compile(r"[x×]([0-9]+)", re.ASCII)
_STRIDE = re.compile(r"s([0-9]+)", re.ASCII)
_PAD = re.compile(r"p([0-9]+)", re.ASCII)
_DILATION = re.compile(r"d([0-9]+)", re.ASCII)
_GROUPS = re.compile(r"(?:groups|g)=([0-9]+)", re.ASCII)
_PROBABILITY = re.compile(r"[0-9]{1,6}(?:\.[0-9]{0,12})?|\.[0-9]{1,12}", re.ASCII)
_LRN_PARAMETER = re.compile(r"(alpha|beta|k)=(.*)", re.ASCII | re.DOTALL)
_MAX_REAL = 1e6  # no normalization constant needs more; keeps every value finite
_MAX_DIGITS = 12  # longer numbers are rejected before int() (which refuses very long ones with a ValueError)

_LAYER_KEYWORDS = (
    "conv", "maxpool", "avgpool", "globalavgpool", "globalmaxpool", "fc", "bn", "lrn", "dropout", "flatten",
    *(a.value for a in Activation),
)  # fmt: skip
_BLOCK_KEYWORDS = ("branch", "path", "concat", "mean", "residual", "shortcut", "add")
_KEYWORDS = ("input", "name", *_LAYER_KEYWORDS, *_BLOCK_KEYWORDS)
_CLOSERS = {"branch": ("concat", "mean"), "residual": ("add",)}


def _closers(opener: str) -> str:
    """The keywords that close `opener`, quoted for a message: 'concat' or 'mean'."""
    return " or ".join(f"'{word}'" for word in _CLOSERS[opener])
_EXAMPLE = {"conv": "conv 16 5x5", "maxpool": "maxpool 2 s2", "avgpool": "avgpool 2 s2", "fc": "fc 120"}


def spec_lines(text: str) -> list[str]:
    """The text's lines: only \n and \r\n end one, so that a form feed, U+2028 or U+0085 cannot end a line or a
    `#` comment early and shift every line number after it (`str.splitlines` ends lines at all of those)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _tokens(line_text: str, line: int) -> list[_Token]:
    code = line_text.split("#", 1)[0]
    return [_Token(m.group().lower(), m.group(), line, m.start() + 1) for m in re.finditer(r"\S+", code)]


def _int(token: _Token, digits: str, what: str, maximum: int) -> int:
    if len(digits) > _MAX_DIGITS:
        raise token.error(f"{what} {digits[:_MAX_DIGITS]}… is too large")
    value = int(digits)
    if value < 1:
        raise token.error(f"{what} must be at least 1, got {value}")
    if value > maximum:
        raise token.error(f"{what} {value:,} is over the limit of {maximum:,}")
    return value


def _real(token: _Token, text: str, what: str) -> float:
    """A non-negative decimal like 1e-4 or 0.75, at most 1e6."""
    value = decimal_number(text)
    if value is None or not value <= _MAX_REAL:
        raise token.error(f"{what} needs a number from 0 to {_MAX_REAL:g}, e.g. '{what}=0.75', got '{token.raw}'")
    return value


def _end_column(tokens: list[_Token]) -> int:
    """Where a missing token would go: one space after the last token."""
    last = tokens[-1]
    return last.column + len(last.raw) + 1


# --- options after a layer's sizes ----------------------------------------------------------------------


class _Options:
    """The trailing options of one line, each allowed once, parsed according to what the keyword accepts."""

    _HELP = {
        "stride": "sN",
        "padding": "same|valid|pN",
        "dilation": "dN",
        "groups": "groups=G",
        "depthwise": "depthwise",
        "nobias": "nobias",
        "bn": "bn",
        "activation": "an activation (" + ", ".join(a.value for a in Activation) + ")",
        "repeat": "xN",
        "alpha": "alpha=A",
        "beta": "beta=B",
        "k": "k=K",
    }

    def __init__(self, keyword: _Token, tokens: list[_Token], allowed: tuple[str, ...], limits: SpecLimits) -> None:
        self.values: dict[str, object] = {}
        for token in tokens:
            name, value = self._read(token, limits)
            if name == "kernel":
                raise token.error(f"{keyword.text} takes one size, got another '{token.raw}'")
            if name not in allowed:
                if not allowed:
                    raise token.error(f"{keyword.text} takes no options, got '{token.raw}'")
                expected = ", ".join(self._HELP[a] for a in allowed)
                raise token.error(f"{keyword.text} does not understand '{token.raw}'; its options are {expected}")
            if name in self.values:
                raise token.error(f"{name} is given twice")
            self.values[name] = value

    @staticmethod
    def _read(token: _Token, limits: SpecLimits) -> tuple[str, object]:
        text = token.text
        if text in ("valid", "same"):
            return "padding", Padding(PadMode(text))
        if text in ("depthwise", "nobias", "bn"):
            return text, True
        if text in Activation._value2member_map_:
            return "activation", Activation(text)
        if m := _STRIDE.fullmatch(text):
            return "stride", _int(token, m[1], "stride", limits.max_side)
        if m := _PAD.fullmatch(text):
            if len(m[1]) > _MAX_DIGITS or int(m[1]) > limits.max_side:
                raise token.error(f"padding {m[1][:_MAX_DIGITS]} is over the limit of {limits.max_side:,}")
            return "padding", Padding(PadMode.EXPLICIT, int(m[1]))
        if m := _DILATION.fullmatch(text):
            return "dilation", _int(token, m[1], "dilation", limits.max_side)
        if m := _GROUPS.fullmatch(text):
            return "groups", _int(token, m[1], "groups", limits.max_channels)
        if m := _REPEAT.fullmatch(text):
            return "repeat", _int(token, m[1], "repeat count", limits.max_repeat)
        if m := _LRN_PARAMETER.fullmatch(text):
            return m[1], token  # read as a number by the layer that takes it, after the option is known to apply
        if _PAIR.fullmatch(text):
            return "kernel", None  # a second size where only options may follow
        return "unknown", None

    def get(self, name: str, default: object = None) -> object:
        return self.values.get(name, default)


_CONV_OPTIONS = ("stride", "padding", "dilation", "groups", "depthwise", "nobias", "bn", "activation", "repeat")
_POOL_OPTIONS = ("stride", "padding", "activation", "repeat")
_FC_OPTIONS = ("nobias", "bn", "activation", "repeat")


# --- the parser --------------------------------------------------------------------------------------------


class _Block:
    """An open `branch` or `residual` while its lines are read; `sections` are paths, or body [+ shortcut]."""

    def __init__(self, opener: _Token, repeat: int) -> None:
        self.opener = opener
        self.repeat = repeat
        self.sections: list[list[Layer]] = [] if opener.text == "branch" else [[]]

    @property
    def keyword(self) -> str:
        return self.opener.text


class _Parser:
    def __init__(self, limits: SpecLimits) -> None:
        self.limits = limits
        self.name: str | None = None
        self.input: InputSpec | None = None
        self.root: list[Layer] = []
        self.blocks: list[_Block] = []

    def parse(self, text: str) -> Spec:
        limits = self.limits
        if len(text) > limits.max_chars:
            raise SpecError(f"the spec has {len(text):,} characters, over the limit of {limits.max_chars:,}")
        lines = spec_lines(text)
        if len(lines) > limits.max_lines:
            raise SpecError(f"the spec has {len(lines):,} lines, over the limit of {limits.max_lines:,}")
        for number, line_text in enumerate(lines, start=1):
            tokens = _tokens(line_text, number)
            if tokens:
                self._statement(tokens)
        if self.blocks:
            block = self.blocks[-1]
            raise block.opener.error(f"'{block.keyword}' is never closed; end it with {_closers(block.keyword)}")
        if self.input is None:
            raise SpecError("the spec is empty; start it with the input size, e.g. 'input 32x32x1' (H×W×C)")
        if not self.root:
            message = "the spec has no layers; add some after the input line, e.g. 'conv 16 3x3'"
            raise SpecError(message, self.input.line)
        return Spec(self.name, self.input, tuple(self.root))

    # statements --------------------------------------------------------------------------------------------

    def _statement(self, tokens: list[_Token]) -> None:
        keyword, args = tokens[0], tokens[1:]
        word = keyword.text
        if word not in _KEYWORDS:
            close = difflib.get_close_matches(word, _KEYWORDS, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of {', '.join(_KEYWORDS)}"
            raise keyword.error(f"unknown keyword '{keyword.raw}'{hint}")
        if word == "name":
            self._name(keyword, args)
            return
        if word == "input":
            self._input(keyword, args)
            return
        if self.input is None:
            raise keyword.error(
                f"the spec must start with the input size, e.g. 'input 32x32x1' (H×W×C), not '{word}'"
            )
        if word in _BLOCK_KEYWORDS:
            self._block_statement(keyword, args)
        else:
            self._target(keyword).append(self._layer(keyword, args))

    def _name(self, keyword: _Token, args: list[_Token]) -> None:
        if self.blocks:
            raise keyword.error("name goes at the top of the spec, not inside a block")
        if not args:
            raise keyword.error("name needs a text, e.g. 'name LeNet-5'")
        if self.name is not None:
            raise keyword.error("name is given twice")
        for token in args:
            for offset, char in enumerate(token.raw):
                if is_unsafe(char):
                    raise SpecError(
                        f"the name may not contain control characters, got U+{ord(char):04X}",
                        token.line,
                        token.column + offset,
                    )
        self.name = " ".join(token.raw for token in args)

    def _input(self, keyword: _Token, args: list[_Token]) -> None:
        if self.input is not None:
            raise keyword.error(f"input is given twice (first on line {self.input.line})")
        if not args or not (m := _VOLUME.fullmatch(args[0].text)):
            column = args[0].column if args else _end_column([keyword])
            raise SpecError("input needs the size as HxWxC, e.g. 'input 32x32x1'", keyword.line, column)
        if len(args) > 1:
            raise args[1].error(f"input takes only its size, got '{args[1].raw}'")
        size = args[0]
        height = _int(size, m[1], "input height", self.limits.max_side)
        width = _int(size, m[2], "input width", self.limits.max_side)
        channels = _int(size, m[3], "input channels", self.limits.max_channels)
        self.input = InputSpec(keyword.line, height, width, channels)

    def _target(self, keyword: _Token) -> list[Layer]:
        if not self.blocks:
            return self.root
        block = self.blocks[-1]
        if not block.sections:
            raise keyword.error("inside 'branch', start each sequence of layers with 'path'")
        return block.sections[-1]

    # blocks ------------------------------------------------------------------------------------------------

    def _block_statement(self, keyword: _Token, args: list[_Token]) -> None:
        word = keyword.text
        if word in ("branch", "residual"):
            if len(self.blocks) >= self.limits.max_nesting:
                raise keyword.error(f"blocks are nested more than {self.limits.max_nesting} deep, the limit")
            options = _Options(keyword, args, ("repeat",), self.limits)
            self._target(keyword)  # a block inside a branch must also sit in a path
            self.blocks.append(_Block(keyword, int(options.get("repeat", 1))))
            return
        if word in ("path", "shortcut"):
            _Options(keyword, args, (), self.limits)
            owner = "branch" if word == "path" else "residual"
            block = self._open_block(keyword, owner)
            if word == "shortcut":
                if len(block.sections) > 1:
                    raise keyword.error(f"the residual from line {block.opener.line} already has a shortcut")
                if not block.sections[0]:
                    raise keyword.error("the residual needs at least one layer in its body before 'shortcut'")
            block.sections.append([])
            return
        # concat / mean / add
        owner = "residual" if word == "add" else "branch"
        block = self._open_block(keyword, owner)
        options = _Options(keyword, args, ("activation",), self.limits)
        activation = options.get("activation")
        self.blocks.pop()
        if owner == "branch":
            if not block.sections:
                raise keyword.error("the branch has no paths; start each with 'path'")
            layer: Layer = Branch(
                block.opener.line, keyword.line, tuple(map(tuple, block.sections)), activation, block.repeat, Join(word)
            )
        else:
            if not block.sections[0]:
                raise keyword.error("the residual needs at least one layer in its body before 'add'")
            shortcut = tuple(block.sections[1]) if len(block.sections) > 1 else ()
            layer = Residual(
                block.opener.line, keyword.line, tuple(block.sections[0]), shortcut, activation, block.repeat
            )
        self._target(block.opener).append(layer)

    def _open_block(self, keyword: _Token, owner: str) -> _Block:
        """The innermost open block, which must be an `owner` for `keyword` to be valid here."""
        if not self.blocks:
            raise keyword.error(f"'{keyword.text}' without an open '{owner}'")
        block = self.blocks[-1]
        if block.keyword != owner:
            raise keyword.error(
                f"'{keyword.text}' belongs to a '{owner}', but the innermost open block is the '{block.keyword}' "
                f"from line {block.opener.line}; close it with {_closers(block.keyword)} first"
            )
        return block

    # layers ------------------------------------------------------------------------------------------------

    def _layer(self, keyword: _Token, args: list[_Token]) -> Layer:
        word, line = keyword.text, keyword.line
        if word == "conv":
            return self._conv(keyword, args)
        if word in ("maxpool", "avgpool"):
            return self._pool(keyword, args)
        if word == "fc":
            return self._fc(keyword, args)
        if word == "dropout":
            return self._dropout(keyword, args)
        if word == "lrn":
            return self._lrn(keyword, args)
        _Options(keyword, args, (), self.limits)
        if word == "bn":
            return BatchNorm(line)
        if word == "flatten":
            return Flatten(line)
        if word == "globalavgpool":
            return GlobalPool(line, PoolKind.AVG)
        if word == "globalmaxpool":
            return GlobalPool(line, PoolKind.MAX)
        return ActivationLayer(line, Activation(word))

    def _missing(self, keyword: _Token, args: list[_Token], what: str) -> SpecError:
        column = args[0].column if args else _end_column([keyword])
        return SpecError(f"{keyword.text} needs {what}, e.g. '{_EXAMPLE[keyword.text]}'", keyword.line, column)

    def _kernel(self, keyword: _Token, token: _Token, allow_single: bool) -> Pair:
        if m := _PAIR.fullmatch(token.text):
            digits = (m[1], m[2])
        elif allow_single and _NUMBER.fullmatch(token.text):
            digits = (token.text, token.text)
        else:
            form = "K or HxW" if allow_single else "HxW"
            raise token.error(f"bad kernel size '{token.raw}'; write it as {form}, e.g. '{_EXAMPLE[keyword.text]}'")
        height = _int(token, digits[0], "kernel height", self.limits.max_side)
        width = _int(token, digits[1], "kernel width", self.limits.max_side)
        return (height, width)

    def _conv(self, keyword: _Token, args: list[_Token]) -> Conv:
        if not args or not _NUMBER.fullmatch(args[0].text):
            raise self._missing(keyword, args, "a filter count")
        filters = _int(args[0], args[0].text, "filter count", self.limits.max_channels)
        if len(args) < 2:
            raise SpecError(
                "conv needs a kernel size after the filter count, e.g. 'conv 16 5x5'", keyword.line, _end_column(args)
            )
        kernel = self._kernel(keyword, args[1], allow_single=False)
        options = _Options(keyword, args[2:], _CONV_OPTIONS, self.limits)
        if options.get("depthwise") and "groups" in options.values:
            raise keyword.error("give either depthwise or groups=G, not both")
        return Conv(
            line=keyword.line,
            filters=filters,
            kernel=kernel,
            stride=int(options.get("stride", 1)),
            padding=options.get("padding", Padding()),  # type: ignore[arg-type]
            dilation=int(options.get("dilation", 1)),
            groups=int(options.get("groups", 1)),
            depthwise=bool(options.get("depthwise", False)),
            bias=not options.get("nobias", False),
            batchnorm=bool(options.get("bn", False)),
            activation=options.get("activation"),  # type: ignore[arg-type]
            repeat=int(options.get("repeat", 1)),
        )

    def _pool(self, keyword: _Token, args: list[_Token]) -> Pool:
        if not args:
            raise self._missing(keyword, args, "a window size")
        kernel = self._kernel(keyword, args[0], allow_single=True)
        options = _Options(keyword, args[1:], _POOL_OPTIONS, self.limits)
        stride = options.get("stride")
        return Pool(
            line=keyword.line,
            kind=PoolKind.MAX if keyword.text == "maxpool" else PoolKind.AVG,
            kernel=kernel,
            stride=(int(stride), int(stride)) if stride else kernel,  # type: ignore[arg-type]
            padding=options.get("padding", Padding()),  # type: ignore[arg-type]
            activation=options.get("activation"),  # type: ignore[arg-type]
            repeat=int(options.get("repeat", 1)),
        )

    def _fc(self, keyword: _Token, args: list[_Token]) -> Linear:
        if not args or not _NUMBER.fullmatch(args[0].text):
            raise self._missing(keyword, args, "an output size")
        features = _int(args[0], args[0].text, "output size", self.limits.max_channels)
        options = _Options(keyword, args[1:], _FC_OPTIONS, self.limits)
        return Linear(
            line=keyword.line,
            features=features,
            bias=not options.get("nobias", False),
            batchnorm=bool(options.get("bn", False)),
            activation=options.get("activation"),  # type: ignore[arg-type]
            repeat=int(options.get("repeat", 1)),
        )

    def _lrn(self, keyword: _Token, args: list[_Token]) -> LocalResponseNorm:
        size = 5
        if args and _NUMBER.fullmatch(args[0].text):
            size = _int(args[0], args[0].text, "lrn size", self.limits.max_channels)
            args = args[1:]
        options = _Options(keyword, args, ("alpha", "beta", "k"), self.limits)
        defaults = LocalResponseNorm(keyword.line)
        return LocalResponseNorm(
            keyword.line,
            size,
            *(self._lrn_number(options, name, default) for name, default in
              (("alpha", defaults.alpha), ("beta", defaults.beta), ("k", defaults.k))),
        )

    @staticmethod
    def _lrn_number(options: _Options, name: str, default: float) -> float:
        token = options.get(name)
        if token is None:
            return default
        assert isinstance(token, _Token)
        return _real(token, token.text.partition("=")[2], name)

    def _dropout(self, keyword: _Token, args: list[_Token]) -> Dropout:
        if not args:
            return Dropout(keyword.line)
        if len(args) > 1:
            raise args[1].error(f"dropout takes only a probability, got '{args[1].raw}'")
        token = args[0]
        if not _PROBABILITY.fullmatch(token.text) or float(token.text) > 1:
            raise token.error(f"dropout needs a probability between 0 and 1, e.g. 'dropout 0.5', got '{token.raw}'")
        return Dropout(keyword.line, float(token.text))


def parse_spec(text: str, limits: SpecLimits = DEFAULT_LIMITS) -> Spec:
    """Read a spec into typed layer descriptions, or raise a `SpecError` naming the line and column."""
    return _Parser(limits).parse(text)
